// Diagnose in a real browser: opens the settings page, clicks Diagnose, and prints what the result shows (its
// summary, the advice, each step's words, status code and detail) as JSON on its last line. The screenshot of the
// result goes to ARTIFACTS as diagnose-<SHOT>.png.
// Environment: WP_URL, WP_USER, WP_PASS, ARTIFACTS, SHOT.
import { join } from 'node:path';
import { logIn, withBrowser } from './chromium.mjs';

const { WP_URL, WP_USER, WP_PASS, ARTIFACTS, SHOT } = process.env;
await withBrowser(ARTIFACTS, async (page) => {
  await logIn(page, WP_URL, WP_USER, WP_PASS);
  await page.goto(`${WP_URL}/wp-admin/admin.php?page=rust-mail`);
  // Answered in the page, which keeps what is typed in the form.
  await page.click('#diagnose');
  const result = page.locator('.rust-mail-diagnosis-result');
  await result.waitFor();
  await result.screenshot({ path: join(ARTIFACTS, `diagnose-${SHOT}.png`) });
  const shown = {
    summary: await result.locator('.notice p').first().textContent(),
    advice: await result.locator('.notice li').allTextContents(),
    text: await result.textContent(),
    steps: await result.locator('.rust-mail-steps tbody tr').evaluateAll((rows) => rows.map((row) => ({
      step: row.dataset.step, status: row.dataset.status, words: row.cells[0].textContent.trim(),
      detail: row.cells[3].textContent.trim() }))),
  };
  console.log(JSON.stringify(shown));
});
