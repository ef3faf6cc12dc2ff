// The settings page and a log entry as an admin sees them on one engine (ENGINE: extension or phpmailer): which
// engine carries the mail and why, what the extension would add, a test mail that goes out, and the log entry
// naming the engine. Screenshots: settings-engine-ENGINE.png and log-entry-engine-ENGINE.png in ARTIFACTS.
// Environment: WP_URL, WP_USER, WP_PASS, ENGINE, ARTIFACTS.
import { join } from 'node:path';
import { check, logIn, withBrowser } from './chromium.mjs';

const { WP_URL, WP_USER, WP_PASS, ENGINE, ARTIFACTS } = process.env;
const extension = ENGINE === 'extension';
const dialogs = [];

await withBrowser(ARTIFACTS, async (page) => {
  page.on('dialog', async (dialog) => { dialogs.push(dialog.message()); await dialog.dismiss(); });
  await logIn(page, WP_URL, WP_USER, WP_PASS);
  await page.goto(`${WP_URL}/wp-admin/admin.php?page=rust-mail`);
  const engine = await page.textContent('#rust-mail-engine');
  check(engine.includes(extension ? 'rust_mail extension' : 'PHPMailer'), `the engine box does not name the ${ENGINE} engine: ${engine}`);
  check(engine.includes('The extension would add') !== extension, 'what the extension adds is shown on the wrong engine');
  if (!extension) {
    check(engine.includes('extension=rust_mail.so'), 'the install steps lack the ini line');
  }
  check(await page.locator('#diagnose:not([disabled])').count() === (extension ? 1 : 0), 'Diagnose offered on the wrong engine');
  await page.screenshot({ path: join(ARTIFACTS, `settings-engine-${ENGINE}.png`), fullPage: true });

  await page.fill('#rust-mail-test-to', `engine-${ENGINE}@example.com`);
  await page.click('#send_test');
  check((await page.textContent('#rust-mail-test-result .notice-success')).includes(`Test mail sent to engine-${ENGINE}@example.com.`), 'test mail not reported as sent');
  await Promise.all([page.waitForURL(/entry=/), page.click('text=View in the connection log')]);
  const fields = await page.textContent('.rust-mail-entry-fields');
  check(fields.includes(extension ? 'rust_mail extension' : 'PHPMailer (the extension was not loaded)'), `the log entry does not name the engine: ${fields}`);
  check((await page.textContent('.rust-mail-transcript')).includes(`RCPT TO:<engine-${ENGINE}@example.com>`), 'the transcript lacks the RCPT command');
  await page.screenshot({ path: join(ARTIFACTS, `log-entry-engine-${ENGINE}.png`), fullPage: true });

  check(dialogs.length === 0, `a script ran and opened dialogs: ${dialogs.join(', ')}`);
  console.log('engine: ok');
});
