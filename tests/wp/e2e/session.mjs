// A headless Chromium (Debian's) logged in to wp-admin, for the browser tests. Environment: WP_URL, WP_USER, WP_PASS.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** Runs `body(page, dialogs)` in a fresh, logged-in browser profile, and removes the profile afterwards. */
export async function asAdmin(body) {
  const { WP_URL, WP_USER, WP_PASS } = process.env;
  const profile = mkdtempSync(join(tmpdir(), 'rust-mail-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 1000 },
  });
  const dialogs = [];
  try {
    const page = browser.pages()[0] || await browser.newPage();
    page.on('dialog', async (dialog) => { dialogs.push(dialog.message()); await dialog.dismiss(); });
    await page.goto(`${WP_URL}/wp-login.php`);
    await page.fill('#user_login', WP_USER);
    await page.fill('#user_pass', WP_PASS);
    await Promise.all([page.waitForURL(/wp-admin/), page.click('#wp-submit')]);
    await body(page, dialogs);
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
