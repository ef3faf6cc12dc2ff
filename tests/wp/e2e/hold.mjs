// The hold as the site owner sees it: the banner on the dashboard and the settings page, and the Alerts page's
// switch. Screenshots hold-*.png in ARTIFACTS. Environment: WP_URL, WP_USER, WP_PASS, ARTIFACTS.
import { join } from 'node:path';
import { check, logIn, withBrowser } from './chromium.mjs';

const { WP_URL, WP_USER, WP_PASS, ARTIFACTS } = process.env;

await withBrowser(ARTIFACTS, async (page) => {
  await logIn(page, WP_URL, WP_USER, WP_PASS);
  for (const [name, path] of [['dashboard', '/wp-admin/'], ['settings', '/wp-admin/admin.php?page=rust-mail'],
    ['alerts', '/wp-admin/admin.php?page=rust-mail-alerts']]) {
    await page.goto(`${WP_URL}${path}`);
    check(await page.locator('.rust-mail-hold-notice').isVisible(), `no hold banner on the ${name} page`);
    await page.screenshot({ path: join(ARTIFACTS, `hold-${name}.png`), fullPage: name === 'alerts' });
  }
  console.log(JSON.stringify({ ok: true }));
});
