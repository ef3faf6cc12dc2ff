"""The two engines: the rust_mail extension, and PHPMailer's SMTP client when PHP (PHP-FPM and the CLI, restarted
without the extension) cannot load it. The presets' kinds of server, what an admin sees of each engine, the same
explanations on both, and a switch between them that keeps settings, outbox and log."""
import json
import shutil

import pytest

from harness.wpstack import ARTIFACTS, LOG, SETTINGS, php_string, run_browser

USER, PASSWORD = "site@contoso.example", "Pa55-word-of-the-mailbox"


def send(wp, subject, to="someone@example.com"):
    return wp.php(f"out(wp_mail({php_string(to)}, {php_string(subject)}, 'Body of ' . {php_string(subject)}));")


def preset_values(wp, preset):
    return wp.php(f"out(RustMail_Settings_Presets::all()[{php_string(preset)}]['values']);")


def readable_ca(wp, certs):
    """The test CA next to the site, where PHP-FPM's user can read it too."""
    ca_file = wp.dir / "engine-test-ca.pem"
    shutil.copy(certs.ca, ca_file)
    ca_file.chmod(0o644)
    return str(ca_file)


@pytest.mark.parametrize("preset", ["m365", "godaddy", "m365_direct"])
def test_each_presets_kind_of_server_gets_the_mail(wp, engine, smtp_server, certs, preset):
    """The preset's port, security and login, against a local server of the same kind: Microsoft 365 (STARTTLS
    required, AUTH only after it), GoDaddy's relay (plain SMTP, no login), direct send (STARTTLS when offered, no
    login)."""
    values = preset_values(wp, preset)
    login = values["auth"] != "none"
    server = smtp_server(
        tls="none" if values["security"] == "none" else "starttls",
        require_starttls=values["security"] == "starttls",
        auth={"user": USER, "password": PASSWORD} if login else None,
        auth_require_tls=login,
    )
    settings = dict(values, preset="custom", host="127.0.0.1", port=server.port, ca_file=readable_ca(wp, certs))
    if login:
        settings["username"] = USER
    wp.set_settings(password=PASSWORD if login else None, **settings)

    assert send(wp, f"Through {preset}") is True
    [message] = server.messages
    assert message.message["Subject"] == f"Through {preset}"
    assert message.rcpt_tos == ["someone@example.com"]
    assert message.tls is (values["security"] != "none")
    assert message.auth_user == (USER if login else None)
    [row] = wp.log_rows()
    assert row["status"] == "sent"
    assert [a["engine"] for a in json.loads(row["attempt_log"])] == [engine]
    assert PASSWORD not in json.dumps(row)


def test_both_engines_explain_a_refusal_in_the_same_words(wp, smtp_server):
    """A Microsoft 365 refusal (SMTP AUTH switched off for the mailbox) logged by each engine: the same error kind,
    cause, and the same 'What went wrong' and 'What to do' on the log entry page."""
    server = smtp_server(auth={"user": USER, "password": PASSWORD},
                         replies={"auth": "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox."})
    wp.set_settings(port=server.port, auth="login", username=USER, allow_insecure_auth=True, password=PASSWORD)
    pages = {}
    for engine in ("extension", "phpmailer"):
        wp.use_engine(engine)
        assert send(wp, f"Refused on {engine}") is False
        row = wp.log_rows()[-1]
        assert (row["error_kind"], row["error_cause"], row["smtp_code"], row["enhanced_code"]) == ("auth", "auth_disabled", "535", "5.7.139"), engine
        page = wp.browser().get(f"{LOG}&entry={row['id']}")
        explanation = page.text.split("What went wrong:", 1)[1].split("</ul>", 1)[0]
        assert "5.7.139" in explanation and "Authenticated SMTP" in explanation
        pages[engine] = explanation
    wp.use_engine("extension")
    assert pages["extension"] == pages["phpmailer"]


def test_the_test_mail_reports_the_classified_failure_without_the_extension(wp):
    wp.use_engine("phpmailer")
    try:
        wp.set_settings(port=1)  # nothing listens on port 1 of loopback: refused
        browser = wp.browser()
        settings = browser.get(SETTINGS)
        page = browser.post("/wp-admin/admin-post.php", dict(browser.form_fields(settings, "rust_mail_send_test"), test_to="admin@example.com"))
        assert "The test mail to admin@example.com was not sent." in page.text
        assert "refused the connection" in page.text and "127.0.0.1:1" in page.text
        [row] = wp.log_rows()
        assert (row["error_kind"], row["error_cause"]) == ("connect_refused", "connection_refused")
    finally:
        wp.use_engine("extension")


def test_switching_engines_keeps_settings_outbox_and_log(wp, capture):
    server = capture()
    wp.set_settings(port=server.port, delivery="queued")
    # WP-Cron off: a drain it spawned from a page load would take the held message before the test's own drain.
    wp.set_constants({"RUST_MAIL_TEST_HOLD": True, "DISABLE_WP_CRON": True})
    assert send(wp, "Held in the outbox") is True
    before = wp.php("out(get_option(RustMail_Settings_Store::OPTION));")
    [held] = wp.log_rows()
    assert held["status"] == "queued" and server.count() == 0

    wp.use_engine("phpmailer")
    try:
        assert wp.php("out(get_option(RustMail_Settings_Store::OPTION));") == before
        assert wp.php("out(RustMail_Outbox_Drain::drain());")["sent"] == 1
        [message] = server.messages()
        assert message.message["Subject"] == "Held in the outbox"
        [row] = wp.log_rows()
        assert row["id"] == held["id"] and row["status"] == "sent"
        assert [a["engine"] for a in json.loads(row["attempt_log"])] == ["phpmailer"]
    finally:
        wp.use_engine("extension")
    wp.clear_constants()
    assert send(wp, "Back on the extension") is True
    assert [m.message["Subject"] for m in server.messages()] == ["Held in the outbox", "Back on the extension"]
    rows = wp.log_rows()
    assert [r["status"] for r in rows] == ["sent", "sent"]
    assert [json.loads(r["attempt_log"])[-1]["engine"] for r in rows] == ["phpmailer", "extension"]
    assert wp.php("out(get_option(RustMail_Settings_Store::OPTION));") == before


def test_site_health_names_the_engine_and_what_the_extension_adds(wp):
    tests = {}
    for engine in ("extension", "phpmailer"):
        wp.use_engine(engine)
        tests[engine] = wp.php("out(RustMail_Admin_Site_Health::engine());")
    wp.use_engine("extension")
    assert tests["extension"]["status"] == "good" and "rust_mail extension" in tests["extension"]["label"]
    assert tests["phpmailer"]["status"] == "recommended" and "PHPMailer" in tests["phpmailer"]["label"]
    assert "Diagnose" in tests["phpmailer"]["description"] and "extension=rust_mail.so" in tests["phpmailer"]["description"]


@pytest.mark.soak  # headless Chromium
@pytest.mark.parametrize("engine_name", ["extension", "phpmailer"])
def test_admin_sees_the_engine_on_the_settings_page_and_in_the_log(wp, capture, engine_name):
    """Headless Chromium on each engine: the settings page's engine box (and Diagnose only with the extension), a test
    mail, and its log entry naming the engine. The screenshots are the note's pictures of each engine."""
    server = capture()
    wp.set_settings(port=server.port)
    for shot in (f"settings-engine-{engine_name}.png", f"log-entry-engine-{engine_name}.png"):
        (ARTIFACTS / shot).unlink(missing_ok=True)
    wp.use_engine(engine_name)
    try:
        assert "engine: ok" in run_browser(wp, "engine.mjs", ENGINE=engine_name)
    finally:
        wp.use_engine("extension")
    assert [m.rcpt_tos for m in server.messages()] == [[f"engine-{engine_name}@example.com"]]
    for shot in (f"settings-engine-{engine_name}.png", f"log-entry-engine-{engine_name}.png"):
        assert (ARTIFACTS / shot).stat().st_size > 0


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_tls_is_verified_on_both_engines(wp, engine, smtp_server, certs, security):
    """Implicit TLS and STARTTLS with the site's CA file: a good certificate carries the login and the mail; an
    expired one stops the send before any credential is sent, as a certificate problem."""
    tls = "implicit" if security == "tls" else "starttls"
    good = smtp_server(tls=tls, auth={"user": USER, "password": PASSWORD}, auth_require_tls=True)
    settings = dict(host="localhost", port=good.port, security=security, auth="login", username=USER,
                    ca_file=readable_ca(wp, certs))
    wp.set_settings(password=PASSWORD, **settings)
    assert send(wp, f"Over {security}") is True
    [message] = good.messages
    assert message.tls and message.auth_user == USER

    expired = smtp_server(tls=tls, cert="expired", auth={"user": USER, "password": PASSWORD})
    wp.set_settings(password=PASSWORD, **dict(settings, port=expired.port))
    assert send(wp, "Expired certificate") is False
    assert expired.messages == [] and expired.auth_attempts == []
    row = wp.log_rows()[-1]
    assert (row["error_kind"], row["error_cause"]) == ("tls", "tls_certificate_invalid"), row["error_message"]
    assert PASSWORD not in json.dumps(row)
    # The entry page explains the cause the engine decided, which the row's kind alone ('tls') could not tell.
    page = wp.browser().get(f"{LOG}&entry={row['id']}").text
    assert f"The certificate of localhost:{expired.port} is not valid" in page


def test_without_pooling_the_log_keeps_the_messages_reply_not_the_quits(wp, engine, capture):
    server = capture()
    wp.set_settings(port=server.port, pool=False)
    assert send(wp, "Not pooled") is True
    [row] = wp.log_rows()
    assert row["smtp_code"] == "250" and "queued" in row["reply"].lower(), (row["smtp_code"], row["reply"])
    assert server.count() == 1
