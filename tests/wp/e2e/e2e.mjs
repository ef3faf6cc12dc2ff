// Logs in to wp-admin, picks a preset, points the plugin at the test's SMTP server, sends a test mail, finds it in
// the connection log, opens its transcript, runs a diagnosis, and checks that a
// stranger's <script> subject in the log runs nothing. Screenshots go to ARTIFACTS.
// Environment: WP_URL, WP_USER, WP_PASS, SMTP_PORT, ARTIFACTS, XSS_SUBJECT, HOSTILE_ENTRY (a log row of hostile fields).
import { join } from 'node:path';
import { check, logIn, withBrowser } from './chromium.mjs';

const { WP_URL, WP_USER, WP_PASS, SMTP_PORT, ARTIFACTS, XSS_SUBJECT, HOSTILE_ENTRY } = process.env;
const dialogs = [];
await withBrowser(ARTIFACTS, async (page) => {
  page.on('dialog', async (dialog) => { dialogs.push(dialog.message()); await dialog.dismiss(); });

  await logIn(page, WP_URL, WP_USER, WP_PASS);

  // Pick the Microsoft 365 preset: the form fills in its server.
  await page.goto(`${WP_URL}/wp-admin/admin.php?page=rust-mail`);
  await page.check('input[name="rust_mail[preset]"][value="m365"]');
  check(await page.inputValue('#rust-mail-host') === 'smtp.office365.com', 'the Microsoft 365 preset did not fill the host');
  check(await page.inputValue('#rust-mail-port') === '587', 'the Microsoft 365 preset did not fill the port');
  check(await page.inputValue('#rust-mail-security') === 'starttls', 'the Microsoft 365 preset did not set STARTTLS');
  await page.screenshot({ path: join(ARTIFACTS, 'settings-preset-m365.png'), fullPage: true });

  // Then the custom preset pointed at the test's SMTP server, and save.
  await page.check('input[name="rust_mail[preset]"][value="custom"]');
  await page.fill('#rust-mail-host', '127.0.0.1');
  await page.fill('#rust-mail-port', SMTP_PORT);
  await page.selectOption('#rust-mail-security', 'none');
  await page.selectOption('#rust-mail-auth', 'none');
  await Promise.all([page.waitForURL(/page=rust-mail/), page.click('#submit')]);
  check((await page.textContent('.notice-success')).includes('Settings saved.'), 'no "Settings saved." notice');
  await page.screenshot({ path: join(ARTIFACTS, 'settings-saved.png'), fullPage: true });

  // Send a test mail.
  await page.fill('#rust-mail-test-to', 'e2e-inbox@example.com');
  // Answered in the page, which keeps what is typed in the form.
  await page.click('#send_test');
  check((await page.textContent('#rust-mail-test-result .notice-success')).includes('Test mail sent to e2e-inbox@example.com.'), 'test mail not reported as sent');

  // Find it in the log and open its transcript.
  await page.click('text=View in the connection log');
  await page.waitForSelector('.rust-mail-transcript');
  await page.goto(`${WP_URL}/wp-admin/admin.php?page=rust-mail-log`);
  const row = page.locator('table.wp-list-table tbody tr', { hasText: 'e2e-inbox@example.com' }).first();
  check(await row.count() === 1, 'the test mail is not in the connection log');
  check((await row.textContent()).includes('Sent'), 'the test mail is not logged as sent');
  await page.screenshot({ path: join(ARTIFACTS, 'log-list.png'), fullPage: true });
  await Promise.all([page.waitForURL(/entry=/), row.locator('a.row-title').click()]);
  const transcript = await page.textContent('.rust-mail-transcript');
  check(transcript.includes('RCPT TO:<e2e-inbox@example.com>'), 'the transcript lacks the RCPT command');
  await page.screenshot({ path: join(ARTIFACTS, 'log-entry-transcript.png'), fullPage: true });

  // The stranger's subject is shown as text and runs nothing.
  await page.goto(`${WP_URL}/wp-admin/admin.php?page=rust-mail-log&s=alert`);
  check((await page.textContent('table.wp-list-table')).includes(XSS_SUBJECT), 'the XSS subject is not shown as text');
  await page.locator('a.row-title').first().click();
  await page.waitForSelector('.rust-mail-entry-fields');
  check((await page.textContent('.rust-mail-entry-fields')).includes(XSS_SUBJECT), 'the XSS subject is not shown as text on the entry page');
  await page.screenshot({ path: join(ARTIFACTS, 'log-entry-xss-subject.png'), fullPage: true });

  // Every field of a hostile row (names, addresses, the server's reply, the transcript) is text too.
  await page.goto(`${WP_URL}/wp-admin/admin.php?page=rust-mail-log&entry=${HOSTILE_ENTRY}`);
  await page.waitForSelector('.rust-mail-transcript');
  check((await page.textContent('.rust-mail-transcript')).includes('220 <script>alert(3)</script>'), 'the hostile transcript is not shown as text');
  check((await page.textContent('.rust-mail-entry-fields')).includes('550 <script>alert(3)</script>'), 'the hostile reply is not shown as text');
  check(await page.locator('.rust-mail-entry-fields script, .rust-mail-transcript script, .rust-mail-entry-fields img, .rust-mail-transcript img').count() === 0, 'a hostile field became markup');
  await page.screenshot({ path: join(ARTIFACTS, 'log-entry-hostile.png'), fullPage: true });
  await page.goto(`${WP_URL}/wp-admin/admin.php?page=rust-mail-log`);
  check(await page.locator('table.wp-list-table script, table.wp-list-table img').count() === 0, 'a hostile field became markup in the list');

  // Diagnose: the extension under test has it, so it must be offered and must show its steps.
  await page.goto(`${WP_URL}/wp-admin/admin.php?page=rust-mail`);
  check(await page.locator('#diagnose:not([disabled])').count() === 1, 'Diagnose is not offered with the extension loaded');
  await page.click('#diagnose');
  await page.waitForSelector('.rust-mail-diagnosis-result');
  check(await page.locator('.rust-mail-steps tbody tr').count() > 0, 'the diagnosis shows no steps');
  await page.locator('#rust-mail-diagnosis').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(ARTIFACTS, 'diagnosis.png'), fullPage: true });

  check(dialogs.length === 0, `a script ran and opened dialogs: ${dialogs.join(', ')}`);
  console.log('e2e: ok');
});
