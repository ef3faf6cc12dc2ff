// The settings form as a site owner uses it, in one PART per run: `presets` (switching presets resets what the
// previous one set, and the page says what changed), `validation` (wrong values refused with their own messages, the
// good ones saved), `try` (Send test and Diagnose with values not saved yet) and `leave` (unsaved changes ask before
// the page is left). Prints one JSON line of what the browser saw; screenshots settings-form-*.png in ARTIFACTS.
// Environment: WP_URL, WP_USER, WP_PASS, ARTIFACTS, PART, and for `try` TRY_PORT (the server the page is pointed at).
import { join } from 'node:path';
import { logIn, withBrowser } from './chromium.mjs';

const { WP_URL, WP_USER, WP_PASS, ARTIFACTS, PART, TRY_PORT } = process.env;
const SETTINGS = `${WP_URL}/wp-admin/admin.php?page=rust-mail`;
const seen = { dialogs: [] };
const FIELDS = { host: '#rust-mail-host', port: '#rust-mail-port', security: '#rust-mail-security', auth: '#rust-mail-auth',
  perMinute: '#rust-mail-rate-per-minute', perDay: '#rust-mail-rate-per-day', recipients: '#rust-mail-recipients-per-day' };

async function values(page) {
  const result = {};
  for (const [name, selector] of Object.entries(FIELDS)) {
    result[name] = await page.inputValue(selector);
  }
  return result;
}

async function pickPreset(page, name) {
  await page.check(`input[name="rust_mail[preset]"][value="${name}"]`);
  return {
    values: await values(page),
    changes: await page.locator('#rust-mail-preset-changes li').allTextContents(),
    noticeShown: await page.isVisible('#rust-mail-preset-changes'),
  };
}

async function save(page) {
  await Promise.all([page.waitForURL(/page=rust-mail/), page.click('#submit')]);
  await page.waitForSelector('.notice.is-dismissible');
}

const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, `settings-form-${name}.png`), fullPage: true });
// One part of the page at its real size, to look at.
const part = (page, selector, name) => page.locator(selector).first().screenshot({ path: join(ARTIFACTS, `settings-form-${name}.png`) });
const SERVER_TABLE = '#rust-mail-settings-form table.form-table';

await withBrowser(ARTIFACTS, async (page) => {
  page.on('dialog', async (dialog) => { seen.dialogs.push(dialog.type()); await dialog.dismiss(); });
  await logIn(page, WP_URL, WP_USER, WP_PASS);
  await page.goto(SETTINGS);

  if (PART === 'presets') {
    seen.start = await values(page);
    seen.m365 = await pickPreset(page, 'm365');
    await page.selectOption(FIELDS.auth, 'xoauth2');
    seen.m365OAuth = {
      password: await page.isVisible('#rust-mail-password'),
      microsoft: await page.isVisible('#rust-mail-signin-microsoft'),
      google: await page.isVisible('#rust-mail-signin-google'),
    };
    await shot(page, 'preset-m365-oauth');
    await part(page, '#rust-mail-oauth-section', 'preset-m365-oauth-section');
    seen.godaddy = await pickPreset(page, 'godaddy');
    seen.direct = await pickPreset(page, 'm365_direct');
    await pickPreset(page, 'godaddy');
    seen.custom = await pickPreset(page, 'custom');
    await page.selectOption(FIELDS.auth, 'xoauth2');
    seen.customOAuth = { microsoft: await page.isVisible('#rust-mail-signin-microsoft'), google: await page.isVisible('#rust-mail-signin-google') };
    await shot(page, 'preset-back-to-custom');
    await part(page, '#rust-mail-preset-changes', 'preset-back-to-custom-notice');
    // A limit the owner typed over a preset's stays when the preset goes.
    await pickPreset(page, 'godaddy');
    await page.fill(FIELDS.perDay, '100');
    seen.customAfterTyped = await pickPreset(page, 'custom');
    await page.fill(FIELDS.host, '127.0.0.1');
    await save(page);
    seen.saved = await values(page);
  }

  if (PART === 'validation') {
    await page.fill(FIELDS.host, 'smtp.example.com:587');
    await page.fill(FIELDS.port, '99999');
    await page.fill('#rust-mail-from', 'shop@contoso');
    await page.fill('#rust-mail-from-name', 'Shop Team');
    await page.fill('#rust-mail-ca-file', '/nonexistent/private-ca.pem');
    await page.fill(FIELDS.perMinute, '50');
    await page.fill(FIELDS.perDay, '10');
    await save(page);
    seen.first = {
      notice: (await page.locator('.notice.is-dismissible').allTextContents()).join(' | '),
      problems: Object.fromEntries(await page.$$eval('.rust-mail-field-problem', (ps) => ps.map((p) => [p.id, p.textContent]))),
      values: await values(page),
      from: await page.inputValue('#rust-mail-from'),
      fromName: await page.inputValue('#rust-mail-from-name'),
      caFile: await page.inputValue('#rust-mail-ca-file'),
    };
    await shot(page, 'refused');
    await part(page, '.notice.is-dismissible', 'refused-notice');
    await part(page, SERVER_TABLE, 'refused-server-fields');
    await page.fill(FIELDS.host, '<b>relay</b>');
    await page.fill('#rust-mail-retention-days', '45');
    await save(page);
    seen.second = {
      notice: (await page.locator('.notice.is-dismissible').allTextContents()).join(' | '),
      problems: Object.fromEntries(await page.$$eval('.rust-mail-field-problem', (ps) => ps.map((p) => [p.id, p.textContent]))),
      host: await page.inputValue(FIELDS.host),
      retention: await page.inputValue('#rust-mail-retention-days'),
    };
    await shot(page, 'refused-html-host');
  }

  if (PART === 'try') {
    await page.fill(FIELDS.port, TRY_PORT);
    await page.fill('#rust-mail-test-to', 'tried@example.com');
    await page.click('#send_test');
    const sent = page.locator('#rust-mail-test-result .notice:not(.notice-info)');
    await sent.waitFor();
    seen.test = { notice: await sent.textContent(), type: await sent.getAttribute('class'), url: page.url() };
    seen.unsavedShown = await page.isVisible('#rust-mail-unsaved');
    seen.portAfterTest = await page.inputValue(FIELDS.port);
    await page.locator('#rust-mail-test-form').scrollIntoViewIfNeeded();
    await shot(page, 'test-unsaved');
    await page.locator('#rust-mail-test-result').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'settings-form-test-unsaved-view.png') });
    await page.click('#diagnose');
    await page.locator('#rust-mail-diagnosis-result .rust-mail-diagnosed-connection').waitFor();
    seen.diagnose = {
      notice: await page.locator('#rust-mail-diagnose-notice .notice').textContent(),
      walked: await page.textContent('#rust-mail-diagnosis-result .rust-mail-diagnosed-connection'),
    };
    await page.locator('#rust-mail-diagnosis').scrollIntoViewIfNeeded();
    await shot(page, 'diagnose-unsaved');
    await part(page, '#rust-mail-diagnose-notice', 'diagnose-unsaved-notice');
    // A wrong value on the page is refused before anything is tried.
    await page.fill(FIELDS.port, '99999');
    await page.click('#send_test');
    await page.locator('#rust-mail-test-result .notice-error').waitFor();
    seen.refused = await page.textContent('#rust-mail-test-result .notice-error');
    seen.dialogsBeforeLeaving = seen.dialogs.length;
  }

  if (PART === 'leave') {
    // Typed as a person types (a page that was never interacted with may leave without asking).
    await page.click('#rust-mail-from-name');
    await page.keyboard.type('Unsaved Name');
    seen.unsavedShown = await page.isVisible('#rust-mail-unsaved');
    await page.click('#rust-mail-settings a[href*="page=rust-mail-log"]');
    await page.waitForTimeout(1000);
    seen.urlAfterDismissedLeave = page.url();
    seen.dialogsAfterLeave = [...seen.dialogs];
    await shot(page, 'leave-unsaved');
    // Saving leaves without asking; then, with nothing unsaved, neither does a link.
    await save(page);
    await Promise.all([page.waitForURL(/page=rust-mail-log/), page.click('#rust-mail-settings a[href*="page=rust-mail-log"]')]);
    seen.urlAfterSavedLeave = page.url();
  }
  console.log(JSON.stringify(seen));
});
