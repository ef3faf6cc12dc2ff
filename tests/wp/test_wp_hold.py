"""The hold switch, counted at the receiving SMTP server: held mail stays in the outbox whatever the delivery mode and
whatever drains it, the pages say so, releasing sends it; RUST_MAIL_HOLD, the setting and the environment's default;
the owner's test mail still goes."""
import html

from harness.wpstack import run_browser
from test_wp_outbox import drain, queue, set_constants


def subjects(server):
    return sorted(m.message["Subject"] for m in server.messages())


def test_the_setting_holds_mail_the_pages_say_so_and_releasing_sends_it(wp, capture):
    server = capture()
    set_constants(wp, WP_ENVIRONMENT_TYPE="production")
    wp.set_settings(port=server.port, delivery="queued")
    browser = wp.browser()
    page = browser.get("/wp-admin/admin.php?page=rust-mail-alerts")
    fields = browser.form_fields(page, "rust-mail-alerts-form")
    saved = browser.post("/wp-admin/admin-post.php", dict(fields, **{"rust_mail_alerts[hold]": "on"}))
    assert "Alert settings saved." in saved.text

    assert queue(wp, subject="Held 1") == [True, "queued"]
    wp.php("wp_mail('someone@example.com', 'Held 2', 'x'); out(true);")
    assert drain(wp) == {}
    assert server.messages() == []
    assert [row["status"] for row in wp.log_rows()] == ["queued", "queued"]

    # Every admin page says so, the settings page among them, with the count and a way out.
    settings = html.unescape(browser.get("/wp-admin/admin.php?page=rust-mail").text)
    assert "Rust Mail holds all mail: nothing is sent, it is kept in the outbox (2 messages wait)." in settings
    assert "The hold is switched on in the Rust Mail alert settings." in settings and "Status: mail is held." in settings
    run_browser(wp, "hold.mjs")  # screenshots of the banner and the page

    released = browser.post("/wp-admin/admin-post.php", browser.form_fields(browser.get("/wp-admin/"), "rust_mail_release_held"))
    assert "Held mail released: 2 sent, 0 still waiting in the outbox." in html.unescape(released.text)
    assert subjects(server) == ["Held 1", "Held 2"]
    # Still on for new mail; without the nonce nothing is released.
    queue(wp, subject="Held 3")
    refused = browser.post("/wp-admin/admin-post.php", {"action": "rust_mail_release_held"})
    assert refused.status == 403 and len(server.messages()) == 2

    # Switched off: the outbox sends what waits.
    fields = browser.form_fields(browser.get("/wp-admin/admin.php?page=rust-mail-alerts"), "rust-mail-alerts-form")
    browser.post("/wp-admin/admin-post.php", dict(fields, **{"rust_mail_alerts[hold]": "off"}))
    assert drain(wp) == {"sent": 1}
    assert subjects(server) == ["Held 1", "Held 2", "Held 3"]
    assert "holds all mail" not in browser.get("/wp-admin/").text


def test_the_constant_holds_immediate_mail_and_the_owners_test_mail_still_goes(wp, capture):
    server = capture()
    set_constants(wp, RUST_MAIL_HOLD=True, WP_ENVIRONMENT_TYPE="production")
    wp.set_settings(port=server.port, delivery="immediate")
    assert wp.send_mail("Order 1") == {"result": True, "failed": []}
    assert drain(wp) == {}
    assert server.messages() == []
    assert [row["status"] for row in wp.log_rows()] == ["queued"]
    page = html.unescape(wp.browser().get("/wp-admin/admin.php?page=rust-mail-alerts").text)
    assert "RUST_MAIL_HOLD is set in wp-config.php." in page and 'id="rust-mail-hold-setting"' not in page
    test = wp.php("out(RustMail_Mail_Test_Mail::send('owner@example.com', 'Setup check'));")
    assert test["sent"] is True and subjects(server) == ["Setup check"]


def test_local_and_development_sites_hold_by_default(wp, capture):
    server = capture()
    for environment, held in (("development", True), ("local", True), ("staging", False), ("production", False)):
        set_constants(wp, WP_ENVIRONMENT_TYPE=environment)
        wp.set_settings(port=server.port, delivery="immediate")
        wp.send_mail(f"On {environment}")
        assert (f"On {environment}" not in subjects(server)) is held, environment
    # A development site where the owner switched the hold off sends, the held mail first.
    set_constants(wp, WP_ENVIRONMENT_TYPE="development")
    wp.php("RustMail_Settings_Store::update_plugin_option(RustMail_Outbox_Hold::OPTION, 'off'); out(true);")
    assert drain(wp) == {"sent": 2}
    assert subjects(server) == ["On development", "On local", "On production", "On staging"]
