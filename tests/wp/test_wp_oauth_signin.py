"""Sign in with Microsoft / Google (delegated OAuth2: authorization code + PKCE, refresh tokens) for XOAUTH2.

A real authorization server on 127.0.0.1 (tests/harness/oauth_server.py) stands in for Microsoft's and Google's,
through the RUST_MAIL_OAUTH_* constants: it shows a consent page, checks PKCE, the redirect URI and single-use codes,
rotates refresh tokens strictly (a reused one revokes the sign-in) and counts every token request. The SMTP server
(STARTTLS, XOAUTH2 only) accepts a login only with a live access token that server issued for that very mailbox."""
import base64
import html
import json
import secrets
import subprocess
import threading
import urllib.parse
import urllib.request

import pytest

from harness.oauth_server import AuthorizationServer
from harness.wpstack import ARTIFACTS, LOG, SETTINGS, Browser, run_browser

CLIENT_ID = "0d2c7a61-5b1e-4f0a-9c3d-8e7f6a5b4c3d"
CLIENT_SECRET = "Yx8~delegated-" + secrets.token_hex(12)
MAILBOX = "someone@outlook.example"
GOOGLE_MAILBOX = "shop@gmail.example"


@pytest.fixture
def auth_server(wp):
    server = AuthorizationServer("contoso.onmicrosoft.com", CLIENT_ID, CLIENT_SECRET, account=MAILBOX,
                                 redirect_uris={wp.url + "/wp-admin/admin-post.php"})
    yield server
    server.stop()


@pytest.fixture
def site(wp, auth_server, smtp_server, certs):
    """The site with XOAUTH2 chosen and the app's client ID and secret saved, nobody signed in yet, pointed at the
    local authorization server (constants) and at an SMTP server that asks it about every token. Returns that server."""
    smtp = configure(wp, auth_server, smtp_server, certs)
    wp.php("delete_metadata('user', 0, 'rust_mail_oauth_pending', '', true); out(true);")
    yield smtp
    wp.php("RustMail_OAuth_Grant::forget(); out(true);")


def configure(stack, auth_server, smtp_server, certs, **constants):
    """XOAUTH2 chosen, the app's client ID and secret saved, nobody signed in; the SMTP server that asks the
    authorization server about every token."""
    smtp = smtp_server(tls="starttls", auth={"verify": auth_server.check_access_token}, auth_mechanisms=["XOAUTH2"])
    stack.set_constants(dict(auth_server.constants(), **constants))
    stack.set_settings(oauth_client_secret=CLIENT_SECRET, port=smtp.port, security="starttls", auth="xoauth2",
                       username="", oauth_client_id=CLIENT_ID, ca_file=stack.site_ca(certs), pool=False)
    stack.php("RustMail_OAuth_Grant::forget(); out(true);")
    return smtp


def consent(browser, auth_server, page, decision="accept"):
    """On the authorization server's page: accept (or cancel); returns the address it sends the browser back to."""
    assert page.status == 200 and "Sign in to" in page.text, page.text[:500]
    fields = browser.form_fields(page, "accept")
    fields["decision"] = decision
    answer = browser.post(auth_server.base + "/consent", fields, follow=False)
    assert answer.status == 302
    return answer.headers["Location"]


def start(browser, provider="microsoft"):
    """Clicks "Sign in with ...": the browser ends on the provider's consent page."""
    fields = browser.form_fields(browser.get(SETTINGS), "rust_mail_oauth_signin")
    fields["provider"] = provider
    return browser.post("/wp-admin/admin-post.php", fields)


def sign_in(browser, auth_server, provider="microsoft"):
    """The whole sign-in over HTTP; returns the settings page it lands on."""
    callback = consent(browser, auth_server, start(browser, provider))
    return browser.get(callback)



def grant(wp):
    return wp.php("out(RustMail_OAuth_Grant::get());")


def stored_refresh_token(wp):
    return wp.php("$g = RustMail_OAuth_Grant::get(); out(RustMail_Settings_Secrets::decrypt($g['refresh'], 'oauth_refresh_token'));")


@pytest.mark.soak  # headless Chromium
def test_browser_signs_in_with_microsoft_and_sends_a_test_mail(wp, auth_server, site):
    """Headless Chromium: the admin clicks "Sign in with Microsoft", consents, lands back connected, sends a test mail."""
    output = run_browser(wp, "oauth.mjs", MAILBOX=MAILBOX, TEST_TO="inbox@example.com")
    assert "oauth e2e: ok" in output
    # What the SMTP server saw: an XOAUTH2 login as the mailbox with a token the authorization server issued.
    [message] = site.messages
    assert message.rcpt_tos == ["inbox@example.com"] and message.tls and message.auth_user == MAILBOX
    assert [(a.mechanism, a.user, a.success) for a in site.auth_attempts] == [("XOAUTH2", MAILBOX, True)]
    [exchange] = auth_server.grant_requests("authorization_code")
    assert exchange["redirect_uri"] == wp.url + "/wp-admin/admin-post.php" and len(exchange["code_verifier"]) == 43
    # The code's access token was used for the mail: no refresh yet.
    assert auth_server.grant_requests("refresh_token") == []
    record = grant(wp)
    assert record["provider"] == "microsoft" and record["account"] == MAILBOX and record["tenant"] == "common"
    assert record["refresh"].startswith("sodium2:") and stored_refresh_token(wp) == auth_server.current_refresh_token(MAILBOX)
    assert wp.php("out(RustMail_Settings_Store::get('username'));") == MAILBOX
    for shot in ["oauth-sign-in-buttons.png", "oauth-consent.png", "oauth-connected-notice.png", "oauth-connected.png",
                 "oauth-test-mail-sent.png"]:
        assert (ARTIFACTS / shot).stat().st_size > 0


def test_google_sign_in_then_refresh_before_expiry(wp, auth_server, site):
    auth_server.account = GOOGLE_MAILBOX
    page = sign_in(wp.browser(), auth_server, "google")
    assert f"Signed in with Google as {GOOGLE_MAILBOX}." in page.text
    assert wp.send_mail("Through Google") == {"result": True, "failed": []}
    # Five minutes before the access token expires it is renewed, before a mail could fail with it.
    wp.php("$c = get_option('rust_mail_oauth_token'); $c['expires'] = time() - 1; update_option('rust_mail_oauth_token', $c); out(true);")
    first_refresh = auth_server.current_refresh_token(GOOGLE_MAILBOX)
    assert wp.send_mail("After the refresh") == {"result": True, "failed": []}
    [refresh] = auth_server.grant_requests("refresh_token")
    assert refresh["path"] == "/google/token" and refresh["refresh_token"] == first_refresh
    assert refresh["scope"] == "https://mail.google.com/ openid email" and refresh["client_secret"] == CLIENT_SECRET
    # The rotated refresh token is the one kept.
    assert stored_refresh_token(wp) == auth_server.current_refresh_token(GOOGLE_MAILBOX) != first_refresh
    assert [m.auth_user for m in site.messages] == [GOOGLE_MAILBOX] * 2
    assert [row["status"] for row in wp.log_rows()] == ["sent", "sent"]
    assert grant(wp)["refreshed"] >= grant(wp)["connected"]


def test_refused_access_token_is_renewed_and_the_same_mail_goes_out(wp, engine, auth_server, site):
    sign_in(wp.browser(), auth_server)
    auth_server.invalidate_access_tokens()
    assert wp.send_mail("Refused token, then a new one") == {"result": True, "failed": []}
    assert len(auth_server.grant_requests("refresh_token")) == 1
    assert [(a.user, a.success) for a in site.auth_attempts] == [(MAILBOX, False), (MAILBOX, True)]
    assert [m.message["Subject"] for m in site.messages] == ["Refused token, then a new one"]
    assert [(row["status"], row["error_kind"]) for row in wp.log_rows()] == [("sent", "")]


def test_rotated_refresh_token_survives_two_concurrent_workers(wp, auth_server, site):
    """Two PHP-FPM workers need a new access token at the same moment: one refreshes, the other waits for its token.
    The server revokes the whole sign-in if a rotated refresh token is spent twice, so a lost race shows."""
    sign_in(wp.browser(), auth_server)
    wp.php("RustMail_OAuth_Token::forget(); out(true);")
    auth_server.refresh_delay = 1.5
    results = {}

    def load(name):
        try:
            with urllib.request.urlopen(f"{wp.url}/?rust_mail_load={name}", timeout=60) as response:
                results[name] = response.read().decode().strip()
        except urllib.error.HTTPError as error:  # 500: "failed <name>"
            results[name] = error.read().decode().strip()

    threads = [threading.Thread(target=load, args=(name,)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {"one": "sent one", "two": "sent two"}
    assert len(auth_server.grant_requests("refresh_token")) == 1
    assert sorted(m.message["Subject"] for m in site.messages) == ["rust_mail_load one", "rust_mail_load two"]
    assert all(a.success and a.user == MAILBOX for a in site.auth_attempts)
    # The rotated token was kept: the next refresh works with it.
    assert stored_refresh_token(wp) == auth_server.current_refresh_token(MAILBOX)
    auth_server.refresh_delay = 0
    wp.php("RustMail_OAuth_Token::forget(); out(true);")
    assert wp.send_mail("Third")["result"] is True
    assert len(auth_server.grant_requests("refresh_token")) == 2
    assert not any(f["revoked"] for f in auth_server.families.values())
    record = grant(wp)
    assert record["lock"] == "" and record["revoked"] == ""


def test_revoked_sign_in_is_its_own_cause_and_asks_nothing_more(wp, auth_server, site):
    browser = wp.browser()
    sign_in(browser, auth_server)
    assert wp.send_mail("Before")["result"] is True
    auth_server.revoke(MAILBOX)
    # The cached access token is refused (535): it is dropped and the refresh for a second try is refused.
    outcome = wp.send_mail("Refresh refused")
    assert outcome["result"] is False
    assert "no longer accepts the mailbox's sign-in (invalid_grant: AADSTS70008" in outcome["failed"][0]
    assert "Sign in again" in outcome["failed"][0]
    assert len(auth_server.grant_requests("refresh_token")) == 1
    # Until the next sign-in, mail fails with the same cause without asking the authorization server.
    assert wp.send_mail("Still refused")["result"] is False
    assert len(auth_server.grant_requests("refresh_token")) == 1
    rows = wp.log_rows()
    assert [(r["subject"], r["error_kind"]) for r in rows] == [
        ("Before", ""), ("Refresh refused", "oauth_grant_revoked"), ("Still refused", "oauth_grant_revoked")]
    assert [(a.user, a.success) for a in site.auth_attempts] == [(MAILBOX, True), (MAILBOX, False)]
    assert rows[-1]["error_cause"] == "oauth_grant_revoked" and "Sign in again" in rows[-1]["error_message"]
    entry = browser.get(f"{LOG}&entry={rows[-1]['id']}").text
    assert "Sign in again with the button on the Rust Mail settings page" in entry
    # The admin notice (on every admin page), the settings page, Diagnose and Site Health say it too.
    dashboard = browser.get("/wp-admin/").text
    assert "rust-mail-oauth-notice" in dashboard and "Sign in again" in dashboard
    settings = browser.get(SETTINGS).text
    assert "rust-mail-oauth-revoked" in settings and "Sign in again with Microsoft" in settings
    diagnosis = browser.post("/wp-admin/admin-post.php", browser.form_fields(browser.get(SETTINGS), "rust_mail_diagnose"))
    assert "<code>oauth_grant_revoked</code>" in diagnosis.text and "Sign in again with the button" in diagnosis.text
    # Site Health runs its direct tests when its page is built and hands their results to its script.
    health = browser.get("/wp-admin/site-health.php").text
    assert '"test":"rust_mail_oauth"' in health and "sign-in no longer works: sign in again" in health
    assert len(auth_server.grant_requests("refresh_token")) == 1
    # Signed in again: mail goes out.
    sign_in(browser, auth_server)
    assert wp.send_mail("After signing in again")["result"] is True
    assert "rust-mail-oauth-notice" not in browser.get("/wp-admin/").text


def test_wrong_state_replayed_code_and_another_session_are_refused(wp, auth_server, site):
    browser = wp.browser()
    callback = consent(browser, auth_server, start(browser))
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))
    refused = "The sign-in was refused: it was not started from this browser session"
    # A state this session did not start.
    forged = callback.replace(query["state"], secrets.token_urlsafe(32))
    page = browser.get(forged)
    assert refused in page.text and page.url.endswith(SETTINGS)
    # The right state from another login session of the same admin.
    assert refused in wp.browser().get(callback).text
    assert auth_server.grant_requests("authorization_code") == [] and grant(wp) is None
    # The real one, once.
    assert f"Signed in with Microsoft as {MAILBOX}." in browser.get(callback).text
    assert len(auth_server.grant_requests("authorization_code")) == 1
    # Replayed: the state was used up, so the code is not even sent again.
    assert refused in browser.get(callback).text
    assert len(auth_server.grant_requests("authorization_code")) == 1
    # A sign-in that took longer than ten minutes.
    callback = consent(browser, auth_server, start(browser))
    wp.php("$u = get_user_by('login', 'admin')->ID; $p = get_user_meta($u, 'rust_mail_oauth_pending', true);"
           "$p['expires'] = time() - 1; update_user_meta($u, 'rust_mail_oauth_pending', $p); out(true);")
    assert refused in browser.get(callback).text
    assert len(auth_server.grant_requests("authorization_code")) == 1
    # A code the server refuses (here a code it never issued) says why.
    callback = consent(browser, auth_server, start(browser))
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))["state"]
    page = browser.get(f"{wp.url}/wp-admin/admin-post.php?code=M.Cnot-issued&state={state}")
    assert "The sign-in could not be completed: Microsoft refused the authorization code (invalid_grant: AADSTS9002313" in page.text
    assert "Sign in again with the button on the Rust Mail settings page" in page.text  # its advice
    # Sent back without consent (a tenant whose users may not consent to apps): the advice is an administrator's consent.
    callback = consent(browser, auth_server, start(browser))
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))["state"]
    page = browser.get(f"{wp.url}/wp-admin/admin-post.php?error=consent_required&error_description="
                       + urllib.parse.quote("AADSTS65001: The user or administrator has not consented to use the application.")
                       + f"&state={state}")
    assert "Microsoft did not sign you in: AADSTS65001" in page.text and "Grant admin consent" in page.text
    # Cancelled on the provider's page.
    callback = consent(browser, auth_server, start(browser), decision="cancel")
    assert "Microsoft did not sign you in: The user cancelled the sign-in." in browser.get(callback).text
    # Disconnect forgets it.
    page = browser.get(SETTINGS)
    assert "Disconnect" in page.text
    page = browser.post("/wp-admin/admin-post.php", browser.form_fields(page, "rust_mail_oauth_disconnect"))
    assert "Disconnected" in page.text and grant(wp) is None and "Sign in with Microsoft" in page.text


def disconnect(browser):
    """Clicks Disconnect on the settings page; the page it lands on."""
    return browser.post("/wp-admin/admin-post.php", browser.form_fields(browser.get(SETTINGS), "rust_mail_oauth_disconnect"))


def test_disconnect_revokes_a_google_sign_in_at_google(wp, auth_server, site):
    auth_server.account = GOOGLE_MAILBOX
    browser = wp.browser()
    sign_in(browser, auth_server, "google")
    assert wp.send_mail("Before disconnecting")["result"] is True
    refresh_token = stored_refresh_token(wp)
    assert "Disconnect also asks Google to revoke the sign-in." in browser.get(SETTINGS).text
    page = disconnect(browser)
    assert ("Disconnected: the site no longer keeps the mailbox's sign-in. Google revoked it too: its tokens no longer "
            "work anywhere.") in html.unescape(page.text)
    # Google got the refresh token the site held, and the sign-in is over there too.
    assert auth_server.revocations == [{"path": "/google/revoke", "token": refresh_token}]
    assert auth_server.current_refresh_token(GOOGLE_MAILBOX) is None and grant(wp) is None
    # No token the server issued is on a page or in a log on the way.
    texts = {"settings": page.text, "log": wp.browser().get(LOG).text}
    for log in (wp.dir / "logs").glob("*.log"):
        texts[log.name] = log.read_text(errors="replace")
    for where, text in texts.items():
        for token in auth_server.issued:
            assert token not in text, (where, token[:8])


def test_disconnect_when_google_cannot_be_reached_still_forgets_and_says_so(wp, auth_server, site):
    auth_server.account = GOOGLE_MAILBOX
    browser = wp.browser()
    sign_in(browser, auth_server, "google")
    refresh_token = stored_refresh_token(wp)
    wp.set_constants(dict(auth_server.constants(), RUST_MAIL_OAUTH_GOOGLE_REVOKE_URL="http://127.0.0.1:9/google/revoke"))
    page = html.unescape(disconnect(browser).text)
    assert "But Google did not confirm that it revoked it (Could not reach the OAuth2 token endpoint http://127.0.0.1:9/" in page
    assert "Google Account" in page and refresh_token not in page and grant(wp) is None


def test_disconnect_of_a_microsoft_sign_in_says_microsoft_cannot_revoke_it(wp, auth_server, site):
    browser = wp.browser()
    sign_in(browser, auth_server)
    assert "Microsoft offers apps no way to revoke a refresh token" in browser.get(SETTINGS).text
    page = html.unescape(disconnect(browser).text)
    assert ("Disconnected: the site no longer keeps the mailbox's sign-in. Microsoft offers apps no way to revoke a "
            "refresh token: the one the site held stays valid until it expires (90 days unused).") in page
    # Nothing was sent to revoke, and the token indeed still works at Microsoft's stand-in.
    assert auth_server.revocations == [] and auth_server.current_refresh_token(MAILBOX) is not None
    assert grant(wp) is None


def test_subscriber_can_neither_start_nor_complete_a_sign_in(wp, auth_server, site):
    wp.php("""
        $id = username_exists('subscriber1') ?: wp_insert_user(array('user_login' => 'subscriber1', 'user_pass' => 'subscriber1-pass-123',
                                                                     'role' => 'subscriber', 'user_email' => 'subscriber1@example.com'));
        out($id);
    """)
    subscriber = wp.browser("subscriber1", "subscriber1-pass-123")
    nonces = wp.php("wp_set_current_user(get_user_by('login', 'subscriber1')->ID);"
                    "out(array(wp_create_nonce('rust_mail_oauth_signin'), wp_create_nonce('rust_mail_oauth_disconnect')));")
    for action, nonce in zip(["rust_mail_oauth_signin", "rust_mail_oauth_disconnect"], nonces):
        page = subscriber.post("/wp-admin/admin-post.php", {"action": action, "_wpnonce": nonce, "provider": "microsoft"}, follow=False)
        assert page.status == 403, action
    assert wp.php("out(get_user_meta(get_user_by('login', 'subscriber1')->ID, 'rust_mail_oauth_pending', true));") == ""
    # The admin's own callback, stolen: the subscriber's request stops at the capability check and uses nothing up.
    admin = wp.browser()
    callback = consent(admin, auth_server, start(admin))
    page = subscriber.get(callback, follow=False)
    assert page.status == 403
    assert Browser(wp.url).get(callback, follow=False).status != 302
    assert auth_server.grant_requests("authorization_code") == [] and grant(wp) is None
    assert f"Signed in with Microsoft as {MAILBOX}." in admin.get(callback).text


def test_no_token_or_secret_in_any_page_log_row_transcript_or_file(wp, auth_server, site):
    browser = wp.browser()
    sign_in(browser, auth_server)
    fields = browser.form_fields(browser.get(SETTINGS), "rust_mail_send_test")
    fields["test_to"] = "inbox@example.com"
    assert "Test mail sent to inbox@example.com." in browser.post("/wp-admin/admin-post.php", fields).text
    browser.post("/wp-admin/admin-post.php", browser.form_fields(browser.get(SETTINGS), "rust_mail_diagnose"))
    wp.php("RustMail_OAuth_Token::forget(); out(true);")
    assert wp.send_mail("Refreshed")["result"] is True
    auth_server.revoke(MAILBOX)
    assert wp.send_mail("Refused")["result"] is False
    assert wp.send_mail("Revoked")["result"] is False

    forbidden = [CLIENT_SECRET, base64.b64encode(CLIENT_SECRET.encode()).decode()]
    for token in auth_server.issued:
        forbidden += [token, base64.b64encode(f"user={MAILBOX}\x01auth=Bearer {token}\x01\x01".encode()).decode()]
    assert len(auth_server.issued) >= 4
    rows = wp.log_rows()
    assert [r["status"] for r in rows] == ["sent", "sent", "failed", "failed"]
    assert all(r["transcript"] for r in rows[:3])
    texts = {path: browser.get(path).text for path in
             [SETTINGS, f"{SETTINGS}&diagnosis=1", LOG, "/wp-admin/"] + [f"{LOG}&entry={r['id']}" for r in rows]}
    texts["log table"] = json.dumps(rows)
    texts["grant record"] = json.dumps(grant(wp))
    # A failed message's bytes are kept sealed as bytes: decoded leniently, every text secret still shows.
    texts["database"] = subprocess.run(["mysqldump", "-uroot", "--skip-extended-insert", wp.env["DB_NAME"]],
                                       capture_output=True, encoding="utf-8", errors="replace", check=True).stdout
    for log in (wp.dir / "logs").glob("*.log"):
        texts[log.name] = log.read_text(errors="replace")
    assert "rust_mail_oauth_grant" in texts["database"] and "SMTP transcript" in texts[f"{LOG}&entry={rows[0]['id']}"]
    for where, text in texts.items():
        for secret in forbidden:
            assert secret not in text, (where, secret[:12])
    # And the plugin's code raised no PHP warning or notice on the way.
    assert "plugins/rust-mail/" not in texts.get("php-errors.log", ""), texts.get("php-errors.log")


def test_multisite_sign_in_is_the_network_admins_alone(wp_network, smtp_server, certs):
    """On a network the sign-in is the network's (a network option, the network admin screen): the administrator of
    /site2/ can neither start nor complete one, and site 2's mail goes out with the network's sign-in."""
    net = wp_network
    net.clear_constants()
    auth_server = AuthorizationServer("contoso.onmicrosoft.com", CLIENT_ID, CLIENT_SECRET, account=MAILBOX,
                                      redirect_uris={net.url + "/wp-admin/admin-post.php"})
    try:
        # The stack blocks outgoing HTTP but to its own host; the network's is another loopback address.
        smtp = configure(net, auth_server, smtp_server, certs, WP_ACCESSIBLE_HOSTS="127.0.0.1")
        site_admin = net.browser("siteadmin", net.site_admin_password)
        nonce = net.php("switch_to_blog(2); wp_set_current_user(get_user_by('login', 'siteadmin')->ID);"
                        "out(wp_create_nonce('rust_mail_oauth_signin'));")
        page = site_admin.post("/site2/wp-admin/admin-post.php", {"action": "rust_mail_oauth_signin", "_wpnonce": nonce,
                                                                  "provider": "microsoft"}, follow=False)
        assert page.status == 403
        admin = net.browser()
        network_settings = "/wp-admin/network/admin.php?page=rust-mail"
        fields = admin.form_fields(admin.get(network_settings), "rust_mail_oauth_signin")
        callback = consent(admin, auth_server, admin.post("/wp-admin/admin-post.php", dict(fields, provider="microsoft")))
        assert site_admin.get(callback, follow=False).status == 403
        landed = admin.get(callback)
        assert landed.url.endswith(network_settings) and f"Signed in with Microsoft as {MAILBOX}." in landed.text
        stored = net.php("out(array(get_site_option('rust_mail_oauth_grant')['account'], get_option('rust_mail_oauth_grant', 'none')));")
        assert stored == [MAILBOX, "none"]
        assert net.php("switch_to_blog(2); out(wp_mail('x@example.com', 'From site 2', 'y'));") is True
        assert [m.auth_user for m in smtp.messages] == [MAILBOX]
    finally:
        net.php("RustMail_OAuth_Grant::forget(); out(true);")
        net.clear_constants()
        auth_server.stop()


def test_uninstall_removes_the_sign_in(wp, auth_server, site):
    browser = wp.browser()
    sign_in(browser, auth_server)
    start(browser)  # a sign-in under way: its state and verifier in user meta
    after = wp.php("""
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        deactivate_plugins('rust-mail/rust-mail.php');
        uninstall_plugin('rust-mail/rust-mail.php');
        global $wpdb;
        out(array(get_option('rust_mail_oauth_grant', 'gone'), get_option('rust_mail_oauth_token', 'gone'),
                  (int) $wpdb->get_var("SELECT COUNT(*) FROM $wpdb->usermeta WHERE meta_key LIKE 'rust_mail_oauth%'")));
    """)
    wp.php("require_once ABSPATH . 'wp-admin/includes/plugin.php'; activate_plugin('rust-mail/rust-mail.php'); out(true);")
    assert after == ["gone", "gone", 0]


def test_uninstall_revokes_a_google_sign_in_before_deleting_it(wp, auth_server, site):
    auth_server.account = GOOGLE_MAILBOX
    sign_in(wp.browser(), auth_server, "google")
    refresh_token = stored_refresh_token(wp)
    try:
        gone = wp.php("""
            require_once ABSPATH . 'wp-admin/includes/plugin.php';
            deactivate_plugins('rust-mail/rust-mail.php');
            uninstall_plugin('rust-mail/rust-mail.php');
            out(get_option('rust_mail_oauth_grant', 'gone'));
        """)
    finally:
        wp.php("require_once ABSPATH . 'wp-admin/includes/plugin.php'; activate_plugin('rust-mail/rust-mail.php'); out(true);")
    assert gone == "gone"
    assert auth_server.revocations == [{"path": "/google/revoke", "token": refresh_token}]
    assert auth_server.current_refresh_token(GOOGLE_MAILBOX) is None
