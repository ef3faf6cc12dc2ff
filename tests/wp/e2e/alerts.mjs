// The incident banner as the site owner meets it: on the dashboard, with a link to the filtered log and a dismissal
// that holds for this incident on every page. STEP=dismiss looks, dismisses and looks again (the dashboard, then the
// settings page); STEP=look only looks. Prints one JSON line; screenshots alerts-banner-*.png in ARTIFACTS.
// Environment: WP_URL, WP_USER, WP_PASS, ARTIFACTS, STEP.
import { join } from 'node:path';
import { logIn, withBrowser } from './chromium.mjs';

const { WP_URL, WP_USER, WP_PASS, ARTIFACTS, STEP } = process.env;
const banners = (page) => page.locator('.rust-mail-incident').allTextContents();
const seen = {};

await withBrowser(ARTIFACTS, async (page) => {
  await logIn(page, WP_URL, WP_USER, WP_PASS);
  await page.goto(`${WP_URL}/wp-admin/`);
  seen.before = await banners(page);
  await page.screenshot({ path: join(ARTIFACTS, `alerts-banner-${STEP}-${seen.before.length ? 'shown' : 'none'}.png`) });
  if (STEP === 'dismiss') {
    seen.logLink = await page.locator('.rust-mail-incident a', { hasText: 'connection log' }).first().getAttribute('href');
    await Promise.all([page.waitForURL(/wp-admin\/(index\.php)?$/), page.click('.rust-mail-incident-dismiss')]);
    seen.afterDismiss = await banners(page);
    await page.screenshot({ path: join(ARTIFACTS, 'alerts-banner-dismissed.png') });
    await page.goto(`${WP_URL}/wp-admin/admin.php?page=rust-mail-alerts`);
    seen.otherPage = await banners(page);
    await page.screenshot({ path: join(ARTIFACTS, 'alerts-page.png'), fullPage: true });
  }
  console.log(JSON.stringify(seen));
});
