// Sign in with Microsoft in a real browser: an admin opens the settings page (XOAUTH2 chosen, the app's client ID
// and secret saved), clicks "Sign in with Microsoft", consents on the local authorization server's page, lands back
// on the settings page connected, and sends a test mail. Screenshots of each screen go to ARTIFACTS.
// Environment: WP_URL, WP_USER, WP_PASS, ARTIFACTS, MAILBOX (the account the authorization server signs in), TEST_TO.
import { join } from 'node:path';
import { check, logIn, withBrowser } from './chromium.mjs';

const { WP_URL, WP_USER, WP_PASS, ARTIFACTS, MAILBOX, TEST_TO } = process.env;
await withBrowser(ARTIFACTS, async (page) => {
  await logIn(page, WP_URL, WP_USER, WP_PASS);

  // The settings page with XOAUTH2 chosen: the OAuth2 section shows the sign-in buttons and the redirect URI.
  await page.goto(`${WP_URL}/wp-admin/admin.php?page=rust-mail`);
  const section = page.locator('#rust-mail-oauth-section');
  check(await section.isVisible(), 'the OAuth2 section is hidden although XOAUTH2 is chosen');
  check(await page.isVisible('#rust-mail-signin-microsoft'), 'no "Sign in with Microsoft" button');
  check(await page.isVisible('#rust-mail-signin-google'), 'no "Sign in with Google" button');
  check((await page.textContent('#rust-mail-oauth-redirect-uri')) === `${WP_URL}/wp-admin/admin-post.php`,
        'the redirect URI to register is not shown');
  await section.screenshot({ path: join(ARTIFACTS, 'oauth-sign-in-buttons.png') });

  // Sign in: the provider's (here: the local server's) consent page.
  await Promise.all([page.waitForURL(/oauth2\/v2\.0\/authorize/), page.click('#rust-mail-signin-microsoft')]);
  check((await page.textContent('#account')) === MAILBOX, 'the consent page signs in another account');
  const authorize = new URL(page.url());
  check(authorize.searchParams.get('code_challenge_method') === 'S256', 'no PKCE S256 in the authorization request');
  check(authorize.searchParams.get('scope').includes('https://outlook.office.com/SMTP.Send offline_access'),
        'the authorization request lacks the SMTP scope');
  await page.screenshot({ path: join(ARTIFACTS, 'oauth-consent.png'), fullPage: true });

  // Accept: back on the settings page, connected as the mailbox, whose address is now the user name.
  await Promise.all([page.waitForURL(/page=rust-mail/), page.click('#accept')]);
  check((await page.textContent('.rust-mail-oauth-notice.notice-success')).includes(`Signed in with Microsoft as ${MAILBOX}.`),
        'no "Signed in" notice');
  const connection = await page.textContent('.rust-mail-oauth-connected');
  check(connection.includes(`Signed in with Microsoft as ${MAILBOX}`) && connection.includes('last renewed'),
        `the page does not show the connected account: ${connection}`);
  check(await page.inputValue('#rust-mail-username') === MAILBOX, 'the mailbox address did not fill the user name');
  check(await page.isVisible('text=Disconnect'), 'no Disconnect button');
  await page.screenshot({ path: join(ARTIFACTS, 'oauth-connected-notice.png') });
  await page.locator('#rust-mail-oauth-section').screenshot({ path: join(ARTIFACTS, 'oauth-connected.png') });

  // A test mail goes out with the sign-in's token.
  await page.fill('#rust-mail-test-to', TEST_TO);
  // Answered in the page: wait for its notice.
  await page.click('#send_test');
  await page.locator('#rust-mail-test-result .notice', { hasText: `${TEST_TO}` }).waitFor({ timeout: 60000 });
  const sent = await page.textContent('#rust-mail-test-result .notice');
  check(sent.includes(`Test mail sent to ${TEST_TO}.`), `test mail not reported as sent: ${sent}`);
  await page.screenshot({ path: join(ARTIFACTS, 'oauth-test-mail-sent.png') });
  console.log('oauth e2e: ok');
});
