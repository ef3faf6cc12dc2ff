"""The admin pages over real HTTP (nginx + PHP-FPM): actions, escaping, access control, and no password leaks."""
import base64
import email
import email.policy
import html
import re
import subprocess

import pytest

from harness.wpstack import LOG, SETTINGS, Browser

XSS_SUBJECT = "<script>alert(1)</script><img src=x onerror=alert(2)>"
ACTIONS = ["rust_mail_save_settings", "rust_mail_send_test", "rust_mail_diagnose"]


def latest_entry_id(wp):
    return int(wp.log_rows()[-1]["id"])


def test_settings_page_shows_presets_and_constants(wp):
    wp.set_constants({"RUST_MAIL_HOST": "127.0.0.1", "RUST_MAIL_TIMEOUT": 10})
    page = wp.browser().get(SETTINGS)
    assert page.status == 200
    for preset in ["Microsoft 365", "Microsoft 365 direct send", "GoDaddy shared hosting relay", "A server on this machine", "Gmail (app password)", "Custom"]:
        assert preset in page.text
    assert "December 2026" in page.text
    assert "Set by RUST_MAIL_HOST in wp-config.php." in page.text
    assert "Set by RUST_MAIL_TIMEOUT in wp-config.php." in page.text
    assert re.search(r'<input type="text"[^>]*id="rust-mail-host"[^>]*disabled', page.text)


def test_save_settings_and_send_test_mail_over_http(wp, capture):
    server = capture()
    browser = wp.browser()
    page = browser.get(SETTINGS)
    fields = browser.form_fields(page, "rust_mail_save_settings")
    fields.update({"rust_mail[preset]": "custom", "rust_mail[host]": "127.0.0.1", "rust_mail[port]": str(server.port),
                   "rust_mail[security]": "none", "rust_mail[auth]": "none", "rust_mail[timeout]": "15",
                   "rust_mail[retention_days]": "30", "rust_mail[from]": "site@example.com"})
    saved = browser.post("/wp-admin/admin-post.php", fields)
    assert saved.status == 200 and "Settings saved." in saved.text
    fields = browser.form_fields(saved, "rust_mail_send_test")
    fields["test_to"] = "admin-inbox@example.com"
    sent = browser.post("/wp-admin/admin-post.php", fields)
    assert "Test mail sent to admin-inbox@example.com." in sent.text
    [message] = server.messages()
    assert message.rcpt_tos == ["admin-inbox@example.com"] and message.mail_from == "site@example.com"
    row = wp.log_rows()[-1]
    assert row["caller"] == "plugin:rust-mail"
    detail = browser.get(f"{LOG}&entry={row['id']}")
    assert "SMTP transcript" in detail.text and "MAIL FROM:&lt;site@example.com&gt;" in detail.text


@pytest.mark.parametrize("as_html", [False, True])
def test_the_test_mail_takes_a_subject_a_body_and_html(wp, capture, as_html):
    """What the owner typed is what the server receives: the subject, the body, as text or as HTML (a script tag in
    it removed, as WordPress removes it from a post)."""
    server = capture()
    wp.set_settings(port=server.port)
    browser = wp.browser()
    fields = browser.form_fields(browser.get(SETTINGS), "rust_mail_send_test")
    fields.update({"test_to": "owner@example.com", "test_subject": "Order #1042 – Bestätigung",
                   "test_body": "<p>Thank you for your <b>order</b>.</p><script>alert(1)</script>\nSecond line"})
    if as_html:
        fields["test_html"] = "1"
    assert "Test mail sent to owner@example.com." in browser.post("/wp-admin/admin-post.php", fields).text
    [message] = server.messages()
    parsed = email.message_from_bytes(message.raw, policy=email.policy.default)
    assert str(parsed["Subject"]) == "Order #1042 – Bestätigung"
    assert parsed.get_content_type() == ("text/html" if as_html else "text/plain")
    body = parsed.get_content()
    assert "<script" not in body and "Second line" in body
    assert ("<b>order</b>" in body) == as_html


def test_the_test_mail_without_a_subject_or_body_is_the_plugins_own(wp, capture):
    server = capture()
    wp.set_settings(port=server.port)
    browser = wp.browser()
    fields = browser.form_fields(browser.get(SETTINGS), "rust_mail_send_test")
    fields.update({"test_to": "owner@example.com", "test_subject": "", "test_body": ""})
    browser.post("/wp-admin/admin-post.php", fields)
    [message] = server.messages()
    parsed = email.message_from_bytes(message.raw, policy=email.policy.default)
    assert str(parsed["Subject"]).startswith("Test mail from ") and parsed.get_content_type() == "text/plain"
    assert "If you can read it, WordPress can send mail." in parsed.get_content()


def test_site_health_info_has_a_rust_mail_section_without_secrets(wp, capture, closed_port):
    """Tools > Site Health > Info: engine, each connection, delivery, queue, the last success and failure with its
    cause; the password itself nowhere on the page."""
    server = capture()
    password = "info-secret-" + base64.b32encode(subprocess.check_output(["head", "-c", "10", "/dev/urandom"])).decode()
    wp.set_settings(port=closed_port, auth="plain", username="u", password=password)
    wp.php("wp_mail('x@example.com', 'Fails', 'y'); out(true);")
    wp.set_settings(port=server.port, auth="none", connections={"support": {"host": "127.0.0.1", "port": server.port,
                                                                            "security": "none", "auth": "none"}})
    wp.php("wp_mail('x@example.com', 'Goes', 'y'); out(true);")
    wp.set_settings(port=server.port, auth="plain", username="u", password=password, connections={"support": {
        "host": "127.0.0.1", "port": server.port, "security": "none", "auth": "none"}})
    page = wp.browser().get("/wp-admin/site-health.php?tab=debug")
    assert page.status == 200 and password not in page.text
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page.text)))
    section = text[text.index("Rust Mail Plugin version"):]
    assert "Engine rust_mail 0." in section
    assert f"Connection: primary 127.0.0.1:{server.port}, none, auth plain, secret set, certificate checked" in section
    assert f"Connection: support 127.0.0.1:{server.port}, none, auth none, no secret set, certificate checked" in section
    assert "Delivery immediate" in section and "Waiting in the outbox 0" in section
    assert re.search(r"Last mail sent \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", section)
    assert re.search(r"Last mail failed \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, cause connection_refused", section)
    assert "Failed in the last 24 hours 1" in section
    # The failure's incident closed when "Goes" went through the primary.
    assert "Hold all mail off" in section and "Open incidents none" in section and "Alert channels none" in section


def test_action_without_nonce_is_refused(wp):
    browser = wp.browser()
    page = browser.post("/wp-admin/admin-post.php", {"action": "rust_mail_save_settings", "rust_mail[host]": "evil.example"})
    assert page.status == 403
    assert wp.php("out(RustMail_Settings_Store::get('host'));") == "127.0.0.1"


def test_stranger_subject_from_a_form_is_shown_as_text(wp, capture):
    server = capture()
    wp.set_settings(port=server.port)
    form = wp.browser().post("/", {"rust_mail_test_contact": "1", "contact_subject": XSS_SUBJECT,
                                   "contact_message": "<b>hi</b>", "contact_email": "visitor@example.com"})
    assert "contact form: sent" in form.text
    browser = wp.browser()
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
    for path in [LOG, f"{LOG}&entry={latest_entry_id(wp)}", f"{LOG}&s=alert"]:
        page = browser.get(path)
        assert escaped in page.text, path
        assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text, path


def visitor(wp, role):
    """A browser of someone who is not the administrator: logged out, or logged in with a lesser role."""
    if role is None:
        return Browser(wp.url)
    login = f"{role}1"
    wp.php(f"""
        $id = username_exists('{login}') ?: wp_insert_user(array('user_login' => '{login}', 'user_pass' => '{login}-pass-123',
                                                                 'role' => '{role}', 'user_email' => '{login}@example.com'));
        out($id);
    """)
    return wp.browser(login, f"{login}-pass-123")


@pytest.mark.parametrize("role", [None, "subscriber", "editor"])
def test_no_page_and_no_action_for_anyone_but_the_administrator(wp, capture, role):
    server = capture()
    wp.set_settings(port=server.port)
    wp.php("wp_mail('x@example.com', 'Existing entry', 'y'); out(true);")
    browser = visitor(wp, role)
    for path in [SETTINGS, LOG, f"{LOG}&entry={latest_entry_id(wp)}", f"{SETTINGS}&diagnosis=1"]:
        page = browser.get(path)
        # Logged out, wp-admin sends the visitor to the login form.
        assert page.status == 403 or (role is None and "wp-login.php" in page.url), path
        assert "Existing entry" not in page.text and "rust-mail-transcript" not in page.text
    # A nonce they could get for themselves must not help either: capability is checked first.
    actions_php = repr(ACTIONS)  # a Python list of strings is also a PHP array literal
    user = f"get_user_by('login', '{role}1')->ID" if role else "0"
    nonces = wp.php(
        f"wp_set_current_user({user});\n"
        "out(array_combine(" + actions_php + ", array_map('wp_create_nonce', " + actions_php + ")));")
    before = wp.php("out(get_option('rust_mail_settings'));")
    for action in ACTIONS:
        for nonce in ["", nonces[action]]:
            page = browser.post("/wp-admin/admin-post.php", {
                "action": action, "_wpnonce": nonce, "test_to": "victim@example.com",
                "rust_mail[preset]": "custom", "rust_mail[host]": "evil.example", "rust_mail[port]": "25"})
            # admin-post.php has no handler for a logged-out visitor (400); anyone else meets the capability check.
            assert page.status == (400 if role is None else 403), action
    assert wp.php("out(get_option('rust_mail_settings'));") == before
    assert [m.rcpt_tos for m in server.messages()] == [["x@example.com"]]


def test_password_never_in_any_page(wp, engine, capture):
    password = "Sup3r-Secret-Pa55"
    server = capture(user="mailer", password=password)
    wp.set_settings(port=server.port, auth="plain", username="mailer", allow_insecure_auth=True, password=password)
    browser = wp.browser()
    page = browser.get(SETTINGS)
    fields = browser.form_fields(page, "rust_mail_send_test")
    fields["test_to"] = "inbox@example.com"
    sent = browser.post("/wp-admin/admin-post.php", fields)
    assert "Test mail sent" in sent.text
    wp.set_settings(port=server.port, auth="plain", username="mailer", allow_insecure_auth=True, password="wrong" + password)
    wp.php("wp_mail('x@example.com', 'fails', 'y'); out(true);")
    wp.set_settings(port=server.port, auth="plain", username="mailer", allow_insecure_auth=True, password=password)
    secrets = [password, "wrong" + password, base64.b64encode(password.encode()).decode(),
               base64.b64encode(b"\0mailer\0" + password.encode()).decode()]
    pages = [SETTINGS, LOG] + [f"{LOG}&entry={row['id']}" for row in wp.log_rows()]
    if engine == "extension":
        fields = browser.form_fields(browser.get(SETTINGS), "rust_mail_diagnose")
        pages.append(browser.post("/wp-admin/admin-post.php", fields).url)
    for path in pages:
        text = browser.get(path).text
        for secret in secrets:
            assert secret not in text, path
    assert "saved (leave empty to keep)" in browser.get(SETTINGS).text


def test_failed_entry_explains_itself_with_the_diagnosis_classifier(wp, capture):
    """A wrong password: the entry page says what went wrong and what to do, in the words of the diagnosis."""
    server = capture(user="mailer", password="right-password")
    wp.set_settings(port=server.port, auth="plain", username="mailer", allow_insecure_auth=True, password="wrong-password")
    wp.php("wp_mail('someone@example.com', 'Wrong password', 'Body'); out(true);")
    page = wp.browser().get(f"{LOG}&entry={latest_entry_id(wp)}").text
    explanation = re.search(r'<div class="notice notice-error inline rust-mail-explanation">(.*?)</div>', page, re.S).group(1)
    assert f"127.0.0.1:{server.port} refused the login of mailer: 535" in explanation, explanation
    # The classifier's advice with the settings page's words ("user name", not the key `username`).
    assert "Check user name &#039;mailer&#039; and the password (or token)." in explanation, explanation
    assert "wrong-password" not in page


def test_no_secret_in_the_database_and_nothing_written_under_the_web_root(wp, capture):
    """The password, its AUTH forms, the encryption key and the salts it comes from: none of them in a dump of the
    database after a save, a test mail, a failed mail and a diagnosis; and no file of the plugin's in the site."""
    password = "Dump-Me-If-You-Can-77"
    before = {path for path in wp.wp.rglob("*")}
    server = capture(user="mailer", password=password)
    browser = wp.browser()
    fields = browser.form_fields(browser.get(SETTINGS), "rust_mail_save_settings")
    fields.update({"rust_mail[preset]": "custom", "rust_mail[host]": "127.0.0.1", "rust_mail[port]": str(server.port),
                   "rust_mail[security]": "none", "rust_mail[auth]": "plain", "rust_mail[username]": "mailer",
                   "rust_mail[password]": password, "rust_mail[allow_insecure_auth]": "1", "rust_mail[log_bodies]": "1",
                   "rust_mail[timeout]": "15", "rust_mail[retention_days]": "30"})
    assert "Settings saved." in browser.post("/wp-admin/admin-post.php", fields).text
    fields = browser.form_fields(browser.get(SETTINGS), "rust_mail_send_test")
    fields["test_to"] = "inbox@example.com"
    assert "Test mail sent" in browser.post("/wp-admin/admin-post.php", fields).text
    fields = browser.form_fields(browser.get(SETTINGS), "rust_mail_diagnose")
    browser.post("/wp-admin/admin-post.php", fields)
    assert server.messages()[0].login == "mailer"
    keys = wp.php("""
        $key = new ReflectionMethod('RustMail_Settings_Secrets', 'key'); $key->setAccessible(true);
        out(array(bin2hex($key->invoke(null, 'password')), base64_encode($key->invoke(null, 'password')), AUTH_KEY, SECURE_AUTH_SALT));
    """)
    # A kept message is sealed as bytes (the log's raw column): decoded leniently, every text secret still shows.
    dump = subprocess.run(["mysqldump", "-uroot", "--skip-extended-insert", wp.env["DB_NAME"]], capture_output=True,
                          encoding="utf-8", errors="replace", check=True).stdout
    assert "rust_mail_settings" in dump and "sodium2:" in dump
    for secret in [password, base64.b64encode(password.encode()).decode(),
                   base64.b64encode(b"\0mailer\0" + password.encode()).decode(), *keys]:
        assert secret not in dump
    written = {path for path in wp.wp.rglob("*")} - before
    assert written == set(), written


def test_log_lists_and_filters_failures_by_cause(wp, closed_port):
    """Each failed row logs its cause; the list shows it and filters by it."""
    wp.set_settings(port=closed_port)
    wp.php("wp_mail('x@example.com', 'Nobody listening', 'y'); out(true);")
    wp.set_constants({"RUST_MAIL_PASSWORD": "from-wp-config"})
    wp.set_settings(auth="plain", username="u")
    wp.php("wp_mail('x@example.com', 'Secret refused', 'y'); out(true);")
    causes = {row["subject"]: row["error_cause"] for row in wp.log_rows()}
    assert causes["Secret refused"] == "settings" and causes["Nobody listening"] not in ("", "settings")
    browser = wp.browser()
    listing = browser.get(LOG).text
    assert 'id="rust-mail-cause"' in listing and all(f"<code>{cause}</code>" in listing for cause in causes.values())
    for subject, cause in causes.items():
        page = browser.get(f"{LOG}&cause={cause}").text
        assert subject in page and all(other not in page for other in causes if other != subject), cause
