// Drives VS Code (code-server) in Debian's Chromium for tests/editors/test_vscode.py.
//
// Usage: node drive.mjs '<json>' with {url, folder, file, type, ghost, apiKey, screenshot,
// timeoutMs}. Stores the API key with "Qwen: Set API Key", opens `file`, types `type` at its
// end, waits for the ghost text `ghost`, takes a screenshot, accepts it with Tab, saves, then
// clicks the Qwen status bar item (toggles completions off). Prints one JSON line:
// {ghost, statusAfterAccept, statusAfterToggle}. Any failed step exits 1 after a screenshot.

import { chromium } from 'playwright-core';

const args = JSON.parse(process.argv[2]);
const timeout = args.timeoutMs;

// Flags this machine needs: no sandbox as root, no GPU, no calls to Google's services.
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
page.setDefaultTimeout(timeout);

const status = page.locator('.statusbar-item', { hasText: 'Qwen' }).first();
const statusIcon = async () =>
  (await status.locator('.codicon').first().getAttribute('class')).match(/codicon-([\w-]+)/)[1];

// Runs a command from the command palette (F1) by its title.
async function runCommand(title) {
  await page.keyboard.press('F1');
  await page.locator('.quick-input-widget input').waitFor();
  await page.keyboard.type(title);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor();
  await page.keyboard.press('Enter');
}


try {
  await page.goto(`${args.url}/?folder=${encodeURIComponent(args.folder)}`);
  await status.waitFor(); // the extension is active

  await runCommand('Qwen: Set API Key');
  await page.locator('.quick-input-widget input[type="password"]').waitFor();
  await page.keyboard.type(args.apiKey);
  await page.keyboard.press('Enter');

  await page.keyboard.press('Control+p');
  await page.locator('.quick-input-widget input').waitFor();
  await page.keyboard.type(args.file);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: args.file }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.tab.active', { hasText: args.file }).waitFor();
  await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type(args.type, { delay: 30 });

  // The ghost text, once it shows the expected text (VS Code splits it into several
  // decorations and renders spaces as no-break spaces).
  const ghost = await (await page.waitForFunction(
    (expected) => {
      const parts = document.querySelectorAll('.ghost-text-decoration, .ghost-text-decoration-preview');
      const text = Array.from(parts, (e) => e.textContent).join('').replaceAll('\u00a0', ' ');
      return text.includes(expected) && text;
    },
    args.ghost,
    { timeout },
  )).jsonValue();
  await page.screenshot({ path: args.screenshot });

  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+s');
  await page.locator('.tab.active.dirty').waitFor({ state: 'detached' });
  await status.locator('.codicon-sparkle').waitFor();
  const statusAfterAccept = await statusIcon();

  await status.click();
  await status.locator('.codicon-circle-slash').waitFor();
  const statusAfterToggle = await statusIcon();

  console.log(JSON.stringify({ ghost, statusAfterAccept, statusAfterToggle }));
} catch (error) {
  await page.screenshot({ path: args.screenshot.replace(/\.png$/, '-failed.png') });
  console.error(error);
  process.exitCode = 1;
} finally {
  await browser.close();
}
