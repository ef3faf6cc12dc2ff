"""A multisite network over real HTTP: the settings, the log and Diagnose are the network admin's alone.

The attack these tests replay: the administrator of /site2/ turns on body logging, asks for a password reset of the
super admin on their own site (core sends it through site 2's wp_mail()), reads the reset link in the log, and owns
the network. Or points the mail server at their own host, or aims Diagnose at an internal port."""
import json
import re
import subprocess

import pytest

SITE2 = "/site2/wp-admin/admin.php"
NETWORK = "/wp-admin/network/admin.php"
ACTIONS = ["rust_mail_save_settings", "rust_mail_send_test", "rust_mail_diagnose"]


@pytest.fixture
def net(wp_network):
    wp_network.clear_constants()
    wp_network.set_settings()
    wp_network.php("global $wpdb; $wpdb->query('TRUNCATE TABLE ' . RustMail_Log_Store::table()); out(true);")
    for mail in wp_network.mail_dir.glob("*"):
        mail.unlink()
    yield wp_network
    wp_network.clear_constants()


def site_admin(net):
    return net.browser("siteadmin", net.site_admin_password)


def captured(net):
    return sorted(net.mail_dir.glob("*.eml"))


def test_network_is_real_and_site_admin_administers_only_site2(net):
    facts = net.php("""
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        $site2 = get_site(domain_exists($_SERVER['HTTP_HOST'], '/site2/'));
        $u = get_user_by('login', 'siteadmin');
        out(array(is_multisite(), is_plugin_active_for_network('rust-mail/rust-mail.php'),
                  user_can($u, 'manage_options') === false, is_super_admin($u->ID),
                  (bool) get_user_meta($u->ID, 'wp_' . $site2->blog_id . '_capabilities', true)));
    """)
    assert facts == [True, True, True, False, True]
    # They really are an administrator on /site2/: the plugins screen (manage_options there) is theirs.
    assert site_admin(net).get("/site2/wp-admin/options-general.php").status == 200


def test_site_admin_gets_no_page_no_action_and_no_diagnose(net):
    browser = site_admin(net)
    net.php("switch_to_blog(2); wp_mail('x@example.com', 'Existing entry', 'y'); out(true);")
    [row] = net.log_rows()
    for path in [f"{SITE2}?page=rust-mail", f"{SITE2}?page=rust-mail-log", f"{SITE2}?page=rust-mail-log&entry={row['id']}",
                 f"{NETWORK}?page=rust-mail", f"{NETWORK}?page=rust-mail-log&entry={row['id']}"]:
        page = browser.get(path)
        assert page.status in (403, 200) and "Existing entry" not in page.text, path
        assert 'id="rust-mail-settings"' not in page.text and "rust-mail-transcript" not in page.text, path
    assert 'page=rust-mail"' not in browser.get("/site2/wp-admin/").text, "no menu entry on site 2"
    # Nonces they can make for themselves on site 2 do not help: the network capability is checked first.
    nonces = net.php(
        "switch_to_blog(2); wp_set_current_user(get_user_by('login', 'siteadmin')->ID);\n"
        "out(array_combine(" + repr(ACTIONS) + ", array_map('wp_create_nonce', " + repr(ACTIONS) + ")));")
    before = net.php("out(get_site_option('rust_mail_settings'));")
    for action in ACTIONS:
        page = browser.post("/site2/wp-admin/admin-post.php", {
            "action": action, "_wpnonce": nonces[action], "test_to": "victim@example.com",
            "rust_mail[preset]": "custom", "rust_mail[host]": "127.0.0.1", "rust_mail[port]": "3306",
            "rust_mail[log_bodies]": "1"})
        assert page.status == 403 and "not allowed to manage mail settings" in page.text, action
    assert net.php("out(get_site_option('rust_mail_settings'));") == before
    assert net.php("switch_to_blog(2); out(get_option('rust_mail_settings', 'none'));") == "none"
    assert len(captured(net)) == 1, "no test mail, no diagnosis mail"


def test_password_reset_on_a_subsite_never_stores_the_key(net):
    """Even with body logging on (by the network admin), the reset mail's body is not logged; other mail's is."""
    net.set_settings(log_bodies=True)
    net.php("switch_to_blog(2); wp_mail('someone@example.com', 'Ordinary', 'An ordinary body'); out(true);")
    reset = site_admin(net).post("/site2/wp-login.php?action=lostpassword", {"user_login": "admin", "redirect_to": "",
                                                                             "wp-submit": "Get New Password"})
    assert reset.status == 200 and "checkemail=confirm" in reset.url, reset.url
    mails = [path.read_text(errors="replace") for path in captured(net)]
    key = re.search(r"key=([A-Za-z0-9]{20})", mails[-1]).group(1)
    ordinary, reset_row = net.log_rows()
    assert ordinary["body"] == "An ordinary body" and ordinary["blog_id"] == "2"
    assert reset_row["status"] == "sent" and reset_row["body"] is None and reset_row["caller"].startswith("core:")
    assert key not in repr(reset_row)
    for path in [f"{NETWORK}?page=rust-mail-log", f"{NETWORK}?page=rust-mail-log&entry={reset_row['id']}"]:
        assert key not in net.browser().get(path).text


def test_network_admin_screens_have_the_settings_and_every_sites_log(net):
    net.php("switch_to_blog(2); wp_mail('x@example.com', 'From site 2', 'y'); out(true);")
    browser = net.browser()
    settings = browser.get(f"{NETWORK}?page=rust-mail")
    assert settings.status == 200 and 'id="rust-mail-settings"' in settings.text
    log = browser.get(f"{NETWORK}?page=rust-mail-log")
    assert "From site 2" in log.text and f"{net.host}/site2/" in log.text
    fields = browser.form_fields(settings, "rust_mail_save_settings")
    fields.update({"rust_mail[preset]": "custom", "rust_mail[host]": "127.0.0.1", "rust_mail[port]": str(net.smtp_port),
                   "rust_mail[security]": "none", "rust_mail[auth]": "none", "rust_mail[from]": "network@example.com"})
    saved = browser.post("/wp-admin/admin-post.php", fields)
    assert "Settings saved." in saved.text and "/wp-admin/network/" in saved.url
    assert net.php("out(get_site_option('rust_mail_settings')['from']);") == "network@example.com"


def test_activated_on_one_site_only_it_asks_for_network_activation(net):
    net.php("""
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        deactivate_plugins('rust-mail/rust-mail.php', true, true);
        switch_to_blog(2); activate_plugin('rust-mail/rust-mail.php'); out(true);
    """)
    try:
        page = net.browser().get("/site2/wp-admin/")
        assert "Network-activate it (Network Admin &gt; Plugins)" in page.text
        assert "Network-activate" not in site_admin(net).get("/site2/wp-admin/").text
    finally:
        net.php("""
            require_once ABSPATH . 'wp-admin/includes/plugin.php';
            switch_to_blog(2); deactivate_plugins('rust-mail/rust-mail.php'); restore_current_blog();
            activate_plugin('rust-mail/rust-mail.php', '', true); out(true);
        """)


def test_each_sites_mail_is_sent_and_announced_in_its_own_site(net):
    """A listener that site 2's administrator activated hears site 2's mail only: a drain running in site 2 leaves
    the main site's mail alone, and the network's CLI drain sends each site's mail in a process loaded as that site."""
    net.set_settings(delivery="queued")
    net.set_constants({"DISABLE_WP_CRON": True, "RUST_MAIL_TEST_HOLD": True, "RUST_MAIL_TEST_LISTEN_SITE": 2})
    net.php("wp_mail('a@example.com', 'Main site secret', 'x'); switch_to_blog(2);"
            "wp_mail('b@example.com', 'Site 2 news', 'y'); delete_option('site_listener_heard'); out(true);")
    assert net.browser().get("/site2/?rust_mail_test_drain=1").text == '{"sent":1}'
    heard = "switch_to_blog(2); out(get_option('site_listener_heard', array()));"
    assert net.php(heard) == ["Site 2 news"]
    assert [(row["blog_id"], row["status"]) for row in net.log_rows()] == [("1", "queued"), ("2", "sent")]
    net.php("switch_to_blog(2); wp_mail('c@example.com', 'Site 2 again', 'z'); out(true);")
    run = subprocess.run([str(net.dir / "bin" / "php"), str(net.wp / "wp-content/plugins/rust-mail/cli/drain.php"),
                          str(net.wp), net.host], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and json.loads(run.stdout) == {"sent": 2}, run.stderr
    assert net.php(heard) == ["Site 2 news", "Site 2 again"]
    assert {row["status"] for row in net.log_rows()} == {"sent"}
    subjects = sorted(re.search(r"^Subject: (.*)$", path.read_text(), re.M).group(1) for path in captured(net))
    assert subjects == ["Main site secret", "Site 2 again", "Site 2 news"]
    net.php("switch_to_blog(2); delete_option('site_listener_heard'); out(true);")
