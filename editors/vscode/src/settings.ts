import type { WorkspaceConfiguration } from 'vscode';

/** The configuration section: every `qwen-lsp.<key>` setting. */
export const SECTION = 'qwen-lsp';

/**
 * Settings passed to the server unchanged, under the names the server reads. `apiKey` is not
 * among them: it lives in SecretStorage, never in settings.json. `serverPath` is the client's own.
 */
const SERVER_KEYS = [
  'enabled',
  'baseUrl',
  'model',
  'mode',
  'fimSuffixField',
  'stream',
  'debounce',
  'debounceMs',
  'maxTokens',
  'temperature',
  'timeoutMs',
  'stop',
  'maxPrefixTokens',
  'maxSuffixTokens',
  'maxRepoTokens',
  'maxInFlight',
  'speculate',
  'indexEnabled',
  'indexMaxFiles',
  'indexMaxFileBytes',
  'indexMaxTotalBytes',
  'excludeGlobs',
] as const;

/**
 * The flat object the server takes as `initializationOptions` and as
 * `workspace/didChangeConfiguration` settings. Every key is sent, so the server (which applies
 * a change on top of its current settings) never keeps a stale value; `null` makes it use its
 * own default, which for `baseUrl` and `apiKey` comes from the environment.
 */
export function serverSettings(
  config: WorkspaceConfiguration,
  apiKey: string | undefined,
): Record<string, unknown> {
  const settings: Record<string, unknown> = { apiKey: apiKey || null };
  for (const key of SERVER_KEYS) {
    settings[key] = config.get<unknown>(key) ?? null;
  }
  if (settings.baseUrl === '') {
    settings.baseUrl = null;
  }
  return settings;
}

/** The command that starts the server. */
export function serverCommand(config: WorkspaceConfiguration): string {
  return config.get<string>('serverPath') || 'qwen-lsp';
}
