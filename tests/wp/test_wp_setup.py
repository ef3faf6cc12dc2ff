"""The first-run setup (Rust Mail → Setup) in real Chromium, against real servers on loopback: the owner picks a
provider, answers its questions (checked as they are typed), sends a test mail and sees it delivered. Each scenario
ends with the mail at the server and the settings saved through the settings page's own path.

Direct send finds its host in a real dnsmasq (the `rust_mail_nameserver` filter points the extension's lookups at it,
through tests/wp/mu-plugins/rust-mail-test-nameserver.php); the domain's MX is `localhost`, the one name that both
dnsmasq and the system resolver the send uses know, so the mail reaches the local server."""
import json
import re
from pathlib import Path

import pytest

from harness.diag_servers import Dnsmasq
from harness.http_server import LoopbackHTTPServer, QuietHandler
from harness.oauth_server import AuthorizationServer
from harness.wpstack import php_string, run_browser

TENANT = "contoso.onmicrosoft.com"
CLIENT_ID = "6f1c0b9e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"
CLIENT_SECRET = "Q~setup-secret-0123456789"
MAILBOX = "site@contoso.example"


def unconfigured(wp):
    """A site fresh from activation: no settings stored."""
    wp.php("RustMail_Settings_Store::delete_plugin_option(RustMail_Settings_Store::OPTION); out(true);")


def run_setup(wp, scenario, preset, answers, test_to="owner@example.com", **env):
    output = run_browser(wp, "setup.mjs", SCENARIO=scenario, PRESET=preset, ANSWERS=json.dumps(answers),
                         TEST_TO=test_to, **env)
    return json.loads(output.strip().splitlines()[-1])


def saved(wp, *keys):
    return wp.php(f"out(array_map(array('RustMail_Settings_Store', 'get'), {json.dumps(list(keys)).replace('[', 'array(').replace(']', ')')}));")


def test_local_server(wp, capture):
    server = capture()
    unconfigured(wp)
    # The local server listens on a port of the kernel's, not 25: wp-config.php fixes it, as a host could.
    wp.set_constants({"RUST_MAIL_PORT": server.port})
    outcome = run_setup(wp, "local", "localhost", {"from": "shop@example.com"},
                        BAD_ANSWERS=json.dumps({"from": "shop@contoso"}))
    # Only this provider's one question, and a wrong answer refused in words as it was typed.
    assert outcome["questions"] == ["from"] and outcome["otherQuestionsShown"] == 1
    # The settings page's own check and words (RustMail_Settings_Validator).
    assert outcome["problems"] == {"from": '"shop@contoso" is not a complete address: its domain "contoso" has no dot. '
                                           'Enter the whole domain, such as contoso.com.'}
    assert outcome["resultKind"] == "success", outcome
    assert "Delivered: the server accepted the test mail to owner@example.com." in outcome["result"]
    [message] = server.messages()
    assert message.rcpt_tos == ["owner@example.com"] and message.mail_from == "shop@example.com"
    assert saved(wp, "preset", "host", "from") == ["localhost", "localhost", "shop@example.com"]
    assert outcome["reopenLink"].endswith("page=rust-mail-setup") and outcome["noticeAfter"] is False



def test_a_failed_test_mail_shows_the_explanation(wp):
    unconfigured(wp)
    # Nothing listens on port 9 of loopback: the connection is refused.
    wp.set_constants({"RUST_MAIL_PORT": 9})
    outcome = run_setup(wp, "refused", "localhost", {"from": "shop@example.com"})
    assert outcome["resultKind"] == "error", outcome
    assert outcome["result"].startswith("The test mail to owner@example.com was not sent."), outcome["result"]
    # The cause and what to do, as the log entry explains it, in the owner's words.
    explained = wp.php("out(RustMail_Log_Explainer::for_entry(RustMail_Log_Store::get("
                       + str(int(wp.log_rows()[-1]["id"])) + ")));")
    for text in [explained["cause"], *explained["advice"]]:
        assert text in outcome["result"], text
    assert "The test mail in the connection log" in outcome["result"]
    assert DEVELOPER_WORDS.search(outcome["result"]) is None



def test_custom_smtp_server_replaces_an_api(wp, capture):
    server = capture()
    # Set up before to send over the Graph API: the setup's Custom is an SMTP server, so that goes.
    wp.set_settings(api="graph", username="old@example.com")
    answers = {"from": "shop@example.com", "host": "127.0.0.1", "port": str(server.port), "security": "none",
               "auth": "none"}
    outcome = run_setup(wp, "custom", "custom", answers, NO_NOTICE="1")
    # No login chosen: no user name or password asked.
    assert outcome["questionsAnswered"] == ["from", "host", "port", "security", "auth"]
    assert outcome["resultKind"] == "success", outcome
    [message] = server.messages()
    assert message.rcpt_tos == ["owner@example.com"]
    assert saved(wp, "preset", "api", "host", "port") == ["custom", "", "127.0.0.1", server.port]


@pytest.fixture
def tenant_dns():
    """dnsmasq on loopback: tenant.example's MX is localhost, and its SPF record names Microsoft only."""
    server = Dnsmasq(hosts={"localhost": "127.0.0.1"}, mx={"tenant.example": "localhost"},
                     txt={"tenant.example": ["v=spf1 include:spf.protection.outlook.com -all"]})
    yield server
    server.stop()


def test_direct_send_finds_the_mx_host_and_the_spf_record_to_add(wp, capture, tenant_dns):
    server = capture()
    unconfigured(wp)
    wp.set_constants({"RUST_MAIL_PORT": server.port, "RUST_MAIL_TEST_NAMESERVER": tenant_dns.address})
    outcome = run_setup(wp, "direct", "m365_direct", {"from": "site@tenant.example", "direct_domain": "tenant.example"},
                        EXPECT_HOST="localhost", SITE_IP="203.0.113.7",
                        BAD_ANSWERS=json.dumps({"direct_domain": "nomx.example"}))
    assert outcome["problems"] == {"direct_domain": "No mail server (MX record) was found for nomx.example. Check the "
                                   "spelling: it is the domain of your Microsoft 365 addresses, such as contoso.com."}
    assert outcome["questions"] == ["from", "direct_domain"]
    # The lookup found the host; the site's address (127.0.0.1 here, not a public one) is asked for, then checked.
    assert outcome["host"] == "localhost"
    assert "could not be found from here" in outcome["spfBeforeIp"]
    assert "does not name this site's address (203.0.113.7)" in outcome["spf"]
    assert outcome["recordShown"] and outcome["record"] == "v=spf1 include:spf.protection.outlook.com ip4:203.0.113.7 -all"
    assert outcome["resultKind"] == "success", outcome
    [message] = server.messages()
    assert message.rcpt_tos == ["owner@example.com"] and message.mail_from == "site@tenant.example"
    assert saved(wp, "preset", "host", "auth") == ["m365_direct", "localhost", "none"]


def test_microsoft_365_with_an_oauth2_app(wp, smtp_server, certs):
    endpoint = AuthorizationServer(TENANT, CLIENT_ID, CLIENT_SECRET)
    try:
        server = smtp_server(tls="starttls", auth={"user": MAILBOX, "token": endpoint.token}, auth_mechanisms=["XOAUTH2"])
        unconfigured(wp)
        # Microsoft's host and token endpoint stand in on loopback, fixed in wp-config.php.
        wp.set_constants({"RUST_MAIL_HOST": "127.0.0.1", "RUST_MAIL_PORT": server.port,
                          "RUST_MAIL_CA_FILE": wp.site_ca(certs), "RUST_MAIL_OAUTH_TOKEN_URL": endpoint.url})
        answers = {"from": MAILBOX, "username": MAILBOX, "auth": "xoauth2", "oauth_tenant": TENANT,
                   "oauth_client_id": CLIENT_ID, "oauth_client_secret": CLIENT_SECRET}
        outcome = run_setup(wp, "m365", "m365", answers, NO_NOTICE="1")
        # The password question gave way to the app's once OAuth2 was chosen.
        assert outcome["questions"] == ["from", "username", "auth", "password"]
        assert outcome["questionsAnswered"] == ["from", "username", "auth", "oauth_tenant", "oauth_client_id",
                                                "oauth_client_secret"]
        assert outcome["resultKind"] == "success", outcome
        [message] = server.messages
        assert message.tls and message.auth_user == MAILBOX
        assert [(a.mechanism, a.success) for a in server.auth_attempts] == [("XOAUTH2", True)]
        assert len(endpoint.requests) == 1 and endpoint.requests[0]["client_secret"] == CLIENT_SECRET
        assert saved(wp, "preset", "auth", "oauth_tenant") == ["m365", "xoauth2", TENANT]
        stored = wp.php("out(RustMail_Settings_Store::stored());")
        assert CLIENT_SECRET not in json.dumps(stored)
    finally:
        endpoint.stop()


def diagnose(wp, shot):
    return json.loads(run_browser(wp, "diagnose.mjs", SHOT=shot).strip().splitlines()[-1])


@pytest.fixture
def m365_app(wp, smtp_server, certs):
    """The site on Microsoft 365 with an OAuth2 app, the token endpoint and the SMTP server on loopback."""
    endpoint = AuthorizationServer(TENANT, CLIENT_ID, CLIENT_SECRET)
    server = smtp_server(tls="starttls", auth={"user": MAILBOX, "token": endpoint.token}, auth_mechanisms=["XOAUTH2"])
    wp.set_settings(oauth_client_secret=CLIENT_SECRET, preset="m365", port=server.port, security="starttls",
                    auth="xoauth2", username=MAILBOX, oauth_tenant=TENANT, oauth_client_id=CLIENT_ID,
                    ca_file=wp.site_ca(certs), **{"from": MAILBOX})
    # Microsoft's host and token endpoint stand in on loopback, fixed in wp-config.php: the preset owns the host on
    # the page, and Diagnose walks the page's values.
    wp.set_constants({"RUST_MAIL_HOST": "127.0.0.1", "RUST_MAIL_PORT": server.port,
                      "RUST_MAIL_OAUTH_TOKEN_URL": endpoint.url})
    yield endpoint, server
    endpoint.stop()


def test_xoauth2_diagnose_fetches_the_token_as_a_step_then_walks_smtp(wp, m365_app):
    endpoint, server = m365_app
    shown = diagnose(wp, "xoauth2")
    steps = [(step["step"], step["status"]) for step in shown["steps"]]
    assert steps[0] == ("token", "ok") and shown["steps"][0]["words"] == "Access token"
    assert shown["steps"][0]["detail"] == "The token endpoint gave the app a new access token."
    # Then the SMTP walk, logging in with that token.
    assert ("auth", "ok") in steps and ("envelope", "ok") in steps, steps
    assert [(a.mechanism, a.user, a.success) for a in server.auth_attempts] == [("XOAUTH2", MAILBOX, True)]
    assert len(endpoint.requests) == 1
    assert "The connection works." in shown["summary"]


class FixedAnswer:
    """A token endpoint on loopback that answers every request with one JSON refusal, over HTTPS with `tls` (a
    certificate WordPress does not trust)."""

    def __init__(self, status, body, tls=None):
        answer = json.dumps(body).encode()

        class Handler(QuietHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.http = LoopbackHTTPServer(Handler, tls)
        self.url = self.http.url + "/{tenant}/oauth2/v2.0/token"

    def stop(self):
        self.http.stop()


CONSENT = {"error": "invalid_grant", "error_description": "AADSTS65001: The user or administrator has not consented "
                                                          "to use the application with ID '6f1c0b9e'."}


@pytest.mark.parametrize("case", ["blocked", "unreachable", "tls", "invalid_client", "consent"])
def test_oauth_advice_follows_the_actual_failure(wp, m365_app, certs, case):
    endpoint, server = m365_app
    stand_in = None
    constants = {"RUST_MAIL_OAUTH_TOKEN_URL": endpoint.url}
    if case == "blocked":
        # The test site sets WP_HTTP_BLOCK_EXTERNAL, which lets through only requests to its own host (127.0.0.1).
        constants = {"RUST_MAIL_OAUTH_TOKEN_URL": "http://127.0.0.2:9/{tenant}/oauth2/v2.0/token"}
    elif case == "unreachable":
        constants = {"RUST_MAIL_OAUTH_TOKEN_URL": "http://127.0.0.1:9/{tenant}/oauth2/v2.0/token"}
    elif case == "tls":
        stand_in = FixedAnswer(200, {}, tls=certs.pair("selfsigned"))
    elif case == "invalid_client":
        wp.set_settings(oauth_client_secret="wrong-" + CLIENT_SECRET, preset="m365", port=server.port,
                        security="starttls", auth="xoauth2", username=MAILBOX, oauth_tenant=TENANT,
                        oauth_client_id=CLIENT_ID, ca_file=str(wp.dir / "test-ca.pem"))
    elif case == "consent":
        stand_in = FixedAnswer(400, CONSENT)
    if stand_in:
        constants = {"RUST_MAIL_OAUTH_TOKEN_URL": stand_in.url}
    wp.set_constants(constants)
    try:
        check_advice(wp, server, case)
    finally:
        if stand_in:
            stand_in.stop()


def check_advice(wp, server, case):
    shown = diagnose(wp, f"oauth-{case}")
    assert [(step["step"], step["status"]) for step in shown["steps"]] == [("token", "fail")]
    expected = {
        "blocked": "blocks requests to other servers (WP_HTTP_BLOCK_EXTERNAL in wp-config.php)",
        "unreachable": "The token endpoint could not be reached: a firewall may block outgoing HTTPS",
        "tls": "its certificate could not be checked",
        "invalid_client": "does not accept the app's client ID or client secret",
        "consent": "Grant admin consent",
    }
    [advice] = shown["advice"]
    assert expected[case] in advice, shown
    # Only the advice for what failed: never the catch-all about tenant, client ID and secret elsewhere.
    assert ("Check the tenant ID, client ID and client secret" in advice) is False
    assert server.auth_attempts == []
    # The log's explanation of a mail that failed the same way gives the same advice.
    assert wp.send_mail()["result"] is False
    row = wp.log_rows()[-1]
    explained = wp.php(f"out(RustMail_Log_Explainer::for_entry(RustMail_Log_Store::get({row['id']})));")
    assert explained["advice"] == [advice]


# What only a PHP developer understands: the extension's argument names, its options and its quoted choices.
DEVELOPER_WORDS = re.compile(r"\$transport|\$options|send_test|scan_ports|\b(ca_file|verify_peer|tls_min_version|api_base)\b"
                             r"|\b(security|auth)( is| to)? '|'(none|starttls|opportunistic|tls|xoauth2|auto|login)'")


def test_diagnose_page_speaks_the_owners_words(wp, capture):
    server = capture()
    # A relay without TLS or login, and no From address: the walk skips steps with a developer's reasons.
    wp.set_settings(port=server.port, **{"from": ""})
    shown = diagnose(wp, "words")
    details = {step["step"]: step["detail"] for step in shown["steps"]}
    assert details["send"] == "Diagnose sends nothing: use Send test mail to send a message."
    assert details["auth"] == 'No login: Authentication is "No login".'
    assert details["tls"].startswith('"Encryption" is "None (plain text)"'), details["tls"]
    assert DEVELOPER_WORDS.search(shown["text"]) is None, DEVELOPER_WORDS.search(shown["text"])


def test_every_advice_of_the_classifier_reads_in_the_owners_words(wp):
    """Each advice and summary text the extension's classifier can give (its export), as the plugin shows it."""
    export = json.loads((Path(__file__).parents[2] / "wp-plugin" / "data" / "classifier.json").read_text())
    texts = sorted({text for text in strings(export["verdicts"]) if " " in text})
    assert len(texts) > 50
    shown = wp.php(f"out(RustMail_Explain_Owner_Words::texts(json_decode({php_string(json.dumps(texts))}, true)));")
    left = [text for text in shown if DEVELOPER_WORDS.search(text)]
    assert left == [], left
    # The facts stay: a port, a host and a record are not touched.
    assert any("port 465" in text for text in shown) and any("include:spf.protection.outlook.com" in text for text in shown)


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


@pytest.mark.parametrize("who", ["subscriber", "admin without the nonce"])
def test_the_setup_actions_check_capability_then_nonce(wp, capture, who):
    server = capture()
    wp.set_settings(port=server.port)
    before = wp.php("out(get_option('rust_mail_settings'));")
    if who == "subscriber":
        wp.php("$id = username_exists('sub1') ?: wp_insert_user(array('user_login' => 'sub1', 'user_pass' => 'sub1-pass-123',"
               " 'role' => 'subscriber', 'user_email' => 'sub1@example.com')); out($id);")
        browser = wp.browser("sub1", "sub1-pass-123")
        # A nonce of their own does not help: the capability is checked first.
        nonce = wp.php("wp_set_current_user(get_user_by('login', 'sub1')->ID); out(wp_create_nonce('rust_mail_setup'));")
        page = browser.get("/wp-admin/admin.php?page=rust-mail-setup")
        assert page.status == 403 and "rust-mail-setup-form" not in page.text
    else:
        browser, nonce = wp.browser(), ""
    for action in ["rust_mail_setup_check", "rust_mail_setup_finish"]:
        page = browser.post("/wp-admin/admin-ajax.php", {
            "action": action, "nonce": nonce, "preset": "custom", "test_to": "victim@example.com",
            "answers[host]": "evil.example", "answers[port]": "25", "answers[from]": "a@example.com",
            "answers[security]": "none", "answers[auth]": "none"})
        assert page.status == 403, (action, page.status, page.text)
        assert json.loads(page.text)["success"] is False
    assert wp.php("out(get_option('rust_mail_settings'));") == before
    assert server.messages() == []


@pytest.fixture
def tenant_resolver(netns):
    """A namespace whose system resolver is dnsmasq on its own loopback's port 53 (`ip netns exec` puts
    /etc/netns/NAME/resolv.conf in place of /etc/resolv.conf): the only way to point PHP's dns_get_record() at a
    test's DNS server. tenant.example has an MX and an SPF record; every other .example and .invalid name is NXDOMAIN."""
    with netns.resolver(["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--user=root", "--port=53",
                         "--listen-address=127.0.0.1", "--bind-interfaces", "--local=/example/", "--local=/invalid/",
                         "--host-record=mx.tenant.example,127.0.0.1", "--mx-host=tenant.example,mx.tenant.example,10",
                         "--txt-record=tenant.example,v=spf1 ip4:198.51.100.0/24 -all"]):
        yield netns


@pytest.mark.parametrize("extension", [True, False], ids=["extension's resolver", "dns_get_record"])
def test_direct_send_lookup_with_and_without_the_extension(wp, tenant_resolver, extension):
    if extension:
        # The extension reads no records of a reserved name (.example) from the system's resolver unless a
        # nameserver is named: here the namespace's own.
        wp.set_constants({"RUST_MAIL_TEST_NAMESERVER": "127.0.0.1:53"})
    lookup = "out(RustMail_Settings_Direct_Send::lookup('tenant.example', '{ip}'));"
    allowed = wp.php(lookup.format(ip="198.51.100.9"), extension=extension, namespace=tenant_resolver.name)
    assert (allowed["error"], allowed["mx"], allowed["host"]) == ("", ["mx.tenant.example"], "mx.tenant.example")
    assert allowed["spf"] == ["v=spf1 ip4:198.51.100.0/24 -all"]
    assert allowed["judgement"] == {"status": "allowed", "record": ""}
    other = wp.php(lookup.format(ip="203.0.113.7"), extension=extension, namespace=tenant_resolver.name)
    assert other["judgement"] == {"status": "not_listed", "record": "v=spf1 ip4:198.51.100.0/24 ip4:203.0.113.7 -all"}
    # On loopback the site's own address is no public one: not guessed.
    found = wp.php(lookup.format(ip=""), extension=extension, namespace=tenant_resolver.name)
    assert (found["ip"], found["ip_found"], found["judgement"]) == ("", False, None)
    missing = wp.php("out(RustMail_Settings_Direct_Send::lookup('nomx.example'));", extension=extension,
                     namespace=tenant_resolver.name)
    assert missing["error"].startswith("No mail server (MX record) was found for nomx.example.")


@pytest.mark.parametrize("records, ip, expected", [
    ([], "203.0.113.7", ("missing", "v=spf1 ip4:203.0.113.7 include:spf.protection.outlook.com -all")),
    (["v=spf1 ip4:203.0.113.0/24 -all"], "203.0.113.7", ("allowed", "")),
    (["v=spf1 ip4:203.0.113.7 ~all"], "203.0.113.7", ("allowed", "")),
    (["v=spf1 ip4:203.0.112.0/24 -all"], "203.0.113.7", ("not_listed", "v=spf1 ip4:203.0.112.0/24 ip4:203.0.113.7 -all")),
    (["v=spf1 include:spf.protection.outlook.com redirect=_spf.example"], "203.0.113.7",
     ("not_listed", "v=spf1 include:spf.protection.outlook.com ip4:203.0.113.7 redirect=_spf.example")),
    (["v=spf1 mx", "v=spf1 a -all"], "203.0.113.7", ("several", "v=spf1 mx ip4:203.0.113.7")),
    (["google-site-verification=abc", "v=spf1 ip6:2001:db8::/32 -all"], "2001:db8::25", ("allowed", "")),
    (["v=spf1 ip6:2001:db8::/32 -all"], "2001:db9::25", ("not_listed", "v=spf1 ip6:2001:db8::/32 ip6:2001:db9::25 -all")),
    (["v=spf1 ip4:203.0.113.7/33 ip4:nonsense -all"], "203.0.113.7",
     ("not_listed", "v=spf1 ip4:203.0.113.7/33 ip4:nonsense ip4:203.0.113.7 -all")),
])
def test_spf_judgement(wp, records, ip, expected):
    judged = wp.php(f"out(RustMail_Settings_Direct_Send::spf_judgement(json_decode({php_string(json.dumps(records))}, true), "
                    f"{php_string(ip)}));")
    assert (judged["status"], judged["record"]) == expected


@pytest.mark.parametrize("code, message, expected", [
    ("http_request_not_executed", "User has blocked requests through HTTP.", "blocked"),
    ("http_request_failed", "cURL error 6: Could not resolve host: login.microsoftonline.com", "dns"),
    ("http_request_failed", "php_network_getaddresses: getaddrinfo failed: Name or service not known", "dns"),
    ("http_request_failed", "cURL error 60: SSL certificate problem: unable to get local issuer certificate", "tls"),
    ("http_request_failed", "cURL error 7: Failed to connect to 127.0.0.1 port 9: Connection refused", "unreachable"),
    ("http_request_failed", "cURL error 28: Operation timed out after 15001 milliseconds", "unreachable"),
])
def test_problem_of_http_error(wp, code, message, expected):
    assert wp.php(f"out(RustMail_OAuth_Exception::problem_of_http_error({php_string(code)}, {php_string(message)}));") == expected


@pytest.mark.parametrize("body, expected", [
    ({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}, "invalid_client"),
    ({"error": "unauthorized_client", "error_description": "AADSTS700016: Application not found."}, "invalid_client"),
    ({"error": "invalid_request", "error_description": "AADSTS7000222: The provided client secret keys are expired."},
     "invalid_client"),
    ({"error": "invalid_grant", "error_description": "AADSTS65001: The user or administrator has not consented."}, "consent"),
    ({"error": "consent_required"}, "consent"),
    ({"error": "invalid_grant", "error_description": "AADSTS50173: The provided grant has expired."}, "invalid_grant"),
    ({"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found."}, "tenant"),
    ({"error": "temporarily_unavailable"}, ""),
])
def test_problem_of_answer(wp, body, expected):
    assert wp.php(f"out(RustMail_OAuth_Exception::problem_of_answer(json_decode({php_string(json.dumps(body))}, true)));") == expected


def test_oauth_dns_failure_gets_the_dns_advice(wp, m365_app, tenant_resolver):
    # Let WordPress ask a name the namespace's resolver does not know.
    wp.set_constants({"RUST_MAIL_OAUTH_TOKEN_URL": "https://login.tenant.invalid/{tenant}/oauth2/v2.0/token",
                      "WP_ACCESSIBLE_HOSTS": "login.tenant.invalid"})
    diagnosis = wp.php("out(RustMail_Transport_Diagnosis::run('site@contoso.example', 'owner@example.com'));",
                       namespace=tenant_resolver.name)
    assert [(step["name"], step["status"]) for step in diagnosis["steps"]] == [("token", "fail")]
    assert diagnosis["verdict"]["cause"] == "oauth_dns"
    assert "could not look up the token endpoint's name" in diagnosis["verdict"]["advice"][0]
