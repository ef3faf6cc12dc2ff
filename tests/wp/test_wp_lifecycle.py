"""Deactivating and deleting the plugin with mail still in the outbox: the Plugins screen says how many messages
wait and what deactivating does to them, and sends them on request; deactivating cancels what still waits, so that
no message's content stays behind in the database while nothing of the plugin runs."""
import html
import re

from test_wp_outbox import drain, queue, set_constants

PLUGINS = "/wp-admin/plugins.php"


def held(wp, capture):
    """Queued mode, with queued mail held in the outbox until the test says; the capture server it goes to."""
    server = capture()
    set_constants(wp, RUST_MAIL_TEST_HOLD=True)
    wp.set_settings(port=server.port, delivery="queued")
    return server


def test_plugins_screen_counts_queued_mail_and_sends_it_on_request(wp, capture):
    server = held(wp, capture)
    for subject in ("First", "Second"):
        assert queue(wp, subject) == [True, "queued"]
    admin = wp.browser()
    page = admin.get(PLUGINS)
    assert ("Rust Mail: 2 messages wait in the outbox. Deactivating Rust Mail cancels them: they are not sent, their "
            "content is deleted, and the connection log keeps a line for each. Deleting the plugin then deletes the "
            "log too.") in page.text
    fields = admin.form_fields(page, "rust_mail_send_queued")

    # A subscriber with a nonce of their own, and the admin without a valid nonce, are turned away.
    wp.php("username_exists('subscriber1') || wp_insert_user(array('user_login' => 'subscriber1', 'user_pass' => "
           "'subscriber1-pass-123', 'role' => 'subscriber', 'user_email' => 'subscriber1@example.com')); out(true);")
    nonce = wp.php("wp_set_current_user(get_user_by('login', 'subscriber1')->ID); out(wp_create_nonce('rust_mail_send_queued'));")
    subscriber = wp.browser("subscriber1", "subscriber1-pass-123")
    assert subscriber.post("/wp-admin/admin-post.php", dict(fields, _wpnonce=nonce)).status == 403
    assert admin.post("/wp-admin/admin-post.php", dict(fields, _wpnonce="0123456789")).status == 403
    assert server.messages() == []

    page = admin.post("/wp-admin/admin-post.php", fields)
    assert page.url.endswith(PLUGINS) and "Rust Mail sent 2 queued messages; 0 failed." in page.text
    assert "wait in the outbox" not in page.text
    assert sorted(m.message["Subject"] for m in server.messages()) == ["First", "Second"]


def test_deactivation_cancels_queued_mail_and_drops_its_content(wp, capture):
    server = held(wp, capture)
    assert queue(wp, "Left behind") == [True, "queued"]
    admin = wp.browser()
    page = admin.get(PLUGINS)
    assert "Rust Mail: 1 message waits in the outbox. Deactivating Rust Mail cancels it" in page.text
    link = re.search(r'href="(plugins\.php\?action=deactivate&amp;plugin=rust-mail%2Frust-mail\.php[^"]*)"', page.text).group(1)
    try:
        assert "Plugin deactivated." in admin.get("/wp-admin/" + html.unescape(link)).text
        # While the plugin is inactive, the message's content is gone from the database already.
        [row] = wp.php("global $wpdb; out($wpdb->get_results(\"SELECT * FROM {$wpdb->prefix}rust_mail_log\", ARRAY_A));")
        assert row["status"] == "cancelled" and row["raw"] is None and row["mail_data"] is None
        assert row["error_message"] == "Cancelled: Rust Mail was deactivated while this message waited in the outbox."
    finally:
        wp.php("require_once ABSPATH . 'wp-admin/includes/plugin.php'; activate_plugin('rust-mail/rust-mail.php'); out(true);")
    # Active again, nothing of it goes out.
    assert drain(wp) == {}
    assert server.messages() == []
