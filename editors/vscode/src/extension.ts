import * as vscode from 'vscode';
import { DidChangeConfigurationNotification, LanguageClient } from 'vscode-languageclient/node';
import { SECTION, serverCommand, serverSettings } from './settings';
import { QwenStatus, StatusItem } from './status';

const API_KEY_SECRET = 'qwen-lsp.apiKey';
const TOGGLE_COMMAND = 'qwen-lsp.toggle';

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const status = new StatusItem(TOGGLE_COMMAND);
  const settings = async () =>
    serverSettings(vscode.workspace.getConfiguration(SECTION), await context.secrets.get(API_KEY_SECRET));

  const start = async () => {
    const command = serverCommand(vscode.workspace.getConfiguration(SECTION));
    client = new LanguageClient(
      'qwen-lsp',
      'Qwen',
      // stdio, with no extra arguments (a `transport` here would append `--stdio`).
      { command },
      {
        // Every file type: completions are not language specific.
        documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
        initializationOptions: await settings(),
      },
    );
    client.onNotification('qwen/status', (params: QwenStatus) => status.show(params));
    try {
      await client.start();
    } catch (error) {
      status.show({ state: 'error', message: `cannot start "${command}"` });
      void vscode.window.showErrorMessage(
        `Qwen: cannot start the language server "${command}" (${error}). ` +
          'Install it with "pip install qwen-lsp" or set "qwen-lsp.serverPath".',
      );
    }
  };

  // The server takes the same flat object as its initializationOptions.
  const pushSettings = async () => {
    if (client?.isRunning()) {
      await client.sendNotification(DidChangeConfigurationNotification.type, { settings: await settings() });
    }
  };

  context.subscriptions.push(
    status,
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration(`${SECTION}.serverPath`)) {
        await client?.stop();
        await start();
      } else if (event.affectsConfiguration(SECTION)) {
        await pushSettings();
      }
    }),
    context.secrets.onDidChange(async (event) => {
      if (event.key === API_KEY_SECRET) {
        await pushSettings();
      }
    }),
    vscode.commands.registerCommand('qwen-lsp.setApiKey', async () => {
      const key = await vscode.window.showInputBox({
        title: 'Qwen API key',
        prompt: 'DashScope / Model Studio API key (stored in VS Code secret storage). Leave empty to remove it.',
        password: true,
        ignoreFocusOut: true,
      });
      if (key === undefined) {
        return; // cancelled
      }
      if (key.trim()) {
        await context.secrets.store(API_KEY_SECRET, key.trim());
      } else {
        await context.secrets.delete(API_KEY_SECRET);
      }
    }),
    vscode.commands.registerCommand(TOGGLE_COMMAND, async () => {
      const config = vscode.workspace.getConfiguration(SECTION);
      await config.update('enabled', !config.get<boolean>('enabled', true), vscode.ConfigurationTarget.Global);
    }),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
