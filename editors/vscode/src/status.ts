import * as vscode from 'vscode';

/** Params of the server's `qwen/status` notification. */
export interface QwenStatus {
  state: 'ready' | 'fetching' | 'error' | 'disabled';
  message: string;
}

const ICONS: Record<QwenStatus['state'], string> = {
  ready: '$(sparkle)',
  fetching: '$(loading~spin)',
  error: '$(error)',
  disabled: '$(circle-slash)',
};

/** The status bar item: shows what the server last reported; a click toggles completions. */
export class StatusItem implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);

  constructor(toggleCommand: string) {
    this.item.name = 'Qwen';
    this.item.command = toggleCommand;
    this.item.text = '$(sync~spin) Qwen';
    this.item.tooltip = 'Qwen: starting the language server';
    this.item.show();
  }

  show(status: QwenStatus): void {
    const icon = ICONS[status.state] ?? ICONS.error;
    this.item.text = `${icon} Qwen`;
    const detail = status.message ? `: ${status.message}` : '';
    this.item.tooltip = `Qwen ${status.state}${detail}\nClick to turn completions on or off.`;
    this.item.backgroundColor =
      status.state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
