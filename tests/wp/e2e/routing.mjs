// The settings page's connections and routing rules in Chromium: adds a connection to the test's second SMTP server,
// a rule that sends the plugin's own test mail through it, sends the test mail, and finds the connection named in
// the connection log (list and entry). Environment: WP_URL, WP_USER, WP_PASS, SUPPORT_PORT, ARTIFACTS.
import { join } from 'node:path';
import { check, logIn, withBrowser } from './chromium.mjs';

const { WP_URL, WP_USER, WP_PASS, SUPPORT_PORT, ARTIFACTS } = process.env;
await withBrowser(ARTIFACTS, async (page) => {
  await logIn(page, WP_URL, WP_USER, WP_PASS);
  await page.goto(`${WP_URL}/wp-admin/admin.php?page=rust-mail`);

  // Add the connection "support".
  const form = page.locator('#rust-mail-connection-form');
  // Its fields follow its kind, as the primary's do: an API hides the SMTP server's and names the user name its way.
  await form.locator('[name="rust_mail[connection::api]"]').selectOption('graph');
  check(await form.locator('tr[data-rust-mail-connection-key="host"]').isHidden(), 'a Graph connection still shows the SMTP host');
  check((await form.locator('tr[data-rust-mail-connection-key="username"] label').textContent()) === 'Mailbox', 'a Graph connection\'s user name is not labelled Mailbox');
  await form.locator('[name="rust_mail[connection::api]"]').selectOption('');
  check(await form.locator('tr[data-rust-mail-connection-key="host"]').isVisible(), 'an SMTP connection hides its host');
  await form.locator('#rust-mail-connection-name').fill('support');
  await form.locator('[name="rust_mail[connection::host]"]').fill('127.0.0.1');
  await form.locator('[name="rust_mail[connection::port]"]').fill(SUPPORT_PORT);
  await form.locator('[name="rust_mail[connection::security]"]').selectOption('none');
  await form.locator('[name="rust_mail[connection::auth]"]').selectOption('none');
  await Promise.all([page.waitForURL(/page=rust-mail/), form.locator('#save_connection').click()]);
  check((await page.textContent('.notice-success')).includes('Connection "support" saved.'), 'no "saved" notice for the connection');
  check((await page.textContent('tr[data-rust-mail-connection="support"]')).includes(`127.0.0.1:${SUPPORT_PORT}`), 'the new connection is not listed with its server');

  // A rule: mail the plugin itself sends (its test mail) goes through "support".
  const rules = page.locator('#rust-mail-routes-form');
  await rules.locator('[name="routes[0][caller]"]').fill('plugin:rust-mail');
  await rules.locator('[name="routes[0][connection]"]').selectOption('support');
  await Promise.all([page.waitForURL(/page=rust-mail/), rules.locator('#save_routes').click()]);
  check((await page.textContent('.notice-success')).includes('Routing rules saved.'), 'no "saved" notice for the rules');
  check(await page.inputValue('[name="routes[0][caller]"]') === 'plugin:rust-mail', 'the saved rule is not shown');
  await page.locator('#rust-mail-connections').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(ARTIFACTS, 'routing-settings.png'), fullPage: true });

  // The test mail, then the log: the list's Connection column and the entry name "support".
  await page.fill('#rust-mail-test-to', 'routing-inbox@example.com');
  await page.click('#send_test');
  check((await page.textContent('#rust-mail-test-result .notice-success')).includes('Test mail sent to routing-inbox@example.com.'), 'test mail not reported as sent');
  await page.goto(`${WP_URL}/wp-admin/admin.php?page=rust-mail-log`);
  const row = page.locator('table.wp-list-table tbody tr', { hasText: 'routing-inbox@example.com' }).first();
  check((await row.locator('td.column-connection').textContent()).trim() === 'support', 'the log list does not name the connection');
  await page.screenshot({ path: join(ARTIFACTS, 'routing-log.png'), fullPage: true });
  await Promise.all([page.waitForURL(/entry=/), row.locator('a.row-title').click()]);
  const fields = await page.textContent('.rust-mail-entry-fields');
  check(fields.includes('Routed to') && fields.includes('the connection "support"'), 'the entry does not name the connection');
  console.log('routing: ok');
});
