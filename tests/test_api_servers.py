"""Self-tests of the API contract servers (harness/api_servers.py), driven by Python's own HTTPS client (http.client
with the test CA), without the extension: what each server accepts, what it refuses and how, what it records."""
import base64
import hashlib
import http.client
import json
import ssl
import threading
import time

import pytest

from harness.api_servers import (GmailServer, GraphServer, MailgunServer, SesServer, sigv4_canonical_request,
                                 sigv4_sign, sigv4_signing_key, sign_in)
from harness.oauth_server import AuthorizationServer

MIME = (b"From: Sender <sender@example.com>\r\nTo: rcpt@example.com\r\nSubject: api harness\r\n"
        b"Message-ID: <harness-1@example.com>\r\n\r\nfirst line\r\n.leading dot stays\r\n")
TOKEN = "EwA-test-token-7f3e"
KEY_ID, SECRET = "AKIDTESTKEY0001", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYTESTKEY"


class Client:
    """One keep-alive HTTPS connection to a server, verified with the test CA."""

    def __init__(self, server, certs):
        context = ssl.create_default_context(cafile=certs.ca)
        self.connection = http.client.HTTPSConnection(server.host, server.port, context=context, timeout=10)

    def post(self, path, body, headers):
        self.connection.request("POST", path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        return response.status, response.headers, data

    def close(self):
        self.connection.close()


@pytest.fixture
def servers(certs):
    started = []

    def start(kind, **options):
        server = kind(certs, **options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def graph_post(client, body=None, token=TOKEN, mailbox="alice%40contoso.example", content_type="text/plain"):
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(f"/v1.0/users/{mailbox}/sendMail", base64.b64encode(MIME) if body is None else body, headers)


# ---------------------------------------------------------------- graph

def test_graph_accepts_base64_mime_and_records_it(servers, certs):
    server = servers(GraphServer, tokens=[TOKEN])
    client = Client(server, certs)
    status, headers, body = graph_post(client)
    assert (status, body) == (202, b"")
    assert headers["request-id"] and headers["client-request-id"]
    [request] = server.requests
    assert request.mime == MIME and request.mailbox == "alice@contoso.example"
    assert request.message_id == "harness-1@example.com" and request.status == 202
    assert server.violations == []
    # keep-alive: a second request on the same connection
    assert graph_post(client)[0] == 202
    assert (server.connections, server.handshakes) == (1, 1)
    assert [r.connection for r in server.requests] == [1, 1]
    client.close()


@pytest.mark.parametrize("token", [None, "EwA-somebody-elses"])
def test_graph_refuses_a_missing_or_unknown_token_with_401(servers, certs, token):
    server = servers(GraphServer, tokens=[TOKEN])
    status, headers, body = graph_post(Client(server, certs), token=token)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer ")
    error = json.loads(body)["error"]
    assert error["code"] == "InvalidAuthenticationToken" and error["message"]
    assert error["innerError"]["request-id"] == headers["request-id"]
    assert server.messages() == []


@pytest.mark.parametrize("body, content_type, words", [
    (base64.encodebytes(MIME), "text/plain", "base64"),           # line breaks in the base64
    (MIME, "text/plain", "base64"),                               # not base64 at all
    (base64.b64encode(MIME), "application/json", "Content-Type"),
])
def test_graph_refuses_a_body_that_breaks_the_contract_and_notes_it(servers, certs, body, content_type, words):
    server = servers(GraphServer, tokens=[TOKEN])
    status, _, answer = graph_post(Client(server, certs), body=body, content_type=content_type)
    assert status == 400 and json.loads(answer)["error"]["code"].startswith("ErrorMimeContent")
    assert len(server.violations) == 1 and words in server.violations[0]


def test_graph_scripted_errors_have_graphs_shape_and_retry_after(servers, certs):
    server = servers(GraphServer, tokens=[TOKEN]).queue("send_as_denied").queue("throttled", retry_after=7)
    server.queue("unavailable", retry_after="Wed, 21 Oct 2037 07:28:00 GMT").queue("garbage")
    client = Client(server, certs)
    status, headers, body = graph_post(client)
    assert status == 403 and json.loads(body)["error"]["code"] == "ErrorSendAsDenied"
    assert json.loads(body)["error"]["innerError"]["client-request-id"] == headers["client-request-id"]
    status, headers, body = graph_post(client)
    assert (status, headers["Retry-After"], json.loads(body)["error"]["code"]) == (429, "7", "ApplicationThrottled")
    status, headers, _ = graph_post(client)
    assert (status, headers["Retry-After"]) == (503, "Wed, 21 Oct 2037 07:28:00 GMT")
    status, headers, body = graph_post(client)
    assert status == 200 and headers["Content-Type"].startswith("text/html") and body.startswith(b"<!DOCTYPE html>")
    assert graph_post(client)[0] == 202
    assert [r.answer for r in server.requests] == ["send_as_denied", "throttled", "unavailable", "garbage", "ok"]
    assert len(server.messages()) == 1


def test_graph_counts_concurrent_requests_and_throttles_a_fifth_per_mailbox(servers, certs):
    server = servers(GraphServer, tokens=[TOKEN], delay=0.5)
    statuses = []

    def one():
        statuses.append(graph_post(Client(server, certs))[0])

    threads = [threading.Thread(target=one) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert server.peak == 5 and server.connections == 5
    assert sorted(statuses) == [202, 202, 202, 202, 429]
    assert [r.answer for r in server.requests].count("mailbox_concurrency") == 1


def test_graph_stall_reads_the_request_and_never_answers(servers, certs):
    server = servers(GraphServer, tokens=[TOKEN]).queue("stall")
    client = Client(server, certs)
    client.connection.timeout = 1
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        graph_post(client)
    assert time.monotonic() - started >= 0.9
    assert len(server.requests) == 1 and server.requests[0].mime == MIME and server.requests[0].status is None


def test_graph_revoke_after_n_accepted_turns_the_token_away(servers, certs):
    revoked = []
    server = servers(GraphServer, tokens=[TOKEN]).revoke_after(2, lambda: revoked.append(True))
    client = Client(server, certs)
    assert [graph_post(client)[0] for _ in range(4)] == [202, 202, 401, 401]
    assert revoked == [True]


def test_tokens_from_the_oauth_server_and_their_invalidation(servers, certs):
    auth = AuthorizationServer("contoso.onmicrosoft.com", "client-id", "client-secret")
    try:
        token = sign_in(auth, "microsoft", "alice@contoso.example")
        server = servers(GraphServer, check_token=auth.check_access_token)
        client = Client(server, certs)
        assert graph_post(client, token=token)[0] == 202
        assert graph_post(client, token=token, mailbox="mallory%40contoso.example")[0] == 401  # not that mailbox's
        server.revoke_after(1, auth.invalidate_access_tokens)
        assert graph_post(client, token=token)[0] == 202
        assert graph_post(client, token=token)[0] == 401
        assert not auth.check_access_token("alice@contoso.example", token)
    finally:
        auth.stop()


def client_credentials(auth):
    """The app-only token for Microsoft Graph, as the plugin fetches it."""
    import urllib.parse
    import urllib.request
    form = {"grant_type": "client_credentials", "client_id": auth.client_id, "client_secret": auth.client_secret,
            "scope": "https://graph.microsoft.com/.default"}
    with urllib.request.urlopen(auth.url.format(tenant=auth.tenant), urllib.parse.urlencode(form).encode(), timeout=10) as r:
        return json.loads(r.read())["access_token"]


def jwt_payload(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_graph_needs_mail_send_as_an_app_role_or_a_delegated_scope(servers, certs):
    """As Graph: an app-only token (a JWT whose roles claim lists the application permissions) without Mail.Send,
    or a sign-in's token without the delegated scope Mail.Send, gets 403 ErrorAccessDenied; with it, 202."""
    auth = AuthorizationServer("contoso.onmicrosoft.com", "client-id", "client-secret")
    try:
        server = servers(GraphServer, check_token=auth.check_access_token, permissions=auth.token_permissions)
        client = Client(server, certs)
        app = client_credentials(auth)
        assert jwt_payload(app)["roles"] == ["Mail.Send"] and jwt_payload(app)["aud"] == "https://graph.microsoft.com"
        assert graph_post(client, token=app)[0] == 202
        auth.app_roles = ["Mail.Read"]
        status, _, body = graph_post(client, token=client_credentials(auth))
        assert (status, json.loads(body)["error"]["code"]) == (403, "ErrorAccessDenied")
        answer = sign_in(auth, "microsoft", "alice@contoso.example", answer=True)
        assert answer["scope"] == "https://graph.microsoft.com/Mail.Send"   # the granted scopes, as Microsoft lists them
        assert graph_post(client, token=answer["access_token"])[0] == 202
        smtp = sign_in(auth, "microsoft", "alice@contoso.example", scope="https://outlook.office.com/SMTP.Send")
        status, _, body = graph_post(client, token=smtp)
        assert (status, json.loads(body)["error"]["code"]) == (403, "ErrorAccessDenied")
        # An app-only token past its expiry is refused as Graph refuses it.
        auth.app_roles, auth.app_token_lifetime = ["Mail.Send"], -60
        status, _, body = graph_post(client, token=client_credentials(auth))
        assert (status, json.loads(body)["error"]["code"]) == (401, "InvalidAuthenticationToken")
        assert server.violations == []
    finally:
        auth.stop()


def test_gmail_needs_a_sending_scope(servers, certs):
    auth = AuthorizationServer("contoso.onmicrosoft.com", "client-id", "client-secret")
    try:
        server = servers(GmailServer, account="bob@gmail.example", check_token=auth.check_access_token,
                         permissions=auth.token_permissions)
        client = Client(server, certs)
        path = "/upload/gmail/v1/users/me/messages/send?uploadType=media"
        for scope, status in [(None, 200), ("https://mail.google.com/", 200),
                              ("https://www.googleapis.com/auth/gmail.readonly https://mail.google.com/", 200)]:
            token = sign_in(auth, "google", "bob@gmail.example", scope=scope)
            assert client.post(path, MIME, {"Content-Type": "message/rfc822", "Authorization": f"Bearer {token}"})[0] == status
        # gmail.readonly alone is no sending scope.
        token = sign_in(auth, "google", "bob@gmail.example", scope="https://www.googleapis.com/auth/gmail.readonly")
        status, _, body = client.post(path, MIME, {"Content-Type": "message/rfc822", "Authorization": f"Bearer {token}"})
        assert (status, json.loads(body)["error"]["errors"][0]["reason"]) == (403, "insufficientPermissions")
        assert server.violations == []
    finally:
        auth.stop()


# ---------------------------------------------------------------- gmail

def test_gmail_media_upload_is_accepted_and_recorded(servers, certs):
    server = servers(GmailServer, tokens=[TOKEN], account="bob@gmail.example")
    status, _, body = Client(server, certs).post(
        "/upload/gmail/v1/users/me/messages/send?uploadType=media", MIME,
        {"Content-Type": "message/rfc822", "Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and set(json.loads(body)) >= {"id", "threadId"}
    [request] = server.requests
    assert (request.mime, request.mailbox, server.violations) == (MIME, "me", [])


@pytest.mark.parametrize("path, content_type, token, status, reason", [
    ("/upload/gmail/v1/users/me/messages/send?uploadType=media", "message/rfc822", "wrong", 401, "authError"),
    ("/upload/gmail/v1/users/me/messages/send", "message/rfc822", TOKEN, 400, "invalidArgument"),
    ("/upload/gmail/v1/users/me/messages/send?uploadType=media", "text/plain", TOKEN, 400, "invalidArgument"),
])
def test_gmail_refusals_have_googles_error_shape(servers, certs, path, content_type, token, status, reason):
    server = servers(GmailServer, tokens=[TOKEN])
    got, headers, body = Client(server, certs).post(path, MIME, {"Content-Type": content_type,
                                                                 "Authorization": f"Bearer {token}"})
    error = json.loads(body)["error"]
    assert (got, error["code"], error["errors"][0]["reason"]) == (status, status, reason)
    assert error["message"] and server.messages() == []
    assert bool(server.violations) == (status == 400)


def test_gmail_scripted_rate_limit(servers, certs):
    server = servers(GmailServer, tokens=[TOKEN]).queue("rate_limit", retry_after=3)
    status, headers, body = Client(server, certs).post(
        "/upload/gmail/v1/users/me/messages/send?uploadType=media", MIME,
        {"Content-Type": "message/rfc822", "Authorization": f"Bearer {TOKEN}"})
    assert (status, headers["Retry-After"]) == (429, "3")
    assert json.loads(body)["error"]["errors"][0]["reason"] == "rateLimitExceeded"


# ---------------------------------------------------------------- ses

def test_sigv4_matches_awss_documented_example():
    """The worked example of AWS's "Create a signed AWS API request" (IAM ListUsers, 20150830T123600Z)."""
    secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Host": "iam.amazonaws.com",
               "X-Amz-Date": "20150830T123600Z"}
    canonical = sigv4_canonical_request("GET", "/", [("Action", "ListUsers"), ("Version", "2010-05-08")], headers,
                                        ["content-type", "host", "x-amz-date"], hashlib.sha256(b"").hexdigest())
    assert hashlib.sha256(canonical.encode()).hexdigest() == "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
    assert sigv4_signing_key(secret, "20150830", "us-east-1", "iam").hex() == \
        "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
    signed = sigv4_sign("GET", "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
                        {"Content-Type": headers["Content-Type"]}, b"", "AKIDEXAMPLE", secret, "us-east-1", "iam",
                        when=time.strptime("20150830T123600Z", "%Y%m%dT%H%M%SZ"))
    assert signed["Authorization"].endswith("Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")


def ses_body(mime=MIME, recipients=("rcpt@example.com",)):
    return json.dumps({"FromEmailAddress": "sender@example.com", "Destination": {"ToAddresses": list(recipients)},
                       "Content": {"Raw": {"Data": base64.b64encode(mime).decode()}}}).encode()


def ses_post(server, certs, body=None, key_id=KEY_ID, secret=SECRET, region="eu-west-1", tamper=None):
    body = ses_body() if body is None else body
    url = f"{server.base}/v2/email/outbound-emails"
    headers = sigv4_sign("POST", url, {"Content-Type": "application/json"}, body, key_id, secret, region)
    if tamper:
        headers, body = tamper(headers, body)
    return Client(server, certs).post("/v2/email/outbound-emails", body, headers)


def test_ses_accepts_a_request_signed_as_aws_documents(servers, certs):
    server = servers(SesServer, keys={KEY_ID: SECRET})
    status, headers, body = ses_post(server, certs)
    assert status == 200 and json.loads(body)["MessageId"] and headers["x-amzn-RequestId"]
    [request] = server.requests
    assert (request.mime, request.sender, request.recipients) == (MIME, "sender@example.com", ["rcpt@example.com"])
    assert server.violations == [] and server.signature_failures == []


@pytest.mark.parametrize("case, tamper, key_id, secret, region, code", [
    ("body changed after signing", lambda h, b: (h, b.replace(b"rcpt@", b"evil@")), KEY_ID, SECRET, "eu-west-1",
     "SignatureDoesNotMatch"),
    ("a signed header changed", lambda h, b: (dict(h, **{"Content-Type": "application/json; x=1"}), b), KEY_ID, SECRET,
     "eu-west-1", "SignatureDoesNotMatch"),
    ("wrong secret", None, KEY_ID, "not-the-secret", "eu-west-1", "SignatureDoesNotMatch"),
    ("wrong region", None, KEY_ID, SECRET, "us-east-1", "SignatureDoesNotMatch"),
    ("unknown key id", None, "AKIDUNKNOWN", SECRET, "eu-west-1", "InvalidClientTokenId"),
])
def test_ses_refuses_a_bad_signature_as_ses_does(servers, certs, case, tamper, key_id, secret, region, code):
    server = servers(SesServer, keys={KEY_ID: SECRET})
    status, headers, body = ses_post(server, certs, key_id=key_id, secret=secret, region=region, tamper=tamper)
    assert status == 403, case
    assert headers["x-amzn-ErrorType"].split(":")[0] == code and headers["x-amzn-RequestId"]
    assert json.loads(body)["message"]
    assert server.messages() == [] and len(server.signature_failures) == 1


def test_ses_refuses_an_old_signature(servers, certs):
    server = servers(SesServer, keys={KEY_ID: SECRET})
    body = ses_body()
    headers = sigv4_sign("POST", f"{server.base}/v2/email/outbound-emails", {"Content-Type": "application/json"}, body,
                         KEY_ID, SECRET, "eu-west-1", when=time.gmtime(time.time() - 3600))
    status, headers, _ = Client(server, certs).post("/v2/email/outbound-emails", body, headers)
    assert (status, headers["x-amzn-ErrorType"]) == (400, "RequestExpired")


def test_ses_errors_carry_the_type_header_with_its_namespace(servers, certs):
    server = servers(SesServer, keys={KEY_ID: SECRET}).queue("not_verified").queue("throttled", retry_after=2)
    status, headers, body = ses_post(server, certs)
    assert status == 400 and headers["x-amzn-ErrorType"].startswith("MessageRejected:http")
    assert "not verified" in json.loads(body)["message"]
    status, headers, _ = ses_post(server, certs)
    assert (status, headers["x-amzn-ErrorType"].split(":")[0], headers["Retry-After"]) == (429, "TooManyRequestsException", "2")


def test_ses_notes_a_body_that_is_not_send_email(servers, certs):
    server = servers(SesServer, keys={KEY_ID: SECRET})
    status, _, _ = ses_post(server, certs, body=json.dumps({"Content": {"Simple": {}}}).encode())
    assert status == 400 and len(server.violations) == 1


# ---------------------------------------------------------------- mailgun

def form(fields, boundary="----harnessBoundary7"):
    out = b""
    for name, filename, content in fields:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename:
            out += b"Content-Type: message/rfc822\r\n"
        out += b"\r\n" + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def mailgun_post(server, certs, key="key-mailgun-test", fields=None, domain="example.com"):
    body, content_type = form(fields or [("to", None, b"rcpt@example.com, two@example.com"),
                                         ("message", "message.mime", MIME)])
    auth = base64.b64encode(f"api:{key}".encode()).decode()
    return Client(server, certs).post(f"/v3/{domain}/messages.mime", body,
                                      {"Content-Type": content_type, "Authorization": f"Basic {auth}"})


def test_mailgun_accepts_the_form_and_records_the_mime_byte_for_byte(servers, certs):
    server = servers(MailgunServer)
    status, _, body = mailgun_post(server, certs)
    assert status == 200 and json.loads(body)["message"] == "Queued. Thank you."
    [request] = server.requests
    assert request.mime == MIME and request.recipients == ["rcpt@example.com", "two@example.com"]
    assert request.mailbox == "example.com" and server.violations == []


def test_mailgun_refusals(servers, certs):
    server = servers(MailgunServer)
    status, _, body = mailgun_post(server, certs, key="key-wrong")
    assert (status, body) == (401, b"Forbidden")
    status, _, body = mailgun_post(server, certs, domain="other.example")
    assert status == 404 and "Domain not found" in json.loads(body)["message"]
    status, _, body = mailgun_post(server, certs, fields=[("message", "m.eml", MIME)])
    assert status == 400 and json.loads(body)["message"] and len(server.violations) == 1
    server.queue("sandbox")
    status, _, body = mailgun_post(server, certs)
    assert status == 403 and "authorized recipients" in json.loads(body)["message"]
    assert server.messages() == []


# ---------------------------------------------------------------- an independent client: curl

def curl(*args, data=None):
    import subprocess
    version = [] if "--http2" in args else ["--http1.1"]
    completed = subprocess.run(["curl", "-sS", *version, "-o", "-", "-w", "\n%{http_code}", *args],
                               input=data, capture_output=True, timeout=30)
    assert completed.returncode == 0, completed.stderr
    body, _, status = completed.stdout.rpartition(b"\n")
    return int(status), body


@pytest.mark.parametrize("http2", [False, True])
def test_ses_takes_a_request_curl_signed_with_its_own_sigv4(servers, certs, http2):
    server = servers(SesServer, keys={KEY_ID: SECRET}, http2=http2)
    status, body = curl(*(["--http2"] if http2 else []), "--cacert", certs.ca, "--aws-sigv4", "aws:amz:eu-west-1:ses", "--user", f"{KEY_ID}:{SECRET}",
                        "-H", "Content-Type: application/json", "--data-binary", "@-",
                        f"{server.base}/v2/email/outbound-emails", data=ses_body())
    assert status == 200, body
    assert server.requests[0].mime == MIME and server.signature_failures == []
    assert server.requests[0].protocol == ("HTTP/2" if http2 else "HTTP/1.1")
    status, _ = curl("--cacert", certs.ca, "--aws-sigv4", "aws:amz:eu-west-1:ses", "--user", f"{KEY_ID}:wrong",
                     "-H", "Content-Type: application/json", "--data-binary", "@-",
                     f"{server.base}/v2/email/outbound-emails", data=ses_body())
    assert status == 403 and server.signature_failures == ["signature mismatch"]


def test_mailgun_takes_curls_multipart_form(servers, certs, tmp_path):
    server = servers(MailgunServer)
    message = tmp_path / "message.mime"
    message.write_bytes(MIME)
    status, body = curl("--cacert", certs.ca, "--user", "api:key-mailgun-test", "-F", "to=rcpt@example.com",
                        "-F", f"message=@{message}", f"{server.base}/v3/example.com/messages.mime")
    assert status == 200, body
    assert server.requests[0].mime == MIME and server.requests[0].recipients == ["rcpt@example.com"]
    assert server.violations == []


def test_graph_and_gmail_take_curls_requests(servers, certs):
    graph = servers(GraphServer, tokens=[TOKEN])
    status, _ = curl("--cacert", certs.ca, "-H", f"Authorization: Bearer {TOKEN}", "-H", "Content-Type: text/plain",
                     "--data-binary", "@-", f"{graph.base}/v1.0/users/alice@contoso.example/sendMail",
                     data=base64.b64encode(MIME))
    assert status == 202 and graph.requests[0].mime == MIME
    gmail = servers(GmailServer, tokens=[TOKEN])
    status, _ = curl("--cacert", certs.ca, "-H", f"Authorization: Bearer {TOKEN}", "-H", "Content-Type: message/rfc822",
                     "--data-binary", "@-", f"{gmail.base}/upload/gmail/v1/users/me/messages/send?uploadType=media",
                     data=MIME)
    assert status == 200 and gmail.requests[0].mime == MIME
    assert graph.violations == gmail.violations == []


def test_http2_when_offered_with_curl(servers, certs):
    server = servers(GraphServer, tokens=[TOKEN], http2=True)
    import subprocess
    completed = subprocess.run(
        ["curl", "-sS", "--http2", "--cacert", certs.ca, "-o", "/dev/null", "-w", "%{http_version} %{http_code}\n",
         "-H", f"Authorization: Bearer {TOKEN}", "-H", "Content-Type: text/plain", "--data-binary", "@-",
         f"{server.base}/v1.0/users/alice%40contoso.example/sendMail",
         "--next", "--http2", "--cacert", certs.ca, "-o", "/dev/null", "-w", "%{http_version} %{http_code}\n",
         "-H", "Authorization: Bearer wrong", "-H", "Content-Type: text/plain", "--data-binary", "eA==",
         f"{server.base}/v1.0/users/alice%40contoso.example/sendMail"],
        input=base64.b64encode(MIME), capture_output=True, timeout=30)
    assert completed.stdout.decode().split("\n")[:2] == ["2 202", "2 401"], completed
    assert [r.protocol for r in server.requests] == ["HTTP/2", "HTTP/2"]
    assert server.requests[0].mime == MIME and server.connections == 1
    assert server.violations == []


def test_a_server_that_offers_http2_still_speaks_http11(servers, certs):
    """Python's HTTP/1.1 client against a server that offers h2: ALPN settles on http/1.1."""
    server = servers(SesServer, keys={KEY_ID: SECRET}, http2=True)
    status, _, _ = ses_post(server, certs)
    assert status == 200 and server.requests[0].protocol == "HTTP/1.1"
