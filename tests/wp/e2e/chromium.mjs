// What the browser tests share: Debian's Chromium, headless, in a fresh profile, and a check that fails the run.
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** Runs `use(page)` in a new browser; screenshots go to `artifacts`; the profile is removed afterwards. */
export async function withBrowser(artifacts, use) {
  mkdirSync(artifacts, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'rust-mail-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 1000 },
  });
  try {
    const page = browser.pages()[0] || await browser.newPage();
    // A loaded machine (the test suite's own servers, a CI neighbour) can take longer than playwright's 30 s default.
    page.setDefaultTimeout(90000);
    await use(page);
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Logs in to wp-admin. */
export async function logIn(page, url, user, password) {
  await page.goto(`${url}/wp-login.php`);
  await page.fill('#user_login', user);
  await page.fill('#user_pass', password);
  await Promise.all([page.waitForURL(/wp-admin/), page.click('#wp-submit')]);
}
