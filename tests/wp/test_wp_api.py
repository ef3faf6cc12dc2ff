"""Issue 21's "Done when": a site whose SMTP ports are all blocked sends every wp_mail() through Microsoft Graph, with
the log, retries (Retry-After), the fallback (across kinds) and explanations working as they do over SMTP.

The WordPress PHP that sends and drains runs in a network namespace with only its loopback, where iptables rejects
tcp 25, 465 and 587 (as the diagnosis tests firewall theirs); MariaDB is reached over its Unix socket, and the Graph
contract server (harness/api_servers.py) listens inside the same namespace. Each test runs on both engines: the
extension, and PHPMailer's engine, which posts to the API with WordPress's HTTP API."""
import base64
import contextlib
import email
import email.policy
import html
import json
import re
import secrets
import subprocess
import time
from pathlib import Path

import pytest

from harness.api_servers import GmailServer, GraphServer, MailgunServer
from harness.diag_servers import NetNamespace
from harness.oauth_server import AuthorizationServer, GRAPH_APP_ONLY_SCOPE
from harness.wpstack import LOG, SETTINGS, php_string

TESTS = Path(__file__).resolve().parents[1]
DRAIN = "wp-content/plugins/rust-mail/cli/drain.php"
SMTP_PORTS = (25, 465, 587)
MAILBOX = "alice@contoso.example"
TOKEN = "graph-token-" + secrets.token_hex(12)
TENANT = "contoso.onmicrosoft.com"
CLIENT_ID = "6f1c0b9e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"
CLIENT_SECRET = "Q~s3cret-" + secrets.token_hex(12)


class NamespacedApi:
    """A contract server (tests/harness/serve_api.py) listening inside a network namespace, scripted over a pipe."""

    def __init__(self, namespace, api, certs, **options):
        cert, key = certs.pair("good")
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", namespace.name, "/usr/bin/python3", "-m", "harness.serve_api", api, cert, key,
             json.dumps(options)], cwd=TESTS, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = int(self.process.stdout.readline())
        self.base = f"https://127.0.0.1:{self.port}"

    def ask(self, *command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def queue(self, name, count=1, **params):
        self.ask("queue", name, count, params)

    def always(self, name, **params):
        self.ask("always", name, params)

    def requests(self):
        return self.ask("requests")

    def messages(self):
        """The messages it accepted, decoded from the request bodies."""
        return [email.message_from_bytes(base64.b64decode(r["mime"]), policy=email.policy.default)
                for r in self.requests() if r["status"] and 200 <= r["status"] < 300]

    def violations(self):
        return self.ask("violations")

    def stop(self):
        self.process.stdin.close()
        self.process.wait(10)


@pytest.fixture
def blocked():
    """A namespace whose SMTP ports are all blocked: a connect to 25, 465 or 587 is refused at once."""
    namespace = NetNamespace()
    try:
        for port in SMTP_PORTS:
            namespace.reject(port)
        yield namespace
    finally:
        namespace.destroy()


@pytest.fixture
def graph(blocked, certs):
    server = NamespacedApi(blocked, "graph", certs, mailbox=MAILBOX, tokens=[TOKEN])
    yield server
    assert server.violations() == []
    server.stop()


@pytest.fixture
def site(wp, engine, graph, certs):
    """The site sending through Graph (a bearer token as the password), queued, retrying at once unless the API said
    when (Retry-After), WP-Cron off: the tests drain in the namespace themselves."""
    wp.set_constants({"DISABLE_WP_CRON": True, "RUST_MAIL_TEST_RETRY_DELAY": 0})
    wp.ca_file = wp.site_ca(certs)
    return wp


def graph_settings(wp, graph, prefix="", **values):
    """The settings of a Graph connection (the primary's, or with prefix 'fallback_' the fallback's)."""
    settings = {"api": "graph", "api_base": graph.base, "username": MAILBOX, "ca_file": wp.ca_file,
                "verify_peer": True, "timeout": 10}
    return {prefix + key: value for key, value in settings.items()} | values


def store(wp, secrets_by_key=None, **settings):
    """The settings, with secrets stored encrypted as the page stores them (the fallback's password too)."""
    code = wp.settings_code(**settings)
    for key, secret in (secrets_by_key or {}).items():
        code += (f" $s['{key}'] = RustMail_Settings_Secrets::encrypt({php_string(secret)}, '{key}');"
                 " RustMail_Settings_Store::update_plugin_option(RustMail_Settings_Store::OPTION, $s);")
    wp.php(code + " out(true);")


def wp_mail_in(wp, namespace, subject, headers=()):
    """wp_mail() in the namespace, with a Cc and a Bcc; what it returned."""
    headers_php = "array(" + ", ".join(php_string(h) for h in headers) + ")"
    return wp.php(f"out(wp_mail('to@example.com', {php_string(subject)}, 'Body of ' . {php_string(subject)}, {headers_php}));",
                  namespace=namespace.name)


def drain_in(wp, namespace):
    run = subprocess.run(["ip", "netns", "exec", namespace.name, str(wp.dir / "bin" / "php"), str(wp.wp / DRAIN),
                          str(wp.wp), wp.host], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def transcript_lines(row):
    return [entry["line"] for entry in json.loads(row["transcript"] or "[]")]


def test_every_wp_mail_goes_through_graph_when_the_smtp_ports_are_blocked(site, engine, blocked, graph):
    store(site, {"password": TOKEN}, **graph_settings(site, graph, preset="m365_graph", delivery="queued"))
    assert wp_mail_in(site, blocked, "First over Graph", ["Cc: cc@example.com", "Bcc: hidden@example.com"]) is True
    assert wp_mail_in(site, blocked, "Second over Graph") is True
    requests = graph.requests()
    assert [(r["method"], r["mailbox"], r["content_type"], r["status"]) for r in requests] == \
        [("POST", MAILBOX, "text/plain", 202)] * 2
    first, second = graph.messages()
    assert (first["Subject"], first["To"], first["Cc"], first.get_all("Bcc")) == \
        ("First over Graph", "to@example.com", "cc@example.com", ["hidden@example.com"])
    assert (second["Subject"], second["To"], second["Bcc"]) == ("Second over Graph", "to@example.com", None)
    assert "Body of First over Graph" in first.get_body().get_content()
    rows = site.log_rows()
    assert [(r["status"], r["connection"], r["smtp_code"], r["error_kind"]) for r in rows] == \
        [("sent", "primary", "202", "")] * 2
    assert [json.loads(r["attempt_log"])[-1]["engine"] for r in rows] == [engine] * 2
    assert any(line.startswith("POST ") and "/v1.0/users/" in line and "/sendMail" in line for line in transcript_lines(rows[0]))
    assert TOKEN not in json.dumps(rows)
    page = site.browser().get(f"{LOG}&entry={rows[0]['id']}").text
    assert "sendMail" in page and TOKEN not in page


def test_a_429_is_retried_no_earlier_than_its_retry_after_then_sent(site, blocked, graph):
    store(site, {"password": TOKEN}, **graph_settings(site, graph, delivery="queued"))
    graph.queue("throttled", retry_after=3)
    assert wp_mail_in(site, blocked, "Throttled once") is True
    deadline = time.monotonic() + 20
    while site.log_rows()[0]["status"] != "sent" and time.monotonic() < deadline:
        [row] = site.log_rows()
        if row["status"] == "queued":
            # RUST_MAIL_TEST_RETRY_DELAY is 0: only Retry-After holds the message back.
            assert row["next_attempt_at"] is not None and row["error_kind"] != ""
        drain_in(site, blocked)
        time.sleep(0.5)
    [row] = site.log_rows()
    assert row["status"] == "sent", row
    requests = graph.requests()
    assert [r["status"] for r in requests] == [429, 202]
    assert requests[1]["at"] - requests[0]["at"] >= 3, requests
    assert [m["Subject"] for m in graph.messages()] == ["Throttled once"]


def test_a_blocked_smtp_primary_falls_back_to_graph(site, blocked, graph):
    settings = graph_settings(site, graph, prefix="fallback_", host="127.0.0.1", port=587, security="none", auth="none",
                              delivery="immediate")
    store(site, {"fallback_password": TOKEN}, **settings)
    assert wp_mail_in(site, blocked, "Fallback over Graph") is True
    assert [m["Subject"] for m in graph.messages()] == ["Fallback over Graph"]
    [row] = site.log_rows()
    assert (row["status"], row["connection"]) == ("sent", "fallback")
    attempts = json.loads(row["attempt_log"])
    assert [(a["connection"], a["ok"], a["error_kind"]) for a in attempts] == \
        [("primary", False, "connect_refused"), ("fallback", True, "")]


def test_graph_unavailable_falls_back_to_smtp_on_an_open_port(site, blocked, graph):
    blocked.smtp_sink(2525)
    graph.always("unavailable", retry_after=120)
    store(site, {"password": TOKEN}, **graph_settings(
        site, graph, delivery="immediate", fallback_host="127.0.0.1", fallback_port=2525, fallback_security="none",
        fallback_auth="none"))
    assert wp_mail_in(site, blocked, "Fallback over SMTP") is True
    [row] = site.log_rows()
    assert (row["status"], row["connection"]) == ("sent", "fallback")
    attempts = json.loads(row["attempt_log"])
    assert [(a["connection"], a["ok"], a["code"]) for a in attempts] == [("primary", False, 503), ("fallback", True, 250)]


def test_send_as_denied_gives_the_log_its_cause_and_advice(site, engine, blocked, graph):
    graph.always("send_as_denied")
    store(site, {"password": TOKEN}, **graph_settings(site, graph, delivery="immediate"))
    assert wp_mail_in(site, blocked, "Not allowed") is False
    [row] = site.log_rows()
    assert (row["status"], row["error_cause"], row["smtp_code"], row["enhanced_code"]) == \
        ("failed", "sender_not_allowed", "403", "ErrorSendAsDenied")
    explanation = site.php(f"global $wpdb; out(RustMail_Log_Explainer::for_entry($wpdb->get_row('SELECT * FROM ' . "
                           f"RustMail_Log_Store::table() . ' WHERE id = {int(row['id'])}', ARRAY_A)));")
    assert explanation["code"] == "sender_not_allowed" and explanation["advice"], explanation
    page = site.browser().get(f"{LOG}&entry={row['id']}").text
    for text in [explanation["cause"], *explanation["advice"]]:
        assert html.escape(text, quote=True).replace("&#x27;", "&#039;") in page, text


def test_invalid_recipients_rejects_every_recipient_with_the_reply(site, engine, blocked, graph):
    """Graph's ErrorInvalidRecipients refuses the whole request: both engines put every envelope recipient in
    `rejected`, each with the reply line, as the extension does."""
    graph.always("invalid_recipients")
    store(site, {"password": TOKEN}, **graph_settings(site, graph, delivery="immediate"))
    wp_mail_in(site, blocked, "Nobody resolves", ["Cc: cc@example.com", "Bcc: hidden@example.com"])
    status, code, words = GraphServer.ERRORS["invalid_recipients"]
    reply = f"{status} {code}: {words}"
    row = site.log_rows()[0]
    attempt = json.loads(row["attempt_log"])[0]
    assert (attempt["engine"], attempt["error_cause"], attempt["reply"]) == (engine, "recipient_rejected", reply)
    assert attempt["rejected"] == dict.fromkeys(["to@example.com", "cc@example.com", "hidden@example.com"], reply)
    # The HTTP 400 is no SMTP 4xx: the row failed for good, and lists every recipient as refused for good.
    assert row["status"] == "failed"
    assert row["error_message"].splitlines()[1:] == [
        f"{address}: {reply}" for address in ("to@example.com", "cc@example.com", "hidden@example.com")]


@contextlib.contextmanager
def graph_app_only_site(wp, certs):
    """The Graph preset with the app's tenant, client ID and secret, pointed at an OAuth2 server that issues the
    app-only token and a Graph server that checks it and its roles: (that OAuth2 server, that Graph server)."""
    endpoint = AuthorizationServer(TENANT, CLIENT_ID, CLIENT_SECRET)
    server = GraphServer(certs, mailbox=MAILBOX, check_token=endpoint.check_access_token,
                         permissions=endpoint.token_permissions)
    try:
        wp.set_constants({"RUST_MAIL_OAUTH_TOKEN_URL": endpoint.url})
        wp.php("RustMail_OAuth_Token::forget(); out(true);")
        store(wp, {"oauth_client_secret": CLIENT_SECRET}, api="graph", api_base=server.base, username=MAILBOX,
              ca_file=wp.site_ca(certs), oauth_tenant=TENANT, oauth_client_id=CLIENT_ID, preset="m365_graph")
        yield endpoint, server
    finally:
        server.stop()
        endpoint.stop()


def test_the_graph_preset_takes_the_apps_token_for_graph(wp, engine, certs):
    """App-only Graph: client credentials with the scope https://graph.microsoft.com/.default, its token as bearer."""
    with graph_app_only_site(wp, certs) as (endpoint, server):
        assert wp.send_mail("App-only") == {"result": True, "failed": []}
        assert wp.send_mail("App-only again") == {"result": True, "failed": []}
        assert [r["scope"] for r in endpoint.requests] == [GRAPH_APP_ONLY_SCOPE]  # fetched once, then cached
        assert [m.message["Subject"] for m in server.messages()] == ["App-only", "App-only again"]
        assert server.violations == []


def diagnose_on_the_page(wp):
    """Submits the settings page's Diagnose form as the admin; the page it ends on, and its steps table's rows."""
    browser = wp.browser()
    page = browser.post("/wp-admin/admin-post.php", browser.form_fields(browser.get(SETTINGS), "rust_mail_diagnose"))
    assert page.status == 200 and "rust-mail-steps" in page.text, page.text[:2000]
    table = page.text.split('class="widefat striped rust-mail-steps"', 1)[1].split("</table>", 1)[0]
    # Each row: the step and status as code (data-step, data-status), then label, result, time and detail in words.
    rows = re.findall(r'<tr data-step="([^"]*)" data-status="([^"]*)">(.*?)</tr>', table.split("<tbody>", 1)[1], re.S)
    steps = {}
    for step, status, cells in rows:
        words = [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td>(.*?)</td>", cells, re.S)]
        assert words[0] != step and words[1] in ("Passed", "Failed", "Warning", "Not tried"), words  # words, not code
        steps[step] = (status, words[3])
    return html.unescape(page.text), steps


def test_diagnose_walks_a_graph_connection_and_reads_the_apps_token(wp, certs):
    """The Diagnose button of a Graph (app-only) connection walks it: dns, tcp, tls, the token the plugin fetched and
    its Mail.Send role, sending nothing; an app without Mail.Send is named as such, with what to change."""
    with graph_app_only_site(wp, certs) as (endpoint, server):
        page, steps = diagnose_on_the_page(wp)
        assert "The connection works." in page and "Cause:" not in page, page  # no "Cause: ok"
        assert list(steps) == ["dns", "tcp", "tls", "token", "permission", "send"]
        assert [status for status, _ in steps.values()] == ["ok", "ok", "ok", "ok", "ok", "skip"], steps
        assert steps["permission"][1] == "the app-only token has the application permission Mail.Send"
        assert steps["token"][1].startswith("a JWT access token for https://graph.microsoft.com, expires in")
        assert server.requests == []                       # nothing sent
        assert [r["scope"] for r in endpoint.requests] == [GRAPH_APP_ONLY_SCOPE]

        endpoint.app_roles = ["Mail.ReadWrite"]
        wp.php("RustMail_OAuth_Token::forget(); out(true);")
        page, steps = diagnose_on_the_page(wp)
        assert "The connection has a problem." in page and "api_permission_missing" in page, page
        assert steps["permission"] == ("fail", "the app-only token's roles (Mail.ReadWrite) do not include the "
                                               "application permission Mail.Send"), steps
        assert "give the app the Microsoft Graph permission Mail.Send" in page
        assert server.requests == []
        for token in endpoint.app_tokens:
            assert token not in page and token.split(".")[1] not in page
        assert CLIENT_SECRET not in page


@pytest.mark.parametrize("declined", [False, True], ids=["granted", "gmail.send-declined"])
def test_diagnose_reads_the_scopes_google_granted_at_sign_in(wp, certs, declined):
    """Sign in with Google for the Gmail API (the browser over HTTP): the plugin keeps the scopes Google's answer
    granted, and Diagnose reads them, since Google's access token is opaque. With gmail.send unticked on the consent
    page (Google's granular consent) the permission step fails and says which scope to ask for; nothing is sent."""
    auth = AuthorizationServer(TENANT, CLIENT_ID, CLIENT_SECRET, account=MAILBOX,
                               redirect_uris={wp.url + "/wp-admin/admin-post.php"})
    server = GmailServer(certs, account=MAILBOX, check_token=auth.check_access_token, permissions=auth.token_permissions)
    try:
        if declined:
            auth.declined = {"https://www.googleapis.com/auth/gmail.send"}
        wp.set_constants(auth.constants())
        wp.php("RustMail_OAuth_Grant::forget(); out(true);")
        store(wp, {"oauth_client_secret": CLIENT_SECRET}, api="gmail", api_base=server.base, username=MAILBOX,
              ca_file=wp.site_ca(certs), oauth_client_id=CLIENT_ID)
        browser = wp.browser()
        fields = browser.form_fields(browser.get(SETTINGS), "rust_mail_oauth_signin")
        consent = browser.post("/wp-admin/admin-post.php", dict(fields, provider="google"))
        accept = browser.form_fields(consent, "accept")
        callback = browser.post(auth.base + "/consent", dict(accept, decision="accept"), follow=False)
        assert callback.status == 302
        browser.get(callback.headers["Location"])
        openid = "openid https://www.googleapis.com/auth/userinfo.email"
        granted = openid if declined else "https://www.googleapis.com/auth/gmail.send " + openid
        assert wp.php("out(RustMail_OAuth_Grant::scopes());") == granted
        page, steps = diagnose_on_the_page(wp)
        assert steps["token"][1].startswith("an opaque access token"), steps
        if declined:
            assert steps["permission"] == ("fail", f"the token's scopes ({openid}) do not include "
                                                   "https://www.googleapis.com/auth/gmail.send"), steps
            assert "api_permission_missing" in page and "asking for the scope https://www.googleapis.com/auth/gmail.send" in page
        else:
            assert "The connection works." in page, page
            assert steps["permission"] == ("ok", "the delegated token has the scope https://www.googleapis.com/auth/gmail.send")
        assert server.requests == []
        assert not any(token in page for token in auth.issued)
    finally:
        wp.php("RustMail_OAuth_Grant::forget(); out(true);")
        server.stop()
        auth.stop()


@pytest.mark.parametrize("api", ["gmail", "mailgun"])
def test_gmail_and_mailgun_take_the_message_as_their_contracts_say(wp, engine, certs, api):
    """Gmail (media upload, the Bcc in a header) and Mailgun (messages.mime with the envelope's recipients), and a
    refused key or token said as such; the contract server notes any breach of the API's documented contract."""
    secret = f"{api}-secret-" + secrets.token_hex(8)
    if api == "gmail":
        server, user = GmailServer(certs, account="bob@gmail.example", tokens=[secret]), "bob@gmail.example"
    else:
        server, user = MailgunServer(certs, key=secret, domains=["mg.example.com"]), "mg.example.com"
    try:
        store(wp, {"password": secret}, api=api, api_base=server.base, username=user, ca_file=wp.site_ca(certs))
        sent = wp.php("out(wp_mail('to@example.com', 'Over the API', 'Body', array('Bcc: hidden@example.com')));")
        assert sent is True
        [request] = server.messages()
        message = request.message
        assert message["Subject"] == "Over the API" and message["To"] == "to@example.com"
        if api == "gmail":
            assert message["Bcc"] == "hidden@example.com"
        else:
            assert message["Bcc"] is None and sorted(request.recipients) == ["hidden@example.com", "to@example.com"]
        [row] = wp.log_rows()
        assert (row["status"], row["smtp_code"]) == ("sent", "200")
        store(wp, {"password": "wrong-" + secret}, api=api, api_base=server.base, username=user, ca_file=wp.site_ca(certs))
        assert wp.send_mail("Wrong key")["result"] is False
        row = wp.log_rows()[-1]
        assert (row["status"], row["error_kind"], row["smtp_code"]) == ("failed", "auth", "401")
        assert secret not in json.dumps(wp.log_rows())
        assert server.violations == []
    finally:
        server.stop()


def test_amazon_ses_on_the_phpmailer_engine_is_refused_and_the_page_says_why(wp):
    wp.use_engine("phpmailer")
    store(wp, {"password": "ses-secret-" + secrets.token_hex(8)}, api="ses", region="eu-west-1",
          username="AKIAIOSFODNN7EXAMPLE", preset="ses")
    assert wp.send_mail("To SES")["result"] is False
    [row] = wp.log_rows()
    assert (row["status"], row["error_kind"]) == ("failed", "engine")
    assert "Amazon SES needs the rust_mail extension" in row["error_message"]
    page = wp.browser().get(SETTINGS).text
    assert "Amazon SES needs the rust-mail extension" in page


@pytest.mark.parametrize("engine_name", ["phpmailer", "extension"])
def test_the_page_says_that_the_phpmailer_engine_opens_a_connection_per_api_mail(wp, certs, engine_name):
    """WordPress's HTTP API keeps no connection alive, which the settings page says for the PHPMailer engine only."""
    wp.use_engine(engine_name)
    store(wp, {"password": TOKEN}, api="graph", api_base="https://127.0.0.1:9", username=MAILBOX, preset="m365_graph")
    page = wp.browser().get(SETTINGS).text
    assert ("each mail through this API opens a new HTTPS connection" in page) == (engine_name == "phpmailer")


def test_the_settings_page_saves_the_graph_preset_and_shows_the_mailbox_rbac_lines(wp):
    browser = wp.browser()
    fields = browser.form_fields(browser.get(SETTINGS), "rust_mail_save_settings")
    mailbox = "o'brien@contoso.example"
    form = {"rust_mail[preset]": "m365_graph", "rust_mail[username]": mailbox, "rust_mail[oauth_tenant]": TENANT,
            "rust_mail[oauth_client_id]": CLIENT_ID, "rust_mail[oauth_client_secret]": CLIENT_SECRET,
            "rust_mail[timeout]": "30", "rust_mail[retention_days]": "30", "rust_mail[host]": "127.0.0.1"}
    saved = browser.post("/wp-admin/admin-post.php", dict(fields, **form))
    assert "Settings saved." in saved.text and CLIENT_SECRET not in saved.text
    stored = wp.php("out(get_option('rust_mail_settings'));")
    assert (stored["preset"], stored["api"], stored["username"]) == ("m365_graph", "graph", mailbox)
    page = browser.get(SETTINGS).text
    scope = ("New-ManagementScope -Name &quot;rust-mail mailbox&quot; -RecipientRestrictionFilter "
             "&quot;PrimarySmtpAddress -eq &#039;o&#039;&#039;brien@contoso.example&#039;&quot;")
    role = (f"New-ManagementRoleAssignment -App {CLIENT_ID} -Role &quot;Application Mail.Send&quot; "
            "-CustomResourceScope &quot;rust-mail mailbox&quot;")
    assert scope in page and role in page
    # The SMTP server's fields are hidden over an API; the user name is the mailbox.
    assert '<tr data-rust-mail-key="host" hidden>' in page
    assert '<tr data-rust-mail-key="port" hidden>' in page
    assert ">Mailbox</label>" in page
    # Over the Graph API the connection leaves every SMTP-only key out.
    transport = wp.php("out(RustMail_Transport_Connection::transport(false));")
    assert transport["api"] == "graph" and not {"host", "port", "security", "auth", "helo"} & set(transport)


def test_basic_auth_retired_offers_the_graph_preset(wp):
    """A password login Microsoft answers with 5.7.139: the log entry links the Graph preset, which the page then
    preselects."""
    wp.php("global $wpdb; $wpdb->insert(RustMail_Log_Store::table(), array('created_at' => gmdate('Y-m-d H:i:s'),"
           " 'status' => 'failed', 'from_address' => 'site@contoso.example', 'recipients' => 'to@example.com',"
           " 'subject' => 'x', 'transcript' => '[]', 'error_kind' => 'auth', 'error_cause' => 'basic_auth_retired', 'smtp_code' => 535,"
           " 'enhanced_code' => '5.7.139', 'reply' => 'Authentication unsuccessful, basic authentication is disabled.',"
           " 'error_message' => 'the server refused the login')); out(true);")
    [row] = wp.log_rows()
    browser = wp.browser()
    page = browser.get(f"{LOG}&entry={row['id']}").text
    assert 'id="rust-mail-propose-preset"' in page and "Switch to the Microsoft 365 (Graph API) preset" in page
    settings = browser.get(SETTINGS + "&preset=m365_graph").text
    assert re.search(r"value=\"m365_graph\"\s+checked", settings), re.findall(r"<input type=\"radio\"[^>]*>", settings)


def test_a_secret_in_wp_config_goes_only_to_an_api_base_fixed_there_too(wp, engine):
    """RUST_MAIL_PASSWORD with the API chosen on the page: not used, and the page names what to fix."""
    wp.set_constants({"RUST_MAIL_PASSWORD": "constant-secret", "RUST_MAIL_API": "graph"})
    store(wp, api="graph", api_base="https://attacker.example", username=MAILBOX)
    assert wp.send_mail("To the attacker")["result"] is False
    [row] = wp.log_rows()
    assert row["error_kind"] == "settings" and "RUST_MAIL_API_BASE" in row["error_message"]
    assert "RUST_MAIL_HOST" not in row["error_message"]


def test_sign_in_asks_for_the_apis_scope(wp):
    """Sign in with Microsoft asks for delegated Graph Mail.Send with the Graph preset, Google for gmail.send with the
    Gmail API; over SMTP both keep SMTP's scope."""
    scopes = "out(array_map(fn ($p) => $p['scope'], RustMail_OAuth_Grant::providers()));"
    assert wp.php(scopes) == {"microsoft": "https://outlook.office.com/SMTP.Send offline_access openid email",
                              "google": "https://mail.google.com/ openid email"}
    store(wp, api="graph", preset="m365_graph")
    assert wp.php(scopes)["microsoft"] == "https://graph.microsoft.com/Mail.Send offline_access openid email"
    store(wp, api="gmail", preset="gmail_api")
    assert wp.php(scopes)["google"] == "https://www.googleapis.com/auth/gmail.send openid email"


def test_the_certificate_is_checked_against_the_ca_file_setting(wp, engine, certs):
    """verify_peer and ca_file apply to the API's HTTPS: without the test CA the server's certificate is refused and
    no token goes out; with verify_peer off it is not checked."""
    server = GraphServer(certs, mailbox=MAILBOX, tokens=[TOKEN])
    try:
        store(wp, {"password": TOKEN}, api="graph", api_base=server.base, username=MAILBOX, verify_peer=True)
        assert wp.send_mail("Untrusted")["result"] is False
        row = wp.log_rows()[-1]
        assert (row["error_kind"], row["error_cause"]) == ("tls", "tls_certificate_invalid"), row
        assert server.requests == []
        store(wp, {"password": TOKEN}, api="graph", api_base=server.base, username=MAILBOX, verify_peer=False)
        assert wp.send_mail("Unchecked")["result"] is True
        assert [m.message["Subject"] for m in server.messages()] == ["Unchecked"]
    finally:
        server.stop()
