// The first-run setup in a real browser: the dashboard's notice leads to it, the owner picks a provider, answers its
// questions (checked as they are typed), sends a test mail and sees the outcome. Prints the outcome as JSON on its
// last line for the test to check against the server. Screenshots go to ARTIFACTS, named after SCENARIO.
// Environment: WP_URL, WP_USER, WP_PASS, ARTIFACTS, SCENARIO, PRESET, ANSWERS (JSON: question key -> value, in the
// order they are typed), TEST_TO; for direct send EXPECT_HOST (the MX host the domain's lookup must find) and SITE_IP
// (typed when the page asks for this site's public address); BAD_ANSWERS (JSON, optional): typed first, their
// problems collected before ANSWERS replace them; NO_NOTICE (set when wp-config.php names a server): the setup is
// opened from its menu.
import { join } from 'node:path';
import { check, logIn, withBrowser } from './chromium.mjs';

const { WP_URL, WP_USER, WP_PASS, ARTIFACTS, SCENARIO, PRESET, TEST_TO, EXPECT_HOST, SITE_IP } = process.env;
const ANSWERS = JSON.parse(process.env.ANSWERS);
const BAD_ANSWERS = JSON.parse(process.env.BAD_ANSWERS || '{}');
const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, `setup-${SCENARIO}-${name}.png`), fullPage: true });

await withBrowser(ARTIFACTS, async (page) => {
  await logIn(page, WP_URL, WP_USER, WP_PASS);
  const outcome = {};

  if (process.env.NO_NOTICE) {
    // wp-config.php names a server already: no notice, the setup is opened from the menu.
    await page.goto(`${WP_URL}/wp-admin/admin.php?page=rust-mail-setup`);
  } else {
    // No server yet: the dashboard says so and links to the setup (no redirect took us there).
    await page.goto(`${WP_URL}/wp-admin/`);
    check(await page.isVisible('#rust-mail-setup-notice'), 'no setup notice on the dashboard of an unconfigured site');
    await shot(page, 'notice');
    await Promise.all([page.waitForURL(/page=rust-mail-setup/), page.click('#rust-mail-setup-notice a')]);
  }

  await page.check(`input[name="preset"][value="${PRESET}"]`);
  const block = page.locator(`.rust-mail-setup-questions[data-preset="${PRESET}"]`);
  check(await block.isVisible(), 'the chosen provider\'s questions are not shown');
  const questions = () => block.locator('.rust-mail-setup-question:visible').evaluateAll(
    (rows) => rows.map((row) => row.dataset.key));
  outcome.questions = await questions();
  outcome.otherQuestionsShown = await page.locator('.rust-mail-setup-questions:not([hidden])').count();
  const field = (key) => block.locator(`[name="answers[${key}]"]`);

  // Wrong answers first: each gets its problem under its field, as it is typed.
  outcome.problems = {};
  for (const [key, value] of Object.entries(BAD_ANSWERS)) {
    await field(key).fill(value);
    const problem = block.locator(`.rust-mail-setup-problem[data-for="${key}"]`);
    await problem.waitFor({ state: 'visible' });
    outcome.problems[key] = await problem.textContent();
  }
  if (Object.keys(BAD_ANSWERS).length) {
    await shot(page, 'problems');
  }

  for (const [key, value] of Object.entries(ANSWERS)) {
    if (await field(key).evaluate((element) => element.tagName === 'SELECT')) {
      await field(key).selectOption(value);
    } else {
      await field(key).fill(value);
    }
  }

  outcome.questionsAnswered = await questions();

  if (EXPECT_HOST) {
    // Direct send: the MX host is found from the domain, and the SPF record is checked for the site's address.
    const host = block.locator('.rust-mail-setup-direct-host');
    await page.waitForFunction((expected) => document.querySelector('.rust-mail-setup-direct-host')?.textContent === expected, EXPECT_HOST);
    outcome.host = await host.textContent();
    const ipRow = block.locator('.rust-mail-setup-question[data-key="direct_ip"]');
    await ipRow.waitFor({ state: 'visible' });
    outcome.spfBeforeIp = await block.locator('.rust-mail-setup-spf').textContent();
    await field('direct_ip').fill(SITE_IP);
    await page.waitForFunction((ip) => document.querySelector('.rust-mail-setup-spf')?.textContent.includes(ip), SITE_IP);
    outcome.spf = await block.locator('.rust-mail-setup-spf').textContent();
    outcome.record = await block.locator('.rust-mail-setup-spf-record').textContent();
    outcome.recordShown = await block.locator('.rust-mail-setup-spf-record').isVisible();
  }
  // Every problem gone once the answers are right.
  await page.waitForFunction(() => [...document.querySelectorAll('.rust-mail-setup-problem')].every((p) => p.hidden));
  await shot(page, 'answers');

  await page.fill('#rust-mail-setup-test-to', TEST_TO);
  await page.click('#rust-mail-setup-finish');
  const result = page.locator('#rust-mail-setup-result .notice-success, #rust-mail-setup-result .notice-error');
  await result.first().waitFor({ timeout: 60000 });
  outcome.result = await result.first().textContent();
  outcome.resultKind = (await result.first().getAttribute('class')).includes('notice-success') ? 'success' : 'error';
  await shot(page, 'result');

  // Reopened from the settings page.
  await page.goto(`${WP_URL}/wp-admin/admin.php?page=rust-mail`);
  outcome.reopenLink = await page.getAttribute('#rust-mail-open-setup', 'href');
  outcome.noticeAfter = await page.isVisible('#rust-mail-setup-notice');
  console.log(JSON.stringify(outcome));
});
