"""The plugin inside WordPress: routing, failures, settings and constants, the connection log, purge, uninstall."""
import base64
import email
import email.policy
import json
import re

import pytest

from harness.wpstack import REPO, php_string

def send(wp, to="someone@example.com", subject="Hello", headers="array()", **kw):
    """wp_mail() once; returns its result and every wp_mail_failed (message, data) it fired."""
    return wp.php(
        "$failed = array();\n"
        "add_action('wp_mail_failed', function ($e) use (&$failed) {"
        " $failed[] = array($e->get_error_message(), $e->get_error_data()); });\n"
        f"$result = wp_mail({php_string(to)}, {php_string(subject)}, 'Body text', {headers});\n"
        "out(array('result' => $result, 'failed' => $failed));\n",
        **kw,
    )


def test_mail_goes_through_the_engine_and_is_logged(wp, engine, capture):
    server = capture()
    wp.set_settings(port=server.port)
    outcome = send(wp, subject="Logged mail", headers="array('Cc: cc@example.com', 'Bcc: bcc@example.com')")
    assert outcome == {"result": True, "failed": []}
    [message] = server.messages()
    assert message.rcpt_tos == ["someone@example.com", "cc@example.com", "bcc@example.com"]
    [row] = wp.log_rows()
    assert row["status"] == "sent"
    assert row["subject"] == "Logged mail"
    assert row["from_address"] == "wordpress@127.0.0.1"
    assert row["recipients"] == "someone@example.com; Cc: cc@example.com; Bcc: bcc@example.com"
    assert row["smtp_code"] == "250" and row["error_kind"] == ""
    assert row["message_id"] == message.message["Message-ID"]
    assert int(row["duration_ms"]) >= 0
    assert row["body"] is None, "bodies are stored only when the admin opts in"
    transcript = json.loads(row["transcript"])
    assert any(line["dir"] == "client" and line["line"].startswith("MAIL FROM:<wordpress@127.0.0.1>") for line in transcript)
    assert any(line["dir"] == "server" and line["line"].startswith("250") for line in transcript)
    assert not any("Body text" in line["line"] for line in transcript), "a transcript never holds the body"
    assert [attempt["engine"] for attempt in json.loads(row["attempt_log"])] == [engine]


def test_bodies_logged_only_when_opted_in(wp, capture):
    server = capture()
    wp.set_settings(port=server.port, log_bodies=True)
    send(wp)
    assert wp.log_rows()[0]["body"] == "Body text"


def test_caller_is_the_plugin_that_called_wp_mail(wp, capture):
    server = capture()
    wp.set_settings(port=server.port)
    plugin_dir = wp.wp / "wp-content" / "plugins" / "fake-contact-form"
    plugin_dir.mkdir(exist_ok=True)
    (plugin_dir / "fake-contact-form.php").write_text(
        "<?php function fake_contact_form_send() { return wp_new_user_notification_mail_wrapper(); }\n"
        "function wp_new_user_notification_mail_wrapper() { return wp_mail('a@example.com', 'From a plugin', 'x'); }\n")
    wp.php(f"require '{plugin_dir}/fake-contact-form.php'; out(fake_contact_form_send());")
    assert wp.log_rows()[0]["caller"] == "plugin:fake-contact-form"


def test_wrong_password_fails_with_auth_error(wp, engine, capture):
    server = capture(user="mailer", password="right-password")
    wp.set_settings(port=server.port, auth="plain", username="mailer", allow_insecure_auth=True, password="wrong-password")
    outcome = send(wp, subject="Wrong password")
    assert outcome["result"] is False
    assert len(outcome["failed"]) == 1
    message, data = outcome["failed"][0]
    assert data["subject"] == "Wrong password" and data["to"] == ["someone@example.com"]
    assert "phpmailer_exception_code" in data
    assert server.messages() == []
    [row] = wp.log_rows()
    assert row["status"] == "failed" and row["error_kind"] == "auth"
    assert row["smtp_code"] == "535" and row["error_cause"] == "auth_failed"
    assert any(line["line"].startswith("AUTH PLAIN") for line in json.loads(row["transcript"]))
    for field in ("transcript", "attempt_log", "error_message", "reply"):
        assert "wrong-password" not in (row[field] or "")
        assert base64.b64encode(b"\0mailer\0wrong-password").decode() not in (row[field] or "")


def test_right_password_logs_in(wp, engine, capture):
    server = capture(user="mailer", password="right-password")
    wp.set_settings(port=server.port, auth="plain", username="mailer", allow_insecure_auth=True, password="right-password")
    assert send(wp)["result"] is True
    assert server.messages()[0].login == "mailer"


def test_closed_port_fails_with_connect_error(wp, engine, closed_port):
    wp.set_settings(port=closed_port)
    outcome = send(wp, subject="Nobody listens")
    assert outcome["result"] is False and len(outcome["failed"]) == 1
    [row] = wp.log_rows()
    assert row["status"] == "failed" and row["error_kind"] == "connect_refused"
    assert row["error_cause"] == "connection_refused"


def test_failure_before_the_server_is_logged(wp, capture):
    server = capture()
    wp.set_settings(port=server.port)
    outcome = send(wp, to="not an address", subject="Bad address")
    assert outcome["result"] is False
    [row] = wp.log_rows()
    assert row["status"] == "failed" and row["error_kind"] == "wordpress" and row["subject"] == "Bad address"


def test_without_the_extension_mail_goes_through_phpmailer_to_the_server_not_to_mail(wp, capture):
    server = capture()
    wp.set_settings(port=server.port)
    mbox = wp.dir / "logs" / "php-mail.mbox"
    before = mbox.stat().st_size if mbox.exists() else 0
    result = wp.php("""
        global $phpmailer;
        $sent = wp_mail('someone@example.com', 'Without the extension', 'Body');
        out(array('sent' => $sent, 'mailer' => get_class($phpmailer), 'engine' => RustMail_Transport_Registry::current()));
    """, extension=False)
    assert result == {"sent": True, "mailer": "RustMail_Mail_Composer", "engine": "phpmailer"}
    [message] = server.messages()
    assert message.message["Subject"] == "Without the extension"
    assert (mbox.stat().st_size if mbox.exists() else 0) == before, "core's mail() must not run"
    [row] = wp.log_rows()
    assert row["status"] == "sent" and row["message_id"] == message.message["Message-ID"]


def test_unconfigured_leaves_core_mail(wp, engine):
    wp.php("delete_option('rust_mail_settings'); out(true);")
    result = wp.php("global $phpmailer; $sent = wp_mail('a@example.com', 'x', 'y'); out(array($sent, get_class($phpmailer)));")
    assert result == [True, "PHPMailer\\PHPMailer\\PHPMailer"]
    assert wp.log_rows() == []


def test_constants_configure_and_route(wp, capture):
    server = capture()
    wp.php("delete_option('rust_mail_settings'); out(true);")
    wp.set_constants({
        "RUST_MAIL_HOST": "127.0.0.1", "RUST_MAIL_PORT": server.port, "RUST_MAIL_SECURITY": "none",
        "RUST_MAIL_AUTH": "none", "RUST_MAIL_FROM": "support@example.com", "RUST_MAIL_FROM_NAME": "Support",
        "RUST_MAIL_FORCE_FROM": True,
    })
    state = wp.php("out(array(RustMail_Settings_Store::is_configured(), RustMail_Settings_Store::fixed_keys(), RustMail_Transport_Connection::transport()));")
    assert state[0] is True
    assert set(state[1]) == {"host", "port", "security", "auth", "from", "from_name", "force_from"}
    assert state[2]["host"] == "127.0.0.1" and state[2]["port"] == server.port
    assert send(wp, headers="array('From: Plugin <plugin@example.com>')")["result"] is True
    [message] = server.messages()
    assert message.message["From"] == "Support <support@example.com>"
    assert message.mail_from == "support@example.com"


def test_every_transport_key_has_a_constant(wp):
    keys = wp.php("out(array_keys(RustMail_Settings_Schema::transport_keys()));")
    # The extension's own list (its rules export): every key rust_mail_send() takes, and no other.
    assert set(keys) == {"host", "port", "security", "auth", "username", "password", "timeout", "tls_min_version",
                         "verify_peer", "ca_file", "helo", "pool", "allow_insecure_auth", "chunking",
                         "api", "api_base", "region"}
    wp.set_constants({f"RUST_MAIL_{key.upper()}": "x" for key in keys})
    assert set(wp.php("out(RustMail_Settings_Store::fixed_keys());")) == set(keys)


def test_each_setting_has_one_schema_entry_with_the_extensions_defaults(wp):
    """A `$transport` key's default is the extension's (its export), but for port and security, where the plugin
    keeps submission on 587; each entry says which presets set it, and every field the page shows has a label."""
    entries = wp.php("out(RustMail_Settings_Schema::entries());")
    exported = json.loads((REPO / "wp-plugin" / "data" / "classifier.json").read_text())["defaults"]
    for key, value in exported["values"].items():
        assert entries[key]["default"] == value and entries[f"fallback_{key}"]["default"] == value, key
    assert entries["auth"]["default"] == exported["auth"]["otherwise"]
    assert (entries["port"]["default"], entries["security"]["default"]) == (587, "starttls")
    assert entries["fallback_host"]["default"] == "" and entries["fallback_port"]["default"] == 587
    assert entries["host"]["presets"] == ["m365", "outlook", "godaddy", "localhost", "gmail"]
    assert entries["rate_per_day"]["presets"] == ["godaddy"] and entries["from"]["presets"] == []
    assert entries["security"]["choices"] == ["none", "starttls", "opportunistic", "tls"]
    assert entries["fallback_security"]["choice_labels"]["tls"] == "TLS from the start (port 465)"
    shown = [entry for entry in entries.values() if "section" in entry]
    assert shown and all(entry["label"] and entry["control"] for entry in shown)


def test_a_secret_is_removed_even_without_the_exported_marker(wp):
    """The marker is the extension's (its export); with the data file damaged (the admin notice says so) the secret
    still goes, with nothing in its place, and nothing throws."""
    redact = "out(RustMail_Explain_Redactor::text('login hunter22 failed', RustMail_Explain_Redactor::forms('u', 'hunter22')));"
    assert wp.php(redact) == "login [redacted] failed"
    damaged = "(new ReflectionProperty('RustMail_Explain_Data', 'data'))->setValue(null, false);\n"
    assert wp.php(damaged + redact) == "login  failed"


def test_from_setting_replaces_default_but_not_plugin_from_unless_forced(wp, capture):
    server = capture()
    wp.set_settings(port=server.port, **{"from": "site@example.com", "from_name": "Site"})
    send(wp)
    send(wp, headers="array('From: Plugin <plugin@example.com>')")
    wp.set_settings(port=server.port, force_from=True, **{"from": "site@example.com", "from_name": "Site"})
    send(wp, headers="array('From: Plugin <plugin@example.com>')")
    froms = [m.message["From"] for m in server.messages()]
    assert froms == ["Site <site@example.com>", "Plugin <plugin@example.com>", "Site <site@example.com>"]


def test_password_stored_encrypted_with_key_outside_the_database(wp):
    wp.set_settings(password="Pl41n-Secret")
    stored = wp.php("out(get_option('rust_mail_settings')['password']);")
    assert stored.startswith("sodium2:") and "Pl41n-Secret" not in stored
    assert wp.php("out(RustMail_Settings_Store::get('password'));") == "Pl41n-Secret"
    # Each field has its own key: the password's ciphertext copied into the client secret does not decrypt there.
    swapped = wp.php("""
        $s = get_option('rust_mail_settings'); $s['oauth_client_secret'] = $s['password'];
        update_option('rust_mail_settings', $s);
        out(RustMail_Settings_Store::get('oauth_client_secret'));
    """)
    assert swapped == ""
    # A different key (as after changing the salts) cannot read it, and says so.
    wp.set_constants({"RUST_MAIL_SECRET_KEY": "another key, long enough to be a key of its own"})
    assert wp.php("out(array(RustMail_Settings_Store::get('password'), RustMail_Settings_Store::saved_password_unreadable()));") == ["", True]


@pytest.mark.parametrize("constants", [
    {"RUST_MAIL_SECRET_KEY": "short"},
    # wp-config-extra.php is read before the stack's own salts, so these replace them.
    {"AUTH_KEY": "put your unique phrase here", "SECURE_AUTH_SALT": "put your unique phrase here"},
    {"AUTH_KEY": "", "SECURE_AUTH_SALT": ""},
])
def test_no_secret_is_stored_under_a_public_key(wp, constants):
    """Without RUST_MAIL_SECRET_KEY and with default or empty salts the key would be public: the password is refused,
    with a notice that says what to add to wp-config.php."""
    wp.set_constants(constants)
    result = wp.php("""
        $refused = RustMail_Settings_Store::save(array('preset' => 'custom', 'host' => 'h', 'auth' => 'login', 'password' => 'Pl41n-Secret'))['refused_secrets'];
        out(array($refused, get_option('rust_mail_settings')['password'] ?? '', RustMail_Settings_Secrets::key_problem()));
    """)
    refused, stored, problem = result
    assert refused == ["password"] and stored == ""
    assert "RUST_MAIL_SECRET_KEY" in problem and "define( 'RUST_MAIL_SECRET_KEY', '" in problem


def test_save_applies_preset_keeps_password_and_skips_constants(wp):
    wp.set_settings(password="kept-secret")
    wp.set_constants({"RUST_MAIL_PORT": 2525})
    result = wp.php("""
        RustMail_Settings_Store::save(array('preset' => 'm365', 'host' => 'ignored', 'port' => '1', 'username' => 'me@example.com', 'password' => ''));
        $s = get_option('rust_mail_settings');
        out(array($s['host'], $s['security'], $s['auth'], $s['username'], RustMail_Settings_Store::get('password'), RustMail_Settings_Store::get('port')));
    """)
    # The preset wins over typed host/port; the port constant wins over both; an empty password field keeps it.
    assert result == ["smtp.office365.com", "starttls", "login", "me@example.com", "kept-secret", 2525]
    forgotten = wp.php("RustMail_Settings_Store::save(array('preset' => 'custom', 'forget_password' => '1')); out(RustMail_Settings_Store::get('password'));")
    assert forgotten == ""


def test_retention_purge_is_scheduled_and_removes_old_rows(wp, capture):
    server = capture()
    wp.set_settings(port=server.port, retention_days=5)
    for _ in range(3):
        send(wp)
    result = wp.php("""
        global $wpdb; $t = RustMail_Log_Store::table();
        $wpdb->query("UPDATE $t SET created_at = UTC_TIMESTAMP() - INTERVAL 10 DAY WHERE id <= (SELECT MIN(id) + 1 FROM (SELECT id FROM $t) AS x)");
        $scheduled = wp_next_scheduled(RustMail_Log_Store::PURGE_HOOK);
        do_action(RustMail_Log_Store::PURGE_HOOK);
        out(array((bool) $scheduled, (int) $wpdb->get_var("SELECT COUNT(*) FROM $t")));
    """)
    assert result == [True, 1]


def test_uninstall_removes_everything_and_reactivation_restores(wp, capture):
    server = capture()
    wp.set_settings(port=server.port, password="x")
    send(wp)
    after = wp.php("""
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        update_user_meta(1, 'rust_mail_notice', array('value' => array('type' => 'success', 'message' => 'x', 'log_id' => 0), 'expires' => time() + 60));
        update_user_meta(1, 'rust_mail_diagnosis', array('value' => array(), 'expires' => time() + 60));
        deactivate_plugins('rust-mail/rust-mail.php');
        uninstall_plugin('rust-mail/rust-mail.php');
        global $wpdb;
        out(array(
            'settings' => get_option('rust_mail_settings', 'gone'),
            'db_version' => get_option('rust_mail_db_version', 'gone'),
            'table' => $wpdb->get_var("SHOW TABLES LIKE '{$wpdb->prefix}rust_mail_log'"),
            'cron' => wp_next_scheduled('rust_mail_purge_log'),
            'user_meta' => $wpdb->get_var("SELECT COUNT(*) FROM $wpdb->usermeta WHERE meta_key LIKE 'rust\\_mail\\_%'"),
            'anything_left' => $wpdb->get_var("SELECT COUNT(*) FROM $wpdb->options WHERE option_name LIKE '%rust\\_mail%'"),
        ));
    """)
    assert after == {"settings": "gone", "db_version": "gone", "table": None, "cron": False, "user_meta": "0",
                     "anything_left": "0"}
    restored = wp.php("""
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        activate_plugin('rust-mail/rust-mail.php');
        global $wpdb;
        out(array($wpdb->get_var("SHOW TABLES LIKE '{$wpdb->prefix}rust_mail_log'"), (bool) wp_next_scheduled('rust_mail_purge_log')));
    """)
    assert restored == ["wp_rust_mail_log", True]


SECRET_DESTINATION = {"RUST_MAIL_SECURITY": "none", "RUST_MAIL_VERIFY_PEER": True, "RUST_MAIL_CA_FILE": "",
                      "RUST_MAIL_ALLOW_INSECURE_AUTH": True}


def test_password_from_wp_config_goes_only_to_the_server_wp_config_names(wp, capture):
    """An administrator who may change Host must not be able to send RUST_MAIL_PASSWORD to a server of theirs."""
    theirs = capture(user="mailer", password="pw-from-wp-config")
    wp.set_settings(port=theirs.port, auth="plain", username="mailer")
    wp.set_constants({"RUST_MAIL_PASSWORD": "pw-from-wp-config", **SECRET_DESTINATION})
    assert send(wp)["result"] is False
    [row] = wp.log_rows()
    assert row["error_kind"] == "settings" and "RUST_MAIL_HOST, RUST_MAIL_PORT" in row["error_message"]
    assert theirs.messages() == []
    page = wp.browser().get("/wp-admin/admin.php?page=rust-mail").text
    assert "The secret in RUST_MAIL_PASSWORD is not used" in page
    # With the server fixed beside the password, it is used.
    ours = capture(user="mailer", password="pw-from-wp-config")
    wp.set_constants({"RUST_MAIL_PASSWORD": "pw-from-wp-config", "RUST_MAIL_HOST": "127.0.0.1",
                      "RUST_MAIL_PORT": ours.port, **SECRET_DESTINATION})
    assert send(wp)["result"] is True
    [message] = ours.messages()
    assert message.login == "mailer"


def test_a_password_from_wp_config_needs_only_its_server_there_and_keeps_its_guards(wp, capture):
    """With the server fixed beside RUST_MAIL_PASSWORD, the guards left out of wp-config.php take their safe defaults
    whatever the page says: no login without TLS (here: plain text on loopback, which the page allows), until
    wp-config.php itself allows it."""
    ours = capture(user="mailer", password="pw-from-wp-config")
    wp.set_settings(port=ours.port, auth="plain", username="mailer", allow_insecure_auth=True, verify_peer=False)
    server = {"RUST_MAIL_PASSWORD": "pw-from-wp-config", "RUST_MAIL_HOST": "127.0.0.1", "RUST_MAIL_PORT": ours.port,
              "RUST_MAIL_SECURITY": "none"}
    wp.set_constants(server)
    assert send(wp)["result"] is False
    [row] = wp.log_rows()
    assert row["error_kind"] != "settings" and "RUST_MAIL_VERIFY_PEER" not in row["error_message"]
    assert "without TLS" in row["error_message"] or "insecure" in row["error_message"], row["error_message"]
    assert ours.messages() == []
    wp.set_constants({**server, "RUST_MAIL_ALLOW_INSECURE_AUTH": True})
    assert send(wp)["result"] is True
    assert [m.login for m in ours.messages()] == ["mailer"]


def test_log_bodies_constant_false_wins_over_the_setting(wp, capture):
    server = capture()
    wp.set_settings(port=server.port, log_bodies=True)
    send(wp, subject="stored")
    wp.set_constants({"RUST_MAIL_LOG_BODIES": False})
    send(wp, subject="not stored")
    assert [(row["subject"], row["body"] is None) for row in wp.log_rows()] == [("stored", False), ("not stored", True)]


def test_password_reset_mail_body_is_never_logged(wp, capture):
    server = capture()
    wp.set_settings(port=server.port, log_bodies=True)
    result = wp.php("out(retrieve_password('admin'));")
    assert result is True
    [message] = server.messages()
    key = re.search(r"key=([A-Za-z0-9]{20})", message.raw.decode()).group(1)
    [row] = wp.log_rows()
    assert row["status"] == "sent" and row["body"] is None and key not in json.dumps(row)


@pytest.mark.parametrize("missing, problem", [
    ("data/classifier.json", "Rust Mail is incomplete: data/classifier.json is missing."),
    ("src/Mail/Router.php", "Rust Mail is incomplete: the file of RustMail_Mail_Router is missing."),
])
def test_a_half_installed_plugin_says_so_and_leaves_mail_to_core(wp, capture, missing, problem):
    """The bootstrap's guard: with a file of the plugin missing (an upload cut short), wp_mail() is core's, untouched and
    without an exception, and the admin is told what is wrong on every admin page."""
    path = wp.wp / "wp-content" / "plugins" / "rust-mail" / missing
    hidden = path.with_name(path.name + ".hidden")
    path.rename(hidden)
    try:
        server = capture()
        sent = wp.php("add_action('phpmailer_init', function ($m) { $m->isSMTP(); $m->Host = '127.0.0.1';"
                      f" $m->Port = {server.port}; $m->SMTPAutoTLS = false; }});"
                      "out(array(wp_mail('someone@example.com', 'Still sent', 'Body'), has_filter('pre_wp_mail', array('RustMail_Mail_Router', 'prepare_call'))));")
        assert sent == [True, False], "core sent it; the plugin hooked nothing"
        assert [m.message["Subject"] for m in server.messages()] == ["Still sent"]
        page = wp.browser().get("/wp-admin/")
        assert page.status == 200 and problem in page.text and "WordPress sends mail the usual way until then." in page.text
    finally:
        hidden.rename(path)
    assert problem not in wp.browser().get("/wp-admin/").text


LONG_SUBJECT = ("Order summary: " + " ".join(f"item-{n}" for n in range(700)))[:5000]


def test_a_5000_character_subject_reaches_a_server_that_enforces_998_octet_lines(wp, engine, capture):
    """PHPMailer wraps a long subject's encoded-words at 998 octets without counting "Subject: ", a 1,006-octet line
    that aiosmtpd (like any server enforcing RFC 5321's limit) refuses. The composer folds such lines; the subject
    arrives whole, every line within 998 octets."""
    server = capture()
    wp.set_settings(port=server.port)
    assert send(wp, subject=LONG_SUBJECT)["result"] is True
    [message] = server.messages()
    assert max(len(line) for line in message.raw.split(b"\r\n")) <= 998
    assert str(email.message_from_bytes(message.raw, policy=email.policy.default)["Subject"]) == LONG_SUBJECT


def test_header_folding_changes_only_lines_over_998_octets(wp):
    folded = wp.php(
        "$long_to = 'To: ' . implode(', ', array_map(fn ($n) => \"user$n@example.com\", range(1, 80)));"
        "$subject = 'Subject: =?us-ascii?Q?' . str_repeat('x', 983) . '?=';"
        "$unbreakable = 'X-Token: ' . str_repeat('y', 1200);"
        "$header = implode(\"\\r\\n\", array('Date: Mon, 7 Dec 2026 16:14:01 +0000', $long_to, $subject, $unbreakable));"
        "out(explode(\"\\r\\n\", RustMail_Mail_Header_Lines::fold($header)));")
    assert folded[0] == "Date: Mon, 7 Dec 2026 16:14:01 +0000"
    to_lines = [line for line in folded[1:] if line.startswith(("To:", " user"))]
    assert len(to_lines) == 2 and all(len(line) <= 998 for line in to_lines) and to_lines[1].startswith(" user")
    assert "".join(to_lines) == "To: " + ", ".join(f"user{n}@example.com" for n in range(1, 81))
    subject_lines = [line for line in folded if line.startswith(("Subject:", " =?us-ascii"))]
    assert len(subject_lines) == 2 and all(len(line) <= 998 for line in subject_lines)
    assert subject_lines[0].startswith("Subject: =?us-ascii?Q?x") and subject_lines[0].endswith("x?=")
    text = "".join(re.fullmatch(r"(?:Subject:)? =\?us-ascii\?Q\?(x+)\?=", line).group(1) for line in subject_lines)
    assert text == "x" * 983
    assert folded[-1] == "X-Token: " + "y" * 1200  # nothing to fold at: left as it is
