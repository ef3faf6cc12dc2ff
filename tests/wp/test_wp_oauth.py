"""OAuth2 app-only login (client credentials) for XOAUTH2: the plugin fetches Microsoft's token itself, caches it,
drops it when the SMTP server refuses it, and never shows the client secret or the token anywhere.

A real token endpoint (tests/harness/oauth_server.py on 127.0.0.1) stands in for login.microsoftonline.com, through
RUST_MAIL_OAUTH_TOKEN_URL; a real SMTP server with STARTTLS and XOAUTH2 accepts only the token it hands out."""
import base64
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.oauth_server import AuthorizationServer
from harness.wpstack import LOG, SETTINGS

TENANT = "contoso.onmicrosoft.com"
CLIENT_ID = "6f1c0b9e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"
CLIENT_SECRET = "Q~s3cret-" + secrets.token_hex(12)
MAILBOX = "site@contoso.example"
SCOPE = "https://outlook.office365.com/.default"


@pytest.fixture
def token_endpoint():
    endpoint = AuthorizationServer(TENANT, CLIENT_ID, CLIENT_SECRET)
    yield endpoint
    endpoint.stop()


@pytest.fixture
def m365(wp, token_endpoint, smtp_server, certs):
    """The site set up like Microsoft 365 with an OAuth2 app, against local stand-ins. Returns the SMTP server."""
    server = smtp_server(tls="starttls", auth={"user": MAILBOX, "token": token_endpoint.token},
                         auth_mechanisms=["XOAUTH2"])
    # The CA next to the site, where PHP-FPM's user can read it too (Diagnose and Send test mail run there).
    wp.set_constants({"RUST_MAIL_OAUTH_TOKEN_URL": token_endpoint.url})
    set_oauth_settings(wp, port=server.port, ca_file=wp.site_ca(certs))
    wp.php("RustMail_OAuth_Token::forget(); out(true);")
    return server


def set_oauth_settings(wp, secret=CLIENT_SECRET, **values):
    settings = {"security": "starttls", "auth": "xoauth2", "username": MAILBOX, "oauth_tenant": TENANT,
                "oauth_client_id": CLIENT_ID, "pool": False}
    wp.set_settings(oauth_client_secret=secret, **dict(settings, **values))



def cached(wp):
    return wp.php("out(RustMail_Settings_Store::get_plugin_option('rust_mail_oauth_token', null));")


def test_token_is_fetched_once_and_used_for_xoauth2(wp, engine, token_endpoint, m365):
    assert wp.send_mail("First") == {"result": True, "failed": []}
    assert wp.send_mail("Second") == {"result": True, "failed": []}
    assert [m.message["Subject"] for m in m365.messages] == ["First", "Second"]
    assert all(m.tls and m.auth_user == MAILBOX for m in m365.messages)
    assert [(a.mechanism, a.user, a.success) for a in m365.auth_attempts] == [("XOAUTH2", MAILBOX, True)] * 2
    # The second mail, in another PHP process, took the cached token.
    [request] = token_endpoint.requests
    assert request == {"path": f"/{TENANT}/oauth2/v2.0/token", "grant_type": "client_credentials",
                       "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "scope": SCOPE}
    record = cached(wp)
    assert token_endpoint.token not in json.dumps(record) and record["token"].startswith("sodium2:")
    rows = wp.log_rows()
    assert [row["status"] for row in rows] == ["sent", "sent"]
    transcript = json.loads(rows[0]["transcript"])
    assert "AUTH XOAUTH2 [redacted]" in [line["line"] for line in transcript]
    xoauth2 = base64.b64encode(f"user={MAILBOX}\x01auth=Bearer {token_endpoint.token}\x01\x01".encode()).decode()
    for secret in (token_endpoint.token, xoauth2, CLIENT_SECRET):
        assert secret not in json.dumps(rows)


def test_wrong_client_secret_fails_the_mail_with_microsofts_reason(wp, token_endpoint, m365):
    set_oauth_settings(wp, secret="wrong-" + CLIENT_SECRET, port=m365.port)
    outcome = wp.send_mail("Refused")
    assert outcome["result"] is False
    [failed] = outcome["failed"]
    assert "AADSTS7000215: Invalid client secret provided." in failed
    [row] = wp.log_rows()
    assert row["status"] == "failed" and row["error_kind"] == "oauth"
    assert row["error_message"].startswith("Microsoft refused the app's credentials: AADSTS7000215: Invalid client secret provided.")
    assert row["subject"] == "Refused"
    assert m365.messages == [] and m365.auth_attempts == []
    assert cached(wp) is None
    assert "wrong-" + CLIENT_SECRET not in json.dumps(wp.log_rows())


def test_unreachable_token_endpoint_is_said_in_words(wp, m365):
    wp.set_constants({"RUST_MAIL_OAUTH_TOKEN_URL": "http://127.0.0.1:9/{tenant}/oauth2/v2.0/token"})
    assert wp.send_mail()["result"] is False
    [row] = wp.log_rows()
    assert row["error_kind"] == "oauth"
    assert "Could not reach the OAuth2 token endpoint http://127.0.0.1:9/contoso.onmicrosoft.com/oauth2/v2.0/token" in row["error_message"]


def test_smtp_refusing_the_token_drops_the_cache(wp, token_endpoint, m365):
    # The endpoint hands out a token Exchange does not take (say, the service principal is not registered yet).
    right = token_endpoint.token
    token_endpoint.token = "eyJ0eXAiOiJKV1Qi.not-for-smtp-" + secrets.token_hex(8)
    outcome = wp.send_mail("Refused by SMTP")
    assert outcome["result"] is False and "535" in outcome["failed"][0]
    # Refused, so a new token is asked for and tried once; refused again, it is dropped too.
    assert [(a.mechanism, a.success) for a in m365.auth_attempts] == [("XOAUTH2", False)] * 2
    assert len(token_endpoint.requests) == 2
    assert cached(wp) is None
    # Fixed on Microsoft's side: the next mail asks for a new token instead of resending the refused one.
    token_endpoint.token = right
    assert wp.send_mail("Now accepted") == {"result": True, "failed": []}
    assert len(token_endpoint.requests) == 3
    assert [m.message["Subject"] for m in m365.messages] == ["Now accepted"]
    assert [row["status"] for row in wp.log_rows()] == ["failed", "sent"]


def test_diagnose_and_test_mail_use_the_token_and_nothing_shows_a_secret(wp, token_endpoint, m365):
    browser = wp.browser()
    page = browser.get(SETTINGS)
    fields = browser.form_fields(page, "rust_mail_diagnose")
    diagnosis = browser.post("/wp-admin/admin-post.php", fields)
    assert diagnosis.status == 200 and "rust-mail-diagnosis" in diagnosis.text
    assert ("XOAUTH2", MAILBOX, True) in [(a.mechanism, a.user, a.success) for a in m365.auth_attempts]
    fields = browser.form_fields(diagnosis, "rust_mail_send_test")
    fields["test_to"] = "inbox@example.com"
    sent = browser.post("/wp-admin/admin-post.php", fields)
    assert "Test mail sent to inbox@example.com." in sent.text
    assert len(token_endpoint.requests) == 1  # Diagnose fetched it; the test mail took it from the cache.
    # A refused token and a refused secret leave their rows too.
    m365.config.auth["token"] = "something-else"
    assert wp.send_mail()["result"] is False
    m365.config.auth["token"] = token_endpoint.token
    set_oauth_settings(wp, secret="wrong-" + CLIENT_SECRET, port=m365.port, ca_file=str(wp.dir / "test-ca.pem"))
    assert wp.send_mail()["result"] is False
    set_oauth_settings(wp, port=m365.port, ca_file=str(wp.dir / "test-ca.pem"))
    assert wp.send_mail()["result"] is True

    token = token_endpoint.token
    forbidden = [CLIENT_SECRET, base64.b64encode(CLIENT_SECRET.encode()).decode(), token,
                 base64.b64encode(f"user={MAILBOX}\x01auth=Bearer {token}\x01\x01".encode()).decode()]
    rows = wp.log_rows()
    assert [row["error_kind"] for row in rows] == ["", "auth", "oauth", ""]
    pages = [SETTINGS, f"{SETTINGS}&diagnosis=1", LOG] + [f"{LOG}&entry={row['id']}" for row in rows]
    texts = {path: browser.get(path).text for path in pages}
    texts["log table"] = json.dumps(rows)
    for where, text in texts.items():
        for secret in forbidden:
            assert secret not in text, (where, secret[:12])
    assert "SMTP transcript" in texts[f"{LOG}&entry={rows[0]['id']}"]
    assert "AADSTS7000215" in texts[f"{LOG}&entry={rows[2]['id']}"]


def test_settings_form_keeps_the_secret_encrypted(wp, token_endpoint, m365):
    browser = wp.browser()
    page = browser.get(SETTINGS)
    assert "Set by RUST_MAIL_OAUTH_TOKEN_URL in wp-config.php." in page.text
    assert "RUST_MAIL_OAUTH_TOKEN_URL" in page.text and "OAuth2 app registration" in page.text
    assert 'id="rust-mail-oauth-client-secret"' in page.text and "saved (leave empty to keep)" in page.text
    fields = browser.form_fields(page, "rust_mail_save_settings")
    form = {"rust_mail[preset]": "m365", "rust_mail[auth]": "xoauth2", "rust_mail[username]": MAILBOX,
            "rust_mail[oauth_tenant]": "tenant.example", "rust_mail[oauth_client_id]": "client-2",
            "rust_mail[oauth_client_secret]": "NewSecret-" + CLIENT_SECRET, "rust_mail[timeout]": "30",
            "rust_mail[retention_days]": "30"}
    saved = browser.post("/wp-admin/admin-post.php", dict(fields, **form))
    assert "Settings saved." in saved.text and "NewSecret-" not in saved.text
    stored = wp.php("out(get_option('rust_mail_settings'));")
    assert stored["auth"] == "xoauth2" and stored["host"] == "smtp.office365.com"  # the preset keeps XOAUTH2
    assert stored["oauth_client_secret"].startswith("sodium2:") and CLIENT_SECRET not in json.dumps(stored)
    # A blank secret field keeps the saved one; only a constant sets the token URL.
    form.update({"rust_mail[oauth_client_secret]": "", "rust_mail[oauth_token_url]": "https://evil.example/{tenant}"})
    browser.post("/wp-admin/admin-post.php", dict(browser.form_fields(browser.get(SETTINGS), "rust_mail_save_settings"), **form))
    got = wp.php("out(array(RustMail_Settings_Store::get('oauth_client_secret'), RustMail_Settings_Store::get('oauth_tenant')));")
    assert got == ["NewSecret-" + CLIENT_SECRET, "tenant.example"]
    wp.clear_constants()
    assert wp.php("out(RustMail_OAuth_Token::token_url());") == "https://login.microsoftonline.com/tenant.example/oauth2/v2.0/token"


def test_constants_configure_the_app(wp, token_endpoint, m365):
    wp.php("update_option('rust_mail_settings', array()); out(true);")
    app = {"RUST_MAIL_DELIVERY": "immediate", "RUST_MAIL_AUTH": "xoauth2", "RUST_MAIL_USERNAME": MAILBOX,
           "RUST_MAIL_OAUTH_TENANT": TENANT,
           "RUST_MAIL_OAUTH_CLIENT_ID": CLIENT_ID, "RUST_MAIL_OAUTH_CLIENT_SECRET": CLIENT_SECRET,
           "RUST_MAIL_OAUTH_TOKEN_URL": token_endpoint.url}
    server = {"RUST_MAIL_HOST": "127.0.0.1", "RUST_MAIL_PORT": m365.port, "RUST_MAIL_SECURITY": "starttls",
              "RUST_MAIL_VERIFY_PEER": True, "RUST_MAIL_CA_FILE": str(wp.dir / "test-ca.pem"),
              "RUST_MAIL_ALLOW_INSECURE_AUTH": False}
    # The secret in wp-config.php, the server on the settings page: no token is fetched, nothing is sent.
    wp.set_constants(app)
    set_oauth_settings(wp, port=m365.port, ca_file=str(wp.dir / "test-ca.pem"))
    assert wp.send_mail()["result"] is False
    assert token_endpoint.requests == [] and m365.messages == []
    assert "Define RUST_MAIL_HOST, RUST_MAIL_PORT, RUST_MAIL_SECURITY" in wp.log_rows()[-1]["error_message"]
    wp.set_constants({**app, **server})
    assert set(wp.php("out(RustMail_Settings_Store::fixed_keys());")) >= {
        "oauth_tenant", "oauth_client_id", "oauth_client_secret", "oauth_token_url"}
    assert wp.send_mail() == {"result": True, "failed": []}
    page = wp.browser().get(SETTINGS).text
    assert "Set by RUST_MAIL_OAUTH_CLIENT_SECRET in wp-config.php." in page and CLIENT_SECRET not in page


def test_token_request_does_not_follow_a_redirect(wp, token_endpoint, m365):
    """A 307 or 308 from the token endpoint would post the client secret again, to wherever it points."""

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(307)
            self.send_header("Location", token_endpoint.url.replace("{tenant}", TENANT))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    redirector = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=redirector.serve_forever, daemon=True).start()
    try:
        wp.set_constants({"RUST_MAIL_OAUTH_TOKEN_URL": f"http://127.0.0.1:{redirector.server_address[1]}/{{tenant}}/t"})
        assert wp.send_mail()["result"] is False
    finally:
        redirector.shutdown()
        redirector.server_close()
    assert token_endpoint.requests == [] and m365.messages == []
    row = wp.log_rows()[-1]
    assert row["error_kind"] == "oauth" and "answered HTTP 307, a redirect to" in row["error_message"]
    assert CLIENT_SECRET not in json.dumps(row)


def test_uninstall_removes_the_cached_token(wp, token_endpoint, m365):
    assert wp.send_mail()["result"] is True
    assert cached(wp) is not None
    after = wp.php("""
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        deactivate_plugins('rust-mail/rust-mail.php');
        uninstall_plugin('rust-mail/rust-mail.php');
        out(get_option('rust_mail_oauth_token', 'gone'));
    """)
    assert after == "gone"
    wp.php("require_once ABSPATH . 'wp-admin/includes/plugin.php'; activate_plugin('rust-mail/rust-mail.php'); out(true);")
