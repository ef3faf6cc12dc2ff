// The connection log as an admin works through a bad day: Screen Options to see every failed mail on one page, a
// bulk "Delete" they think better of (the question is dismissed: nothing changes), then a bulk "Send again" they
// confirm. Prints one JSON line of what the browser saw; screenshots log-bulk-*.png in ARTIFACTS.
// Environment: WP_URL, WP_USER, WP_PASS, ARTIFACTS, PER_PAGE, LONG_SUBJECT (the start of a long subject to measure).
import { join } from 'node:path';
import { check, logIn, withBrowser } from './chromium.mjs';

const { WP_URL, WP_USER, WP_PASS, ARTIFACTS, PER_PAGE, LONG_SUBJECT } = process.env;
const LOG = `${WP_URL}/wp-admin/admin.php?page=rust-mail-log`;
const seen = { dialogs: [] };
let answer = 'dismiss';

await withBrowser(ARTIFACTS, async (page) => {
  page.on('dialog', async (dialog) => { seen.dialogs.push(dialog.message()); await dialog[answer](); });
  await logIn(page, WP_URL, WP_USER, WP_PASS);
  await page.goto(LOG);
  await page.click('#show-settings-link');
  await page.fill('#rust_mail_log_per_page', PER_PAGE);
  await Promise.all([page.waitForLoadState('load'), page.click('#screen-options-apply')]);
  await page.waitForSelector('#rust-mail-log');
  seen.rows = await page.locator('input[name="entries[]"]').count();
  const long = page.locator('.row-title', { hasText: LONG_SUBJECT }).first();
  seen.longSubjectRowHeight = await long.evaluate((a) => a.closest('tr').getBoundingClientRect().height);
  seen.longSubjectTitleLength = (await long.getAttribute('title')).length;
  seen.shortSubjectRowHeight = await page.locator('.row-title', { hasText: 'Invoice 00' }).first().evaluate((a) => a.closest('tr').getBoundingClientRect().height);
  await page.screenshot({ path: join(ARTIFACTS, 'log-bulk-list.png'), fullPage: true });

  await page.check('#cb-select-all-1');
  await page.selectOption('#bulk-action-selector-top', 'delete');
  await page.click('#doaction');
  await page.waitForTimeout(500);
  seen.urlAfterDismissedDelete = page.url();
  seen.rowsAfterDismissedDelete = await page.locator('input[name="entries[]"]').count();

  answer = 'accept';
  await page.selectOption('#bulk-action-selector-top', 'resend');
  await Promise.all([page.waitForURL(/page=rust-mail-log/), page.click('#doaction')]);
  await page.waitForSelector('.notice');
  seen.notice = (await page.locator('.notice').allTextContents()).join(' | ');
  seen.statusColours = await page.$$eval('.rust-mail-status', (spans) => [...new Set(spans.map((s) => `${s.textContent}=${getComputedStyle(s).backgroundColor}`))]);
  await page.screenshot({ path: join(ARTIFACTS, 'log-bulk-resent.png'), fullPage: true });
  check(seen.dialogs.length === 2, `expected two questions, saw: ${seen.dialogs.join(' / ')}`);
  console.log(JSON.stringify(seen));
});
