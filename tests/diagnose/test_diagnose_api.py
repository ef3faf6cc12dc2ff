"""rust_mail_diagnose() over an HTTPS API transport (issue 21): dns, tcp, tls, then the token and the permission read
from it without sending, then a send only with send_test. Against the contract servers (harness/api_servers.py) over
real TLS, with tokens from the OAuth2 test server (harness/oauth_server.py), which the servers check as the providers
do (Graph: Mail.Send as an app role or a delegated scope; Gmail: gmail.send). Each test asserts what the server
received (nothing, or exactly one message) and that no token or key comes back."""
import json
import urllib.parse
import urllib.request

import pytest

from harness.api_servers import GmailServer, GraphServer, MailgunServer, SesServer, sign_in
from harness.diag_support import diagnose, expect
from harness.oauth_server import GRAPH_APP_ONLY_SCOPE, AuthorizationServer

MAILBOX = "alice@contoso.example"
TO = "rcpt@example.com"
RUN_TIMEOUT = 6
SLACK = 4                      # PHP's own start-up is in the measured time too


@pytest.fixture
def auth():
    server = AuthorizationServer("contoso.onmicrosoft.com", "rust-mail-diagnose-tests", "client-secret-d1a9")
    yield server
    server.stop()


def app_only_token(auth):
    """The app-only Graph token, fetched as the plugin fetches it (client credentials)."""
    form = {"grant_type": "client_credentials", "client_id": auth.client_id, "client_secret": auth.client_secret,
            "scope": GRAPH_APP_ONLY_SCOPE}
    url = auth.url.format(tenant=auth.tenant)
    with urllib.request.urlopen(url, urllib.parse.urlencode(form).encode(), timeout=10) as answer:
        return json.loads(answer.read())["access_token"]


@pytest.fixture
def graph(certs, auth):
    """Factory: graph(cert=...) -> a Graph contract server that checks tokens and their permissions with `auth`."""
    started = []

    def start(**options):
        server = GraphServer(certs, mailbox=MAILBOX, check_token=auth.check_access_token,
                             permissions=auth.token_permissions, **options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def api_transport(kind, server, certs, secret, **fields):
    return {"api": kind, "api_base": server.base, "ca_file": certs.ca, "password": secret, "timeout": 5, **fields}


def run(php, transport, secrets, **options):
    """The diagnosis, with no form of any secret anywhere in it."""
    diagnosis = diagnose(php, transport, {"timeout": RUN_TIMEOUT, **options})
    dumped = json.dumps(diagnosis.raw)
    for secret in secrets:
        assert secret not in dumped and secret[:24] not in dumped, diagnosis
    return diagnosis


def statuses(diagnosis):
    return {s["name"]: s["status"] for s in diagnosis.steps}


# ---------------------------------------------------------------- Graph, app-only

def test_a_good_app_only_token_ends_ok_and_sends_nothing(php, certs, auth, graph):
    server = graph()
    token = app_only_token(auth)
    diagnosis = run(php, api_transport("graph", server, certs, token, username=MAILBOX), [token])
    expect(diagnosis, "ok")
    assert statuses(diagnosis) == {"dns": "ok", "tcp": "ok", "tls": "ok", "token": "ok", "permission": "ok",
                                   "send": "skip"}, diagnosis
    assert diagnosis.step("tls")["data"]["verified"] is True and diagnosis.raw["server"]["certificate"], diagnosis
    assert diagnosis.step("token")["data"]["audience"] == "https://graph.microsoft.com", diagnosis
    assert "expires in" in diagnosis.step("token")["detail"], diagnosis
    assert diagnosis.step("permission")["data"] == {"grant": "app-only", "found": "Mail.Send"}, diagnosis
    assert server.requests == [] and server.handshakes == 1, diagnosis   # the TLS step's connection, nothing sent


def test_send_test_sends_exactly_one_message(php, certs, auth, graph):
    server = graph()
    token = app_only_token(auth)
    transport = api_transport("graph", server, certs, token, username=MAILBOX)
    diagnosis = run(php, transport, [token], send_test=True, **{"from": MAILBOX, "to": TO})
    expect(diagnosis, "ok")
    assert diagnosis.status("send") == "ok" and "202" in diagnosis.step("send")["detail"], diagnosis
    [request] = server.requests
    assert request.status == 202 and request.message["Subject"] == "rust-mail diagnostic test"
    assert request.message["To"] == TO and server.violations == []


def test_an_app_only_token_without_mail_send_fails_the_permission_and_sends_nothing(php, certs, auth, graph):
    server = graph()
    auth.app_roles = ["Mail.Read", "User.Read.All"]
    token = app_only_token(auth)
    transport = api_transport("graph", server, certs, token, username=MAILBOX)
    diagnosis = run(php, transport, [token], send_test=True, **{"from": MAILBOX, "to": TO})
    expect(diagnosis, "api_permission_missing", failed_step="permission", advice=["Mail.Send"])
    assert "Mail.Read User.Read.All" in diagnosis.step("permission")["detail"], diagnosis
    assert "application permission Mail.Send" in diagnosis.summary, diagnosis
    assert server.requests == [], diagnosis


def test_an_expired_token_is_its_own_finding(php, certs, auth, graph):
    server = graph()
    auth.app_token_lifetime = -600
    token = app_only_token(auth)
    diagnosis = run(php, api_transport("graph", server, certs, token, username=MAILBOX), [token])
    expect(diagnosis, "api_token_expired", failed_step="token", advice=["token"], summary=["expired"])
    assert "expired 10 min ago" in diagnosis.step("token")["detail"], diagnosis
    assert server.requests == [], diagnosis


# ---------------------------------------------------------------- Graph and Gmail, delegated

def test_a_delegated_graph_token_is_judged_by_the_scopes_the_token_endpoint_returned(php, certs, auth, graph):
    server = graph()
    answer = sign_in(auth, "microsoft", MAILBOX, answer=True)
    token, scopes = answer["access_token"], answer["scope"]
    transport = api_transport("graph", server, certs, token, username=MAILBOX)
    diagnosis = run(php, transport, [token], token_scopes=scopes)
    expect(diagnosis, "ok")
    assert diagnosis.step("token")["data"] == {"format": "opaque"}, diagnosis
    assert diagnosis.step("permission")["data"]["grant"] == "delegated", diagnosis
    # Without the scopes an opaque token says nothing of its permission: skipped, and said why.
    diagnosis = run(php, transport, [token])
    expect(diagnosis, "ok")
    assert diagnosis.status("permission") == "skip" and "token_scopes" in diagnosis.step("permission")["detail"]
    assert server.requests == []


def test_a_delegated_graph_token_without_mail_send(php, certs, auth, graph):
    """Signed in for SMTP's scope only: the walk says so from the granted scopes; a send_test without them is
    refused by the server as Graph refuses it (403 ErrorAccessDenied), and the walk says the same."""
    server = graph()
    answer = sign_in(auth, "microsoft", MAILBOX, scope="https://outlook.office.com/SMTP.Send", answer=True)
    token = answer["access_token"]
    transport = api_transport("graph", server, certs, token, username=MAILBOX)
    options = {"send_test": True, "from": MAILBOX, "to": TO}
    diagnosis = run(php, transport, [token], token_scopes=answer["scope"], **options)
    expect(diagnosis, "api_permission_missing", failed_step="permission", advice=["Mail.Send"])
    assert "https://outlook.office.com/SMTP.Send" in diagnosis.step("permission")["detail"], diagnosis
    assert server.requests == []
    diagnosis = run(php, transport, [token], **options)
    expect(diagnosis, "api_permission_missing", failed_step="send", advice=["Mail.Send"])
    assert [r.status for r in server.requests] == [403]   # the one test message, refused


@pytest.mark.parametrize("scope, cause", [("https://www.googleapis.com/auth/gmail.send", "ok"),
                                          ("https://www.googleapis.com/auth/gmail.readonly", "api_permission_missing")])
def test_gmail_needs_a_sending_scope(php, certs, auth, scope, cause):
    server = GmailServer(certs, account=MAILBOX, check_token=auth.check_access_token,
                         permissions=auth.token_permissions)
    try:
        answer = sign_in(auth, "google", MAILBOX, scope=scope, answer=True)
        token = answer["access_token"]
        diagnosis = run(php, api_transport("gmail", server, certs, token), [token], token_scopes=answer["scope"])
        if cause == "ok":
            expect(diagnosis, "ok")
            assert diagnosis.step("permission")["detail"] == f"the delegated token has the scope {scope}", diagnosis
        else:
            expect(diagnosis, cause, failed_step="permission", advice=["https://www.googleapis.com/auth/gmail.send"])
        assert server.requests == []
    finally:
        server.stop()


# ---------------------------------------------------------------- the connection

@pytest.mark.parametrize("cert, words, advice", [("wrongname", ["other.example", "127.0.0.1"], ["api_base"]),
                                                 ("expired", ["expired"], ["renew"])])
def test_a_bad_certificate_fails_the_tls_step_with_what_it_presented(php, certs, auth, graph, cert, words, advice):
    server = graph(cert=cert)
    token = app_only_token(auth)
    diagnosis = run(php, api_transport("graph", server, certs, token, username=MAILBOX), [token])
    expect(diagnosis, "tls_certificate_invalid", failed_step="tls", advice=advice)
    for word in words:
        assert word in diagnosis.summary, diagnosis
    assert diagnosis.raw["server"]["certificate"]["names"], diagnosis
    assert server.requests == []


def test_a_server_that_never_answers_the_handshake_is_a_timeout_within_the_time(php, certs, silent_server):
    transport = {"api": "graph", "api_base": f"https://127.0.0.1:{silent_server.port}", "ca_file": certs.ca,
                 "username": MAILBOX, "password": "EwA-sentinel-diagnose-token", "timeout": 3}
    diagnosis = run(php, transport, ["EwA-sentinel-diagnose-token"], timeout=3)
    expect(diagnosis, "timeout", failed_step="tls")
    assert diagnosis.status("tcp") == "ok", diagnosis
    assert diagnosis.elapsed < 3 + SLACK, diagnosis


def test_a_name_that_does_not_resolve_fails_the_dns_step(php, certs, dns_server):
    transport = {"api": "graph", "api_base": "https://graph.nothere.example:8443", "username": MAILBOX,
                 "password": "EwA-sentinel-diagnose-token"}
    diagnosis = run(php, transport, ["EwA-sentinel-diagnose-token"], nameserver=dns_server.address)
    expect(diagnosis, "dns_failed", failed_step="dns", summary=["graph.nothere.example"], advice=["api_base"])


# ---------------------------------------------------------------- SES and Mailgun

def test_ses_and_mailgun_walk_the_connection_and_send_only_when_asked(php, certs):
    ses = SesServer(certs, region="eu-west-1", keys={"AKIDDIAGNOSE0001": "S3ntinel-ses-diagnose-secret"})
    mailgun = MailgunServer(certs, key="key-S3ntinel-mailgun-diagnose", domains=("example.com",))
    try:
        for kind, server, fields, secret in [
            ("ses", ses, {"region": "eu-west-1", "username": "AKIDDIAGNOSE0001"}, "S3ntinel-ses-diagnose-secret"),
            ("mailgun", mailgun, {}, "key-S3ntinel-mailgun-diagnose"),
        ]:
            transport = api_transport(kind, server, certs, secret, **fields)
            diagnosis = run(php, transport, [secret])
            expect(diagnosis, "ok")
            assert (diagnosis.status("token"), diagnosis.status("permission"), diagnosis.status("send")) == \
                ("skip", "skip", "skip"), diagnosis
            assert server.requests == []
            diagnosis = run(php, transport, [secret], send_test=True, **{"from": "sender@example.com", "to": TO})
            expect(diagnosis, "ok")
            assert len(server.requests) == 1 and server.requests[0].status == 200 and server.violations == []
    finally:
        ses.stop()
        mailgun.stop()


def test_smtp_only_options_are_refused_with_an_api(php):
    transport = {"api": "graph", "username": MAILBOX, "password": "EwA-sentinel-diagnose-token"}
    for option, value in [("mx_domain", "contoso.example"), ("scan_ports", True)]:
        result, exception = php.call("rust_mail_diagnose", transport, {option: value})
        assert result is None and f"$options['{option}'] is for SMTP" in str(exception), (result, exception)
        assert "EwA-sentinel" not in str(exception)
