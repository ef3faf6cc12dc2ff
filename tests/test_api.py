"""The extension's HTTPS API transports (issue 21; the contract: `api` = graph, gmail, ses, mailgun), through the real
PHP CLI with the built extension, against local HTTPS servers that follow each provider's documented contract
(harness/api_servers.py). Each test asserts what the server received (or that it received nothing) and what the PHP
caller got back. Bearer tokens come from the OAuth2 server (harness/oauth_server.py); the SES server checks the
AWS Signature Version 4 itself."""
import base64
import email.policy
import json
import re
import time
from email.parser import BytesHeaderParser

import pytest

from harness.api_servers import GmailServer, GraphServer, MailgunServer, SesServer, sign_in
from harness.mail import as_map, compose, describe
from harness.oauth_server import AuthorizationServer

APIS = ["graph", "gmail", "ses", "mailgun"]
MAILBOX = "alice@contoso.example"        # graph: the mailbox in the path; gmail: the token's account
KEY_ID, SECRET = "AKIDRUSTMAILTEST01", "S3ntinel-ses-Secret/kY7+pQ"
MAILGUN_KEY = "key-S3ntinel-mailgun-4b1d"
RESULT_KEYS = ["ok", "message_id", "accepted", "rejected", "code", "enhanced_code", "reply", "error", "transcript",
               "timings", "reused_connection"]
FIXED = {"Message-ID": "<api-differential-1@example.com>", "Date": "Tue, 1 Jul 2025 10:52:37 +0200"}
SUCCESS = {"graph": 202, "gmail": 200, "ses": 200, "mailgun": 200}


@pytest.fixture
def auth():
    server = AuthorizationServer("contoso.onmicrosoft.com", "rust-mail-api-tests", "client-secret-9c1e")
    yield server
    server.stop()


class Api:
    """A started contract server of one kind and the `$transport` that points the extension at it."""

    def __init__(self, kind, server, transport, secrets):
        self.kind, self.server, self.transport, self.secrets = kind, server, transport, secrets


@pytest.fixture
def api(certs, auth):
    """Factory: api(kind, **server options) -> Api. Graph and Gmail get a token the OAuth2 server issued for the
    mailbox by a sign-in asking for the API's sending scope (and check each request's token, and its scopes, with
    it); SES a key pair; Mailgun a key."""
    started = []
    tokens = {}

    def start(kind, transport=None, **options):
        if kind in ("graph", "gmail"):
            provider = "microsoft" if kind == "graph" else "google"
            if provider not in tokens:
                tokens[provider] = sign_in(auth, provider, MAILBOX)
            token = tokens[provider]
            if kind == "graph":
                server = GraphServer(certs, mailbox=MAILBOX, check_token=auth.check_access_token,
                                     permissions=auth.token_permissions, **options)
                fields = {"username": MAILBOX, "password": token}
            else:
                server = GmailServer(certs, account=MAILBOX, check_token=auth.check_access_token,
                                     permissions=auth.token_permissions, **options)
                fields = {"password": token}
            secrets = [token]
        elif kind == "ses":
            server = SesServer(certs, region="eu-west-1", keys={KEY_ID: SECRET}, **options)
            fields = {"region": "eu-west-1", "username": KEY_ID, "password": SECRET}
            secrets = [SECRET]
        else:
            server = MailgunServer(certs, key=MAILGUN_KEY, **dict({"domains": ("example.com",)}, **options))
            fields = {"password": MAILGUN_KEY}
            secrets = [MAILGUN_KEY, base64.b64encode(f"api:{MAILGUN_KEY}".encode()).decode()]
        started.append(server)
        full = {"api": kind, "api_base": server.base, "ca_file": certs.ca, "timeout": 10, **fields, **(transport or {})}
        return Api(kind, server, {k: v for k, v in full.items() if v is not None}, secrets)

    yield start
    for server in started:
        server.stop()


def call(php, fn, *args, timeout=120):
    started = time.monotonic()
    result, exception = php.call(fn, *args, timeout=timeout)
    return result, exception, time.monotonic() - started


def send(php, message, transport, options=None):
    result, exception, _ = call(php, "rust_mail_send", message, transport, *([options] if options else []))
    assert exception is None, f"unexpected exception: {exception}"
    assert isinstance(result, dict), result
    return result


def send_many(php, messages, transport, options=None):
    results, exception, elapsed = call(php, "rust_mail_send_many", messages, transport, *([options] if options else []))
    assert exception is None, f"unexpected exception: {exception}"
    return results, elapsed


def assert_sent(result, kind):
    assert result["ok"] is True, describe(result)
    assert result["error"] is None
    assert result["code"] == SUCCESS[kind], describe(result)


def assert_error(result, kind, cause, stage="request"):
    assert result["ok"] is False, describe(result)
    error = result["error"]
    assert (error["kind"], error["cause"], error["stage"]) == (kind, cause, stage), describe(result)
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["advice"], list) and error["advice"] and all(isinstance(a, str) and a for a in error["advice"])
    keys = list(error)
    assert "retry_after" in keys and keys.index("retry_after") == keys.index("advice") + 1, keys
    return error


def header_fields(raw):
    """The top header section of a message as [(name, bytes of the whole field, continuation lines included)], and
    the rest (from the empty line on)."""
    head, separator, rest = raw.partition(b"\r\n\r\n")
    fields = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + b"\r\n" + line)
        else:
            fields.append((line.split(b":", 1)[0].decode("latin-1").lower(), line))
    return fields, separator + rest


def without_bcc(raw):
    """(the message without its Bcc field(s), the Bcc fields, the index each had among the header fields)."""
    fields, rest = header_fields(raw)
    bcc = [(i, value) for i, (name, value) in enumerate(fields) if name == "bcc"]
    kept = [value for name, value in fields if name != "bcc"]
    return b"\r\n".join(kept) + rest, bcc, fields


def normalise_boundaries(raw):
    """MIME boundaries are random per composition: each replaced by its order of appearance."""
    found = []
    for boundary in re.findall(rb'boundary="?([^";\r\n]+)"?', raw):
        if boundary not in found:
            found.append(boundary)
    for number, boundary in enumerate(found):
        raw = raw.replace(boundary, b"BOUNDARY-%d" % number)
    return raw


def only_request(server):
    assert len(server.requests) == 1, [(r.method, r.path, r.status) for r in server.requests]
    assert server.violations == []
    return server.requests[0]


def smtp_reference(php, smtp_server, message):
    """What the SMTP path sends for `message`: (raw bytes, envelope sender, envelope recipients)."""
    server = smtp_server()
    result = send(php, message, {"host": server.host, "port": server.port, "security": "none", "timeout": 10})
    assert result["ok"], describe(result)
    [received] = server.messages
    return received


DIFFERENTIAL = compose(**{
    "from": "Sender Name <sender@example.com>",
    "to": ["rcpt@example.com", "Zoë Two <two@example.com>"],
    "cc": "Carbon <cc@example.com>",
    "bcc": ["hidden@example.com", "Hidden Two <h2@example.com>"],
    "reply_to": "replies@example.com",
    "subject": "Grüße über die API — a subject long enough to be folded somewhere along its way, surely",
    "text": "Zeile eins mit Umlauten: äöü ß\n.a line that starts with a dot\n" + "long " * 40 + "\nend\n",
    "headers": dict(FIXED, **{"X-Campaign": "api-diff"}),
})


# ---------------------------------------------------------------- a send is accepted, byte for byte

@pytest.mark.parametrize("kind", APIS)
def test_send_is_accepted_and_the_mime_is_what_smtp_sends(php, smtp_server, api, kind):
    reference = smtp_reference(php, smtp_server, DIFFERENTIAL)
    target = api(kind)
    result = send(php, DIFFERENTIAL, target.transport)
    assert_sent(result, kind)
    assert list(result) == RESULT_KEYS
    request = only_request(target.server)
    everyone = ["rcpt@example.com", "two@example.com", "cc@example.com", "hidden@example.com", "h2@example.com"]
    assert sorted(reference.rcpt_tos) == sorted(everyone)
    assert sorted(result["accepted"]) == sorted(everyone) and len(result["accepted"]) == len(everyone)
    assert as_map(result["rejected"]) == {}
    assert result["message_id"].strip("<>") == "api-differential-1@example.com"
    assert request.message_id == "api-differential-1@example.com"
    if kind in ("graph", "gmail"):
        # Recipients come from the headers: the Bcc recipients are added as a Bcc field, right after the last of
        # From/To/Cc; without it the message is SMTP's, byte for byte.
        rest, bcc, fields = without_bcc(request.mime)
        assert rest == reference.raw
        assert len(bcc) == 1, bcc
        index, field = bcc[0]
        last_address = max(i for i, (name, _) in enumerate(fields) if name in ("from", "to", "cc"))
        assert index == last_address + 1, [name for name, _ in fields]
        parsed = BytesHeaderParser(policy=email.policy.default).parsebytes(field + b"\r\n\r\n")
        assert [(a.display_name, a.addr_spec) for a in parsed["Bcc"].addresses] == \
            [("", "hidden@example.com"), ("Hidden Two", "h2@example.com")]
        assert b"Bcc:" not in reference.raw
    else:
        assert request.mime == reference.raw
        assert b"hidden@example.com" not in request.mime
        assert sorted(request.recipients) == sorted(reference.rcpt_tos)
        assert len(request.recipients) == len(reference.rcpt_tos)
    if kind == "ses":
        assert request.sender == reference.mail_from == "sender@example.com"
    if kind == "graph":
        assert request.path == f"/v1.0/users/{MAILBOX.replace('@', '%40')}/sendMail" or \
            request.path == f"/v1.0/users/{MAILBOX}/sendMail"
    if kind == "gmail":
        assert request.mailbox == "me" and request.query == {"uploadType": "media"}
    if kind == "mailgun":
        assert request.mailbox == "example.com"    # the envelope sender's domain


@pytest.mark.parametrize("kind", APIS)
def test_a_message_with_an_attachment_and_no_bcc_is_smtps_bytes(php, smtp_server, api, kind):
    message = compose(text="see the attachment", html="<p>see the <b>attachment</b></p>", headers=FIXED,
                      attachments=[{"content": bytes(range(256)) * 40, "name": "blob.bin"}])
    reference = smtp_reference(php, smtp_server, message)
    target = api(kind)
    assert_sent(send(php, message, target.transport), kind)
    request = only_request(target.server)
    assert normalise_boundaries(request.mime) == normalise_boundaries(reference.raw)


@pytest.mark.parametrize("kind", ["ses", "mailgun"])
def test_a_raw_message_goes_as_given_to_its_envelope(php, api, kind):
    raw = (b"From: Sender <sender@example.com>\r\nTo: list@example.com\r\nSubject: raw\r\n"
           b"Message-ID: <raw-1@example.com>\r\n\r\nbody line\r\n.dot line\r\n")
    target = api(kind)
    result = send(php, {"raw": raw, "envelope": {"from": "bounce@example.com", "to": ["a@example.com", "b@example.com"]}},
                  target.transport)
    assert_sent(result, kind)
    request = only_request(target.server)
    assert request.mime == raw
    assert sorted(request.recipients) == ["a@example.com", "b@example.com"]
    if kind == "ses":
        assert request.sender == "bounce@example.com"


@pytest.mark.parametrize("kind", APIS)
def test_the_transcript_names_the_request_and_the_providers_request_ids(php, api, kind):
    target = api(kind)
    result = send(php, compose(), target.transport)
    assert_sent(result, kind)
    lines = [entry["line"] for entry in result["transcript"]]
    assert all(entry["dir"] in ("client", "server", "info") for entry in result["transcript"])
    client = [e["line"] for e in result["transcript"] if e["dir"] == "client"]
    request = only_request(target.server)
    assert any(line.startswith("POST ") and request.path.split("/")[-1] in line for line in client), lines
    server_lines = [e["line"] for e in result["transcript"] if e["dir"] == "server"]
    assert any(line.startswith(str(SUCCESS[kind])) for line in server_lines), lines
    timings = result["timings"]
    assert set(timings) >= {"connect", "tls", "auth", "send", "total"}
    assert all(isinstance(v, (int, float)) and v >= 0 for v in timings.values())
    assert result["reused_connection"] is False
    if kind == "graph":
        assert any(line.startswith("request-id: ") for line in lines), lines
        assert any(line.startswith("client-request-id: ") for line in lines), lines
    if kind == "ses":
        assert any(line.lower().startswith("x-amzn-requestid: ") for line in lines), lines


@pytest.mark.parametrize("answer", ["ok", "send_as_denied"])
def test_graph_request_ids_in_the_transcript_are_the_ones_the_server_sent(php, api, answer):
    target = api("graph")
    target.server.always(answer)
    result = send(php, compose(), target.transport)
    request = only_request(target.server)
    lines = [e["line"] for e in result["transcript"]]
    for name in ("request-id", "client-request-id"):
        assert f"{name}: {request.answer_headers[name]}" in lines, lines
    if answer != "ok":
        assert any("ErrorSendAsDenied" in line for line in lines), lines


def test_ses_request_id_in_the_transcript_is_the_one_the_server_sent(php, api):
    target = api("ses")
    result = send(php, compose(), target.transport)
    request = only_request(target.server)
    lines = [e["line"].lower() for e in result["transcript"]]
    assert f"x-amzn-requestid: {request.answer_headers['x-amzn-RequestId']}".lower() in lines, lines


@pytest.mark.parametrize("kind", APIS)
def test_a_path_in_api_base_is_kept_as_a_prefix(php, api, kind):
    target = api(kind, prefix="/proxy/" + kind)
    target.transport["api_base"] = target.server.base + "/proxy/" + kind
    result = send(php, compose(), target.transport)
    assert_sent(result, kind)
    request = only_request(target.server)
    assert request.path.startswith(f"/proxy/{kind}/")


def test_mailgun_region_eu_with_an_api_base_goes_to_the_api_base(php, api):
    target = api("mailgun", transport={"region": "eu"})
    assert_sent(send(php, compose(), target.transport), "mailgun")
    assert len(target.server.messages()) == 1


def test_graph_and_gmail_name_the_mailbox_in_the_path_and_mailgun_the_domain(php, api):
    gmail = api("gmail", transport={"username": MAILBOX})
    assert_sent(send(php, compose(), gmail.transport), "gmail")
    assert only_request(gmail.server).mailbox == MAILBOX
    mailgun = api("mailgun", domains=("mg.example.org",), transport={"username": "mg.example.org"})
    assert_sent(send(php, compose(), mailgun.transport), "mailgun")
    assert only_request(mailgun.server).mailbox == "mg.example.org"


@pytest.mark.parametrize("kind, cert, words", [("graph", "selfsigned", "self-signed"),
                                               ("gmail", "wrongname", "other.example"),
                                               ("ses", "expired", "expired")])
def test_a_certificate_that_does_not_verify_stops_before_the_request(php, api, kind, cert, words):
    """As over SMTP (the same cause, and a message that says what is wrong with the certificate)."""
    target = api(kind, cert=cert)
    result = send(php, compose(), target.transport)
    error = assert_error(result, "tls", "tls_certificate_invalid", stage="tls_handshake")
    assert words in error["message"], error["message"]
    assert target.server.requests == []
    assert_no_secret(result, target)


def test_a_refused_connection_is_transient(php, api, closed_port):
    target = api("ses")
    target.transport["api_base"] = f"https://127.0.0.1:{closed_port}"
    result = send(php, compose(), target.transport)
    error = assert_error(result, "connect_refused", "connection_refused", stage="connect")
    assert error["transient"] is True


@pytest.mark.parametrize("kind", APIS)
def test_http2_where_the_server_offers_it(php, smtp_server, api, kind):
    """The same request, byte for byte the same message, over HTTP/2 (ALPN h2); the transcript says so."""
    target = api(kind, http2=True)
    result = send(php, DIFFERENTIAL, target.transport)
    assert_sent(result, kind)
    request = only_request(target.server)
    assert request.protocol == "HTTP/2"
    assert any("HTTP/2" in e["line"] for e in result["transcript"] if e["dir"] == "client"), result["transcript"]
    plain = api(kind)
    assert_sent(send(php, DIFFERENTIAL, plain.transport), kind)
    assert only_request(plain.server).protocol == "HTTP/1.1"
    assert only_request(plain.server).mime == request.mime


def test_send_many_over_http2_keeps_at_most_4_streams_for_graph(php, api):
    target = api("graph", http2=True, delay=0.3)
    first_try_throttled(target.server, retry_after=1)
    results, _ = send_many(php, numbered(10), target.transport, {"timeout": 60})
    assert all(r["ok"] for r in results), [describe(r) for r in results if not r["ok"]]
    assert all(len(tries) == 2 for tries in target.server.by_message_id().values())
    assert {r.protocol for r in target.server.requests} == {"HTTP/2"}
    # (The contract does not say one connection: the client may open one per request started before the first
    # handshake ended; never more than the requests in flight, and the retries go on the open ones.)
    assert target.server.connections <= 4, target.server.connections
    assert 2 <= target.server.peak <= 4, target.server.peak


# ---------------------------------------------------------------- each error class

T, F, ANY = True, False, None
# (api, scripted answer or a credential fault, params, status, kind, cause, enhanced_code, transient, retry_after)
ERRORS = [
    ("graph", "access_denied", {}, 403, "sender_rejected", "api_permission_missing", "ErrorAccessDenied", F, None),
    ("graph", "mailbox_not_enabled", {}, 404, "sender_rejected", "api_mailbox_unavailable", "MailboxNotEnabledForRESTAPI", F, None),
    ("graph", "send_as_denied", {}, 403, "sender_rejected", "sender_not_allowed", "ErrorSendAsDenied", F, None),
    ("graph", "invalid_recipients", {}, 400, "recipient_rejected", "recipient_rejected", "ErrorInvalidRecipients", F, None),
    ("graph", "size_exceeded", {}, 400, "data_rejected", "message_too_large", "ErrorMessageSizeExceeded", F, None),
    ("graph", "entity_too_large", {}, 413, "data_rejected", "message_too_large", "RequestEntityTooLarge", F, None),
    ("graph", "bad_request", {}, 400, "data_rejected", "api_request_rejected", "ErrorInvalidRequest", F, None),
    ("graph", "expired_token", {}, 401, "auth", "api_token_rejected", "InvalidAuthenticationToken", F, None),
    ("graph", "@wrong_credentials", {}, 401, "auth", "api_token_rejected", "InvalidAuthenticationToken", F, None),
    ("graph", "throttled", {"retry_after": 30}, 429, "data_rejected", "throttled", "ApplicationThrottled", T, 30),
    ("graph", "unavailable", {"retry_after": "@date+40"}, 503, "data_rejected", "api_unavailable", "ServiceUnavailable", T, 40),
    ("graph", "internal", {}, 500, "data_rejected", "api_unavailable", "generalException", T, None),
    ("graph", "bad_gateway", {}, 502, "data_rejected", "api_unavailable", "UnknownError", T, None),
    ("graph", "gateway_timeout", {}, 504, "data_rejected", "api_unavailable", "UnknownError", T, None),
    ("gmail", "insufficient_permissions", {}, 403, "sender_rejected", "api_permission_missing", "insufficientPermissions", F, None),
    ("gmail", "failed_precondition", {}, 400, "sender_rejected", "api_mailbox_unavailable", "failedPrecondition", F, None),
    ("gmail", "rate_limit", {"retry_after": 30}, 429, "data_rejected", "throttled", "rateLimitExceeded", T, 30),
    ("gmail", "user_rate_limit", {}, 403, "data_rejected", "throttled", "userRateLimitExceeded", ANY, None),
    ("gmail", "daily_limit", {}, 403, "data_rejected", "daily_limit_reached", "dailyLimitExceeded", ANY, None),
    ("gmail", "invalid_argument", {}, 400, "data_rejected", "api_request_rejected", "invalidArgument", F, None),
    ("gmail", "auth_error", {}, 401, "auth", "api_token_rejected", "authError", F, None),
    ("gmail", "@wrong_credentials", {}, 401, "auth", "api_token_rejected", "authError", F, None),
    ("gmail", "unavailable", {"retry_after": 20}, 503, "data_rejected", "api_unavailable", "backendError", T, 20),
    ("ses", "not_verified", {}, 400, "sender_rejected", "sender_not_allowed", "MessageRejected", F, None),
    ("ses", "sandbox", {}, 400, "sender_rejected", "api_sandbox", "MessageRejected", F, None),
    ("ses", "paused", {}, 400, "sender_rejected", "api_account_paused", "SendingPausedException", F, None),
    ("ses", "access_denied", {}, 403, "sender_rejected", "api_permission_missing", "AccessDeniedException", F, None),
    ("ses", "throttled", {"retry_after": 30}, 429, "data_rejected", "throttled", "TooManyRequestsException", T, 30),
    ("ses", "daily_quota", {"retry_after": None}, 429, "data_rejected", "daily_limit_reached", "TooManyRequestsException", T, None),
    ("ses", "bad_request", {}, 400, "data_rejected", "api_request_rejected", "BadRequestException", F, None),
    ("ses", "@wrong_credentials", {}, 403, "auth", "api_token_rejected", "SignatureDoesNotMatch", F, None),
    ("ses", "@unknown_key", {}, 403, "auth", "api_token_rejected", "InvalidClientTokenId", F, None),
    ("ses", "unavailable", {"retry_after": 25}, 503, "data_rejected", "api_unavailable", "ServiceUnavailable", T, 25),
    ("mailgun", "@wrong_credentials", {}, 401, "auth", "api_token_rejected", None, F, None),
    ("mailgun", "bad_request", {}, 400, "data_rejected", "api_request_rejected", None, F, None),
    ("mailgun", "sandbox", {}, 403, "sender_rejected", "api_sandbox", None, F, None),
    ("mailgun", "too_large", {}, 413, "data_rejected", "message_too_large", None, F, None),
    ("mailgun", "throttled", {"retry_after": 30}, 429, "data_rejected", "throttled", None, T, 30),
    ("mailgun", "internal", {}, 500, "data_rejected", "api_unavailable", None, T, None),
]


@pytest.mark.parametrize("kind, answer, params, status, error_kind, cause, enhanced, transient, retry_after", ERRORS,
                         ids=[f"{row[0]}-{row[1].lstrip('@')}" for row in ERRORS])
def test_each_provider_error_maps_to_its_kind_cause_and_advice(php, api, kind, answer, params, status, error_kind,
                                                                cause, enhanced, transient, retry_after):
    target = api(kind)
    transport = dict(target.transport)
    if answer == "@wrong_credentials":
        transport["password"] = "EwA-not-a-token-it-issued" if kind in ("graph", "gmail") else "wrong-secret-or-key"
    elif answer == "@unknown_key":
        transport["username"] = "AKIDNOBODYKNOWS0001"
    else:
        params = dict(params)
        if params.get("retry_after") == "@date+40":
            params["retry_after"] = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 40))
        target.server.always(answer, **params)
    message = compose(to=["rcpt@example.com", "two@example.com"])
    result = send(php, message, transport)
    error = assert_error(result, error_kind, cause)
    assert result["code"] == status, describe(result)
    assert result["enhanced_code"] == enhanced, describe(result)
    if transient is not None:
        assert error["transient"] is transient, describe(result)
    if retry_after is None:
        assert error["retry_after"] is None, describe(result)
    else:
        assert isinstance(error["retry_after"], (int, float)), describe(result)
        assert retry_after - 3 <= error["retry_after"] <= retry_after, describe(result)
    # reply: "{status} {reason or provider code}: {provider message}", the message as the server wrote it
    # (one line: runs of white space made one space; without a message, no ": "; the reason phrase for a status
    # without a provider code is the HTTP one, in either spelling, e.g. 413 Request Entity / Payload Too Large)
    said = " ".join(provider_message(kind, target.server.requests[0].answer_body).split())
    reason = re.escape(enhanced) if enhanced else "[A-Z][A-Za-z -]+"
    assert re.fullmatch(rf"{status} {reason}" + (f": {re.escape(said)}" if said else ""), result["reply"]), \
        (result["reply"], said)
    # The server refused it exactly once: a refusal is not sent again.
    assert len(target.server.requests) == 1 and target.server.messages() == []
    assert target.server.requests[0].status == status
    if error_kind == "recipient_rejected":
        assert result["accepted"] == [] and sorted(as_map(result["rejected"])) == ["rcpt@example.com", "two@example.com"]
    else:
        assert as_map(result["rejected"]) == {}
    assert_no_secret(result, target)


def provider_message(kind, body):
    """The message in a provider's error body (Mailgun's 401 is the bare word)."""
    try:
        value = json.loads(body)
    except ValueError:
        return body.decode()
    return value["error"]["message"] if kind in ("graph", "gmail") else value["message"]


def test_an_smtp_result_has_retry_after_null(php, smtp_server):
    server = smtp_server(replies={"mail": "553 5.7.1 Sender address rejected"})
    result = send(php, compose(), {"host": server.host, "port": server.port, "security": "none", "timeout": 10})
    error = assert_error(result, "sender_rejected", result["error"]["cause"], stage="mail")
    assert error["retry_after"] is None


def test_verify_peer_false_takes_a_self_signed_certificate(php, api):
    target = api("mailgun", cert="selfsigned", transport={"verify_peer": False, "ca_file": None})
    assert_sent(send(php, compose(), target.transport), "mailgun")
    assert len(target.server.messages()) == 1


@pytest.mark.parametrize("kind", APIS)
def test_an_html_page_where_the_api_belongs_is_a_protocol_error(php, api, kind):
    target = api(kind)
    target.server.always("garbage")
    result = send(php, compose(), target.transport)
    assert_error(result, "protocol", result["error"]["cause"] if result["error"] else "?")
    assert result["error"]["cause"] not in ("", "ok")
    assert len(target.server.requests) == 1


# ---------------------------------------------------------------- send_many: 429 storm, concurrency, deadline

def numbered(count):
    return [compose(subject=f"message {i}", headers={"Message-ID": f"<many-{i}@example.com>"}) for i in range(count)]


def first_try_throttled(server, answer="throttled", retry_after=1):
    def choose(request):
        seen = server.by_message_id().get(request.message_id, [])
        return (answer, {"retry_after": retry_after}) if len(seen) == 1 else None
    server.answer_by(choose)


@pytest.mark.parametrize("answer", ["throttled", "unavailable"])
def test_a_429_storm_on_graph_is_waited_out_in_order_with_at_most_4_in_flight(php, api, answer):
    target = api("graph", delay=0.2)
    first_try_throttled(target.server, answer, retry_after=1)
    results, elapsed = send_many(php, numbered(10), target.transport, {"timeout": 60})
    assert len(results) == 10
    for i, result in enumerate(results):
        assert_sent(result, "graph")
        assert result["message_id"].strip("<>") == f"many-{i}@example.com"
    tries = target.server.by_message_id()
    assert sorted(tries) == sorted(f"many-{i}@example.com" for i in range(10))
    for message_id, requests in tries.items():
        first = 429 if answer == "throttled" else 503
        assert [r.status for r in requests] == [first, 202], (message_id, [r.status for r in requests])
        # Retry-After: 1 was honoured: the second try came at least a second after the 429.
        assert requests[1].at - requests[0].answered_at >= 0.95, message_id
    assert 2 <= target.server.peak <= 4, target.server.peak
    assert "mailbox_concurrency" not in [r.answer for r in target.server.requests]
    assert target.server.violations == []
    assert elapsed < 60


@pytest.mark.parametrize("kind", ["gmail", "ses", "mailgun"])
def test_send_many_runs_in_parallel_up_to_8_for_the_other_apis(php, api, kind):
    target = api(kind, delay=0.3)
    results, _ = send_many(php, numbered(20), target.transport)
    assert all(r["ok"] for r in results), [describe(r) for r in results if not r["ok"]]
    assert all(list(r) == RESULT_KEYS for r in results)
    assert [r["message_id"].strip("<>") for r in results] == [f"many-{i}@example.com" for i in range(20)]
    assert len(target.server.messages()) == 20
    assert 2 <= target.server.peak <= 8, target.server.peak


def test_a_retry_after_beyond_the_deadline_is_returned_not_waited(php, api):
    target = api("graph")
    target.server.always("throttled", retry_after=120)
    results, elapsed = send_many(php, numbered(3), target.transport, {"timeout": 8})
    for result in results:
        error = assert_error(result, "data_rejected", "throttled")
        assert error["transient"] is True and error["retry_after"] == 120
        assert result["code"] == 429
    assert sorted(len(r) for r in target.server.by_message_id().values()) == [1, 1, 1]
    assert elapsed < 8 + 5


def test_a_429_is_retried_once_only(php, api):
    target = api("ses")
    target.server.always("throttled", retry_after=1)
    results, elapsed = send_many(php, numbered(3), target.transport, {"timeout": 30})
    for result in results:
        error = assert_error(result, "data_rejected", "throttled")
        assert error["retry_after"] == 1
    assert sorted(len(r) for r in target.server.by_message_id().values()) == [2, 2, 2]
    assert 1 <= elapsed < 30


def test_a_token_that_expires_mid_batch(php, api, auth):
    target = api("graph")
    target.server.revoke_after(3, auth.invalidate_access_tokens)
    results, _ = send_many(php, numbered(10), target.transport, {"timeout": 60})
    accepted = {r.message_id for r in target.server.messages()}
    assert 3 <= len(accepted) < 10
    for i, result in enumerate(results):
        message_id = f"many-{i}@example.com"
        if message_id in accepted:
            assert_sent(result, "graph")
        else:
            assert_error(result, "auth", "api_token_rejected")
            assert result["code"] == 401
    assert sum(r["ok"] for r in results) == len(accepted)
    # A rejected token is not tried again for the same message.
    assert all(len(requests) == 1 for requests in target.server.by_message_id().values())


# ---------------------------------------------------------------- deadlines and size

@pytest.mark.parametrize("kind", APIS)
def test_a_stalled_server_cannot_hold_the_call_past_its_timeout(php, api, kind):
    target = api(kind, transport={"timeout": 3})
    target.server.always("stall")
    result, exception, elapsed = call(php, "rust_mail_send", compose(), target.transport)
    assert exception is None, exception
    error = assert_error(result, "timeout", "timeout")
    assert error["transient"] is True
    assert elapsed < 3 + 4, elapsed          # PHP's own start-up is in there too
    assert len(target.server.requests) == 1  # it did send; the answer never came
    assert target.server.requests[0].status is None


def test_a_firewall_dropping_https_is_a_connect_timeout_at_the_port(php, netns):
    """Outgoing packets to 443 vanish, as behind a host that blocks it: no answer at all, so the connect times out and
    the cause is a blocked port; the TCP probe in the last tenth of the time is dropped too, so it is not mistaken
    for an unanswered TLS handshake."""
    netns.drop(443)
    transport = {"api": "graph", "api_base": "https://127.0.0.1", "username": MAILBOX,
                 "password": "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.sentinel-token", "timeout": 2}
    result, exception, elapsed = call(netns.php(php), "rust_mail_send", compose(), transport)
    assert exception is None, exception
    error = assert_error(result, "connect_timeout", "port_blocked", stage="connect")
    assert error["transient"] is True and "127.0.0.1:443" in error["message"], describe(result)
    assert "sentinel-token" not in json.dumps(result)
    assert elapsed < 2 + 4, elapsed


def test_a_server_that_accepts_and_never_speaks_cannot_hold_the_call(php, api, silent_server):
    """TCP is connected (the kernel accepts), the TLS handshake never answered: as over SMTP with security tls, a
    timeout at tls_handshake, not a firewall dropping the connection."""
    target = api("graph", transport={"timeout": 3})
    target.transport["api_base"] = f"https://127.0.0.1:{silent_server.port}"
    result, exception, elapsed = call(php, "rust_mail_send", compose(), target.transport)
    assert exception is None, exception
    assert result["ok"] is False and result["error"]["kind"] == "timeout", describe(result)
    assert result["error"]["cause"] == "timeout" and result["error"]["transient"] is True
    assert result["error"]["stage"] == "tls_handshake", describe(result)
    assert elapsed < 3 + 4, elapsed


def test_a_stalled_server_cannot_hold_send_many_past_its_deadline(php, api):
    target = api("gmail", transport={"timeout": 2})
    target.server.always("stall")
    results, elapsed = send_many(php, numbered(3), target.transport, {"timeout": 6})
    assert len(results) == 3
    for result in results:
        error = assert_error(result, "timeout", "timeout")
        assert error["transient"] is True
    assert elapsed < 6 + 4, elapsed
    # Each message was sent once at most: a message whose answer never came is not sent again.
    assert all(len(requests) == 1 for requests in target.server.by_message_id().values())


def test_graph_refuses_a_message_over_4_mb_of_base64_before_sending(php, api):
    target = api("graph")
    big = compose(attachments=[{"content": b"\xa5" * 3_200_000, "name": "big.bin"}])
    result = send(php, big, target.transport)
    error = assert_error(result, "data_rejected", "message_too_large", stage="input")
    assert error["transient"] is False
    assert target.server.requests == []
    # Just under the limit goes.
    fits = compose(attachments=[{"content": b"\xa5" * 2_200_000, "name": "fits.bin"}])
    assert_sent(send(php, fits, target.transport), "graph")
    request = only_request(target.server)
    assert 3_000_000 < len(request.mime) and len(request.body) <= 4 * 1024 * 1024


def test_gmail_refuses_a_message_over_35_mb_before_sending(php, api, tmp_path):
    target = api("gmail")
    attachment = tmp_path / "huge.bin"
    attachment.write_bytes(bytes(range(256)) * 108_200)   # 27.7 MB of binary: base64 makes about 37.5 MB of message
    result = send(php, compose(attachments=[str(attachment)]), target.transport,
                  {"max_attachment_bytes": 40 * 1024 * 1024})
    assert_error(result, "data_rejected", "message_too_large", stage="input")
    assert target.server.requests == []


# ---------------------------------------------------------------- connection reuse

def two_sends(php, transport):
    code = f"""
    $transport = {php.php_literal(transport)};
    $results = [];
    foreach (['first', 'second'] as $subject) {{
        $results[] = rust_mail_send(['from' => 'sender@example.com', 'to' => 'rcpt@example.com',
                                     'subject' => $subject, 'text' => 'x'], $transport);
    }}
    harness_print($results);
    """
    return php.run(code).json()


@pytest.mark.parametrize("kind", APIS)
def test_pool_on_reuses_one_tls_connection(php, api, kind):
    target = api(kind)
    first, second = two_sends(php, target.transport)
    assert_sent(first, kind)
    assert_sent(second, kind)
    assert (target.server.connections, target.server.handshakes) == (1, 1)
    assert len(target.server.messages()) == 2
    assert first["reused_connection"] is False and second["reused_connection"] is True
    assert (second["timings"]["connect"], second["timings"]["tls"], second["timings"]["auth"]) == (0, 0, 0)


def test_pool_off_opens_a_connection_per_send(php, api):
    target = api("graph", transport={"pool": False})
    first, second = two_sends(php, target.transport)
    assert_sent(first, "graph")
    assert_sent(second, "graph")
    assert target.server.connections == 2
    assert second["reused_connection"] is False


# ---------------------------------------------------------------- secrets

def assert_no_secret(result, target, exception=None):
    dumped = json.dumps(result, default=repr) + json.dumps(exception, default=repr)
    for secret in target.secrets:
        assert secret not in dumped, f"secret leaked: {secret[:6]}..."
    for request in target.server.requests:
        authorization = request.headers.get("Authorization")
        if authorization:
            assert authorization not in dumped
            assert authorization.split(" ", 1)[1][:40] not in dumped
            signature = re.search(r"Signature=([0-9a-f]{64})", authorization)
            assert not signature or signature.group(1) not in dumped
    for one in result if isinstance(result, list) else [result]:
        for entry in (one or {}).get("transcript") or []:
            line = entry["line"].lower()
            assert "authorization:" not in line or line.split("authorization:", 1)[1].strip() in ("[redacted]", ""), entry


@pytest.mark.parametrize("kind", APIS)
def test_secrets_never_come_back(php, api, kind):
    target = api(kind)
    assert_no_secret(send(php, compose(), target.transport), target)
    target.server.always("unavailable", retry_after=50)
    assert_no_secret(send(php, compose(), target.transport), target)
    results, _ = send_many(php, numbered(2), target.transport, {"timeout": 5})
    assert_no_secret(results, target)
    # An exception about the transport does not carry the secret either.
    result, exception, _ = call(php, "rust_mail_send", compose(), dict(target.transport, host="smtp.example.com"))
    assert result is None and exception is not None
    assert_no_secret(None, target, exception)
    assert len(target.server.requests) == 2 + 2


# ---------------------------------------------------------------- refusals before any connection

# (api, the change to a working transport, the key the refusal must name, words it must hold besides)
REFUSALS = [
    ("graph", {"api": "sendgrid"}, "api", ["sendgrid", "graph", "gmail", "ses", "mailgun"]),
    ("graph", {"api_base": "@http"}, "api_base", ["https"]),
    ("gmail", {"api_base": "ftp://127.0.0.1/"}, "api_base", ["https"]),
    ("graph", {"host": "smtp.office365.com"}, "host", ["api"]),
    ("gmail", {"port": 587}, "port", ["api"]),
    ("mailgun", {"security": "tls"}, "security", ["api"]),
    ("graph", {"auth": "xoauth2"}, "auth", ["api"]),
    ("ses", {"helo": "me.example"}, "helo", ["api"]),
    ("graph", {"allow_insecure_auth": True}, "allow_insecure_auth", ["api"]),
    ("mailgun", {"chunking": False}, "chunking", ["api"]),
    ("ses", {"region": None}, "region", ["ses"]),
    ("graph", {"region": "eu-west-1"}, "region", ["graph"]),
    ("gmail", {"region": "eu"}, "region", ["gmail"]),
    ("mailgun", {"region": "asia"}, "region", ["asia", "eu"]),
    ("graph", {"username": None}, "username", ["graph"]),
    ("ses", {"username": None}, "username", ["ses"]),
]


@pytest.mark.parametrize("kind, change, key, words", REFUSALS, ids=[f"{r[0]}-{r[2]}-{i}" for i, r in enumerate(REFUSALS)])
def test_a_transport_that_cannot_work_is_refused_before_any_connection(php, api, kind, change, key, words):
    target = api(kind)
    transport = dict(target.transport)
    for name, value in change.items():
        if value is None:
            transport.pop(name, None)
        elif value == "@http":
            transport[name] = f"http://127.0.0.1:{target.server.port}"
        else:
            transport[name] = value
    for fn, args in (("rust_mail_send", [compose(), transport]), ("rust_mail_send_many", [[compose()], transport])):
        result, exception, _ = call(php, fn, *args)
        assert exception is not None, f"{fn} did not refuse: {result}"
        assert exception["class"] == "RustMailException", exception
        message = exception["message"]
        assert f"['{key}']" in message or re.search(rf"\b{key}\b", message.replace(f"['api']", "")), message
        for word in words:
            assert word in message, (word, message)
        assert_no_secret(None, target, exception)
    assert target.server.connections == 0
