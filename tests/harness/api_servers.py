"""Local HTTPS servers that follow the documented contract of four mail-sending APIs, for the extension's `api`
transports (issue 21):

- Microsoft Graph `POST /v1.0/users/{id}/sendMail` with a MIME body (base64, `Content-Type: text/plain`), 202;
- Gmail API `POST /upload/gmail/v1/users/{id}/messages/send?uploadType=media` (`message/rfc822`), 200 + JSON;
- Amazon SES v2 `POST /v2/email/outbound-emails` (SendEmail with `Content.Raw`), signed with AWS Signature
  Version 4, which the server checks itself (hmac/hashlib, AWS's documented algorithm), 200 + `{"MessageId"}`;
- Mailgun `POST /v3/{domain}/messages.mime` (multipart/form-data: `to` + the file part `message`), basic auth
  `api:{key}`, 200 + `{"id", "message"}`.

Each server is HTTP/1.1 over TLS (a certificate from certs.py, keep-alive), or HTTP/2 when made with http2=True (ALPN
h2, python3-h2), on 127.0.0.1, port from the kernel. It
checks what the provider checks (method, path, Content-Type, the Authorization form, the body's encoding) and
answers a broken request as the provider does, noting the breach in `violations` (a test asserts it stays empty).
Every request is recorded (`requests`: an ApiRequest with the decoded MIME, the recipients, the headers, the
connection it came on, when it came and what was answered), and so are the TCP connections accepted
(`connections`), the TLS handshakes completed (`handshakes`) and the most requests in flight at once (`peak`).

A test scripts the answers: `queue(name, count, **params)` for the next requests, `always(name, **params)` for the
rest. A name is one of the server's documented errors (ERRORS: the provider's status, code and message, in the
provider's error shape with its request id headers), or `throttled`/`unavailable` (429/503 with `Retry-After`:
`retry_after=` seconds or an HTTP date string), `stall` (read the request, never answer), `garbage` (an HTML page
where JSON belongs), or `ok`. `revoke_after(n)` makes the credentials stop working after n accepted messages (401,
or SES's 403), as when a token expires mid-batch.

Bearer tokens (Graph, Gmail) are checked by `check_token(mailbox, token)`, by default against the set `tokens`;
tests pass the OAuth2 server's own check (harness/oauth_server.py), so only the tokens it issued and has not
revoked get through. An unknown token gets the provider's documented 401. With `permissions(token)` (the OAuth2
server's token_permissions: {"roles": [...]} for an app-only token, {"scopes": [...]} for a sign-in's), a token
that may not send is refused as the provider refuses it: Graph needs the application permission Mail.Send in an
app-only token's roles, or the delegated scope Mail.Send (403 ErrorAccessDenied); Gmail needs gmail.send or a
broader mail scope (403 insufficientPermissions). Without it (a static `tokens` set) no scope is checked.
"""
import base64
import binascii
import calendar
import email
import email.policy
import email.utils
import hashlib
import hmac
import json
import re
import secrets
import ssl
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GRAPH_LIMIT = 4 * 1024 * 1024          # bytes of request body (the base64 MIME)
GMAIL_LIMIT = 35 * 1024 * 1024         # bytes of message (media upload)
SES_LIMIT = 40 * 1024 * 1024           # bytes of raw message
MAILGUN_LIMIT = 25 * 1024 * 1024       # bytes of message

HTML_GARBAGE = (b"<!DOCTYPE html>\n<html><head><title>Sign in to the network</title></head>\n"
                b"<body><h1>Welcome to Hotel Wi-Fi</h1><p>Please accept the terms to continue.</p></body></html>\n")


@dataclass
class ApiRequest:
    """One HTTP request as the server received it."""
    method: str
    path: str                  # without the query
    query: dict                # name -> value (the last of a repeated name)
    headers: object            # http.client.HTTPMessage: case-insensitive
    body: bytes
    connection: int            # which TCP connection carried it (1 = the first accepted)
    at: float                  # time.monotonic() when its headers arrived
    mailbox: str = None        # graph/gmail: the user in the path (decoded); mailgun: the domain
    mime: bytes = None         # the message, decoded from the API's encoding
    sender: str = None         # ses: FromEmailAddress
    recipients: list = None    # ses: Destination.ToAddresses; mailgun: the `to` field, split
    status: int = None         # what the server answered (None: nothing, it stalled)
    answered_at: float = None
    answer: str = None         # the scripted name it got ("ok" for an accepted message)
    chunked: bool = False
    protocol: str = "HTTP/1.1"   # or "HTTP/2" (ALPN h2, with ApiServer(http2=True))
    answer_headers: dict = None  # the headers the server answered with
    answer_body: bytes = None


    @property
    def message(self):
        """The MIME parsed (LF line ends, as smtpserver.ReceivedMessage.message), or None."""
        if self.mime is None:
            return None
        return email.message_from_bytes(self.mime.replace(b"\r\n", b"\n"), policy=email.policy.default)

    @property
    def message_id(self):
        message = self.message
        return message["Message-ID"].strip("<>") if message is not None and message["Message-ID"] else None


@dataclass
class Answer:
    status: int
    headers: list = field(default_factory=list)   # [(name, value)]
    body: bytes = b""


class _Stall(Exception):
    pass


class ApiServer:
    """What the four servers share: TLS, keep-alive, recording, scripting. A subclass implements `handle(request)`,
    which returns an Answer (or raises _Stall), and `error(name, params)` in the provider's error shape."""
    api = None
    ERRORS = {}   # name -> (status, provider code, provider message)

    def __init__(self, certs, cert="good", delay=0.0, http2=False):
        self.certs = certs
        self.http2 = http2              # offer h2 by ALPN (and http/1.1); a client that takes it speaks HTTP/2
        self.delay = delay              # seconds each answer waits (lets concurrent requests overlap)
        self.requests = []
        self.violations = []            # breaches of the documented contract, in words
        self.connections = 0            # TCP connections accepted
        self.handshakes = 0             # TLS handshakes completed
        self.tls_failures = []
        self.in_flight = 0
        self.peak = 0
        self.accepted = 0               # messages accepted (2xx)
        self.credentials_valid = True
        self._revoke_after = None
        self._queue = []                # [(name, params)] for the next requests, in order
        self._default = ("ok", {})
        self._chooser = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*certs.pair(cert))
        context.set_alpn_protocols(["h2", "http/1.1"] if http2 else ["http/1.1"])
        self._context = context
        self._httpd = _HttpsServer(self)
        self.host = "127.0.0.1"
        self.port = self._httpd.server_address[1]
        self.base = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self):
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    # -- scripting

    def queue(self, name, count=1, **params):
        """The next `count` requests get `name` (after those queued before)."""
        self._check_name(name)
        with self._lock:
            self._queue.extend([(name, params)] * count)
        return self

    def always(self, name, **params):
        """Every request not queued for gets `name`."""
        self._check_name(name)
        self._default = (name, params)
        return self

    def answer_by(self, choose):
        """`choose(request)` -> (name, params) or None, asked first for each request that passed the contract checks
        (its mime is decoded by then): answers that depend on the message, e.g. a 429 for each message's first try."""
        self._chooser = choose
        return self

    def revoke_after(self, count, revoke=None):
        """After `count` accepted messages the credentials stop working (`revoke`, if given, is called then: e.g.
        the OAuth2 server's invalidate_access_tokens)."""
        self._revoke_after = (count, revoke)
        return self

    def _check_name(self, name):
        if name not in ("ok", "stall", "garbage", "throttled", "unavailable") and name not in self.ERRORS:
            raise KeyError(f"{self.api} server has no answer named {name!r}: {sorted(self.ERRORS)}")

    def _next_answer(self, request):
        if self._chooser is not None:
            with self._lock:
                chosen = self._chooser(request)
            if chosen is not None:
                self._check_name(chosen[0])
                return chosen
        with self._lock:
            return self._queue.pop(0) if self._queue else self._default

    # -- what the tests read

    def messages(self):
        """Requests whose message the server accepted, in arrival order."""
        return [r for r in self.requests if r.answer == "ok" and r.status is not None and 200 <= r.status < 300]

    def by_message_id(self):
        """Message-ID -> [requests carrying it], in arrival order."""
        found = {}
        for request in self.requests:
            if request.message_id:
                found.setdefault(request.message_id, []).append(request)
        return found

    # -- shared pieces of the handling

    def scripted(self, request, mailbox_key=None):
        """The scripted answer for a request that passed the contract checks, or None for `ok`."""
        if self.delay:
            time.sleep(self.delay)
        name, params = self._next_answer(request)
        request.answer = name
        if name == "ok":
            return None
        if name == "stall":
            raise _Stall()
        if name == "garbage":
            return Answer(params.get("status", 200), [("Content-Type", "text/html; charset=utf-8")], HTML_GARBAGE)
        return self.error(name, params)

    def accepted_one(self):
        with self._lock:
            self.accepted += 1
            if self._revoke_after and self.accepted >= self._revoke_after[0] and self.credentials_valid:
                self.credentials_valid = False
                if self._revoke_after[1]:
                    self._revoke_after[1]()

    def violation(self, text):
        self.violations.append(text)

    @staticmethod
    def retry_after_headers(params, default):
        value = params.get("retry_after", default)
        return [("Retry-After", str(value))] if value is not None else []

    def handle(self, request):
        raise NotImplementedError

    def error(self, name, params):
        raise NotImplementedError

    def process(self, request):
        """Records the request and decides its Answer; None for a stall (returns only once the server stops)."""
        with self._lock:
            self.requests.append(request)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            try:
                answer = self.handle(request)
            except _Stall:
                self._stopping.wait()
                return None
            if 200 <= answer.status < 300 and request.answer == "ok":
                self.accepted_one()
            # Recorded before the answer leaves, so a client that has it finds it recorded.
            request.status, request.answered_at = answer.status, time.monotonic()
            request.answer_headers, request.answer_body = dict(answer.headers), answer.body
            return answer
        finally:
            with self._lock:
                self.in_flight -= 1


class _HttpsServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, owner):
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self):
        sock, address = self.socket.accept()
        with self.owner._lock:
            self.owner.connections += 1
        return sock, address

    def process_request_thread(self, request, client_address):
        # The TLS handshake in the connection's own thread, so a client that never finishes one stalls nobody.
        owner = self.owner
        with owner._lock:
            number = owner.connections
        request.settimeout(60)
        try:
            tls = owner._context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as failure:
            owner.tls_failures.append(str(failure))
            request.close()
            return
        with owner._lock:
            owner.handshakes += 1
        try:
            if tls.selected_alpn_protocol() == "h2":
                _serve_h2(owner, tls, number)
            else:
                _Handler(tls, client_address, self, number)
        except Exception:
            pass
        finally:
            try:
                tls.close()
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "api-contract-server"
    sys_version = ""

    def __init__(self, request, client_address, server, number):
        self.number = number
        super().__init__(request, client_address, server)

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.dispatch()

    def do_GET(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def dispatch(self):
        owner = self.server.owner
        arrived = time.monotonic()
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        body = self.read_body(chunked)
        url = urllib.parse.urlsplit(self.path)
        request = ApiRequest(self.command, url.path, dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True)),
                             self.headers, body, self.number, arrived, chunked=chunked)
        answer = owner.process(request)
        if answer is None:
            self.close_connection = True
            return
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)
        self.wfile.flush()

    def read_body(self, chunked):
        if chunked:
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))


def _serve_h2(owner, sock, number):
    """One HTTP/2 connection (python3-h2): each request, once its stream ends, is processed in a thread of its own,
    so requests on the connection run concurrently (and one can stall while the others are answered)."""
    import http.client
    import h2.config
    import h2.connection
    import h2.events

    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    lock = threading.Lock()
    streams = {}

    def flush():
        data = connection.data_to_send()
        if data:
            sock.sendall(data)

    def respond(stream_id, headers, body, arrived):
        pseudo = {name: value for name, value in headers if name.startswith(":")}
        message = http.client.HTTPMessage()
        for name, value in headers:
            if not name.startswith(":"):
                message[name] = value
        if "host" not in message:
            message["Host"] = pseudo.get(":authority", "")
        url = urllib.parse.urlsplit(pseudo.get(":path", "/"))
        request = ApiRequest(pseudo.get(":method", ""), url.path,
                             dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True)), message, bytes(body),
                             number, arrived, protocol="HTTP/2")
        answer = owner.process(request)
        if answer is None:
            return
        with lock:
            try:
                connection.send_headers(stream_id, [(":status", str(answer.status)),
                                                    *[(n.lower(), str(v)) for n, v in answer.headers],
                                                    ("content-length", str(len(answer.body)))],
                                        end_stream=not answer.body)
                if answer.body:
                    connection.send_data(stream_id, answer.body, end_stream=True)
                flush()
            except Exception:
                pass

    with lock:
        connection.initiate_connection()
        flush()
    terminated = False
    while not owner._stopping.is_set() and not terminated:
        try:
            data = sock.recv(65536)
        except (OSError, ValueError):
            break
        if not data:
            break
        with lock:
            try:
                events = connection.receive_data(data)
            except Exception:
                break
            for event in events:
                if isinstance(event, h2.events.RequestReceived):
                    streams[event.stream_id] = (event.headers, bytearray(), time.monotonic())
                elif isinstance(event, h2.events.DataReceived):
                    streams[event.stream_id][1].extend(event.data)
                    connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded) and event.stream_id in streams:
                    threading.Thread(target=respond, args=(event.stream_id, *streams.pop(event.stream_id)),
                                     daemon=True).start()
                elif isinstance(event, h2.events.ConnectionTerminated):
                    terminated = True
            flush()


def _json(status, value, headers=()):
    return Answer(status, [("Content-Type", "application/json; charset=utf-8"), *headers],
                  json.dumps(value).encode())


def _bearer(request):
    """The token of `Authorization: Bearer <token>`, or None."""
    value = request.headers.get("Authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _content_type(request):
    return request.headers.get("Content-Type", "").split(";")[0].strip().lower()


GRAPH_RESOURCE = "https://graph.microsoft.com/"
# The scopes Google documents for users.messages.send.
GMAIL_SEND_SCOPES = {"https://www.googleapis.com/auth/gmail.send", "https://www.googleapis.com/auth/gmail.compose",
                     "https://www.googleapis.com/auth/gmail.modify", "https://mail.google.com/"}


def graph_may_send(permissions):
    """Graph's rule for sendMail: an app-only token's roles hold Mail.Send, a delegated token's scopes hold
    Mail.Send (written bare, as in the token's scp claim, or with the resource in front, as the token endpoint
    lists it)."""
    if "roles" in permissions:
        return "Mail.Send" in permissions["roles"]
    return any(scope.removeprefix(GRAPH_RESOURCE).lower() == "mail.send" for scope in permissions["scopes"])


def _user_path(path, prefix, suffix):
    """The decoded user of `{prefix}{user}{suffix}`, or None when the path is another."""
    if not (path.startswith(prefix) and path.endswith(suffix)) or len(path) <= len(prefix) + len(suffix):
        return None
    user = path[len(prefix):len(path) - len(suffix)]
    return None if "/" in user else urllib.parse.unquote(user)


# ---------------------------------------------------------------- Microsoft Graph

class GraphServer(ApiServer):
    """Microsoft Graph's sendMail with MIME content (learn.microsoft.com/graph/api/user-sendmail, "Send a new
    message using MIME format"; errors: learn.microsoft.com/graph/errors). `prefix`: the path api_base adds.
    `mailbox_concurrency`: Graph's limit of 4 concurrent requests per mailbox; one over it gets 429
    ApplicationThrottled with Retry-After, as Exchange answers."""
    api = "graph"
    ERRORS = {
        "access_denied": (403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."),
        "mailbox_not_enabled": (404, "MailboxNotEnabledForRESTAPI",
                                "The mailbox is either inactive, soft-deleted, or is hosted on-premise."),
        "send_as_denied": (403, "ErrorSendAsDenied",
                           "The user account which was used to submit this request does not have the right to send "
                           "mail on behalf of the specified sending account., Cannot submit message."),
        "invalid_recipients": (400, "ErrorInvalidRecipients",
                               "At least one recipient is not valid., Recipient 'rcpt@example.com' is not resolved. "
                               "All recipients must be resolved before a message can be submitted."),
        "size_exceeded": (400, "ErrorMessageSizeExceeded",
                          "The message exceeds the maximum supported size., Cannot save changes made to an item to store."),
        "entity_too_large": (413, "RequestEntityTooLarge", "The request body is larger than the service accepts."),
        "bad_request": (400, "ErrorInvalidRequest", "The request is invalid: the MIME content could not be parsed."),
        "expired_token": (401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."),
        "throttled": (429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit."),
        "unavailable": (503, "ServiceUnavailable", "Service Unavailable"),
        "internal": (500, "generalException", "An internal server error occurred."),
        "bad_gateway": (502, "UnknownError", ""),
        "gateway_timeout": (504, "UnknownError", "The gateway timed out."),
    }

    def __init__(self, certs, mailbox="alice@contoso.example", tokens=(), check_token=None, prefix="",
                 mailbox_concurrency=4, permissions=None, **options):
        self.mailbox = mailbox
        self.tokens = set(tokens)
        self.check_token = check_token or (lambda mailbox, token: token in self.tokens)
        self.permissions = permissions
        self.prefix = prefix
        self.mailbox_concurrency = mailbox_concurrency
        self._per_mailbox = {}
        super().__init__(certs, **options)

    def ids(self, request):
        client = request.headers.get("client-request-id") or str(uuid.uuid4())
        return [("request-id", str(uuid.uuid4())), ("client-request-id", client),
                ("x-ms-ags-diagnostic", '{"ServerInfo":{"DataCenter":"Test","Slice":"E","Ring":"1"}}')]

    def graph_error(self, request, status, code, message, extra=()):
        request_id, client_id = (value for _, value in self.ids(request)[:2])
        body = {"error": {"code": code, "message": message,
                          "innerError": {"date": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
                                         "request-id": request_id, "client-request-id": client_id}}}
        return _json(status, body, [("request-id", request_id), ("client-request-id", client_id), *extra])

    def error(self, name, params):
        status, code, message = self.ERRORS[name]
        extra = self.retry_after_headers(params, 1 if status in (429, 503) else None)
        if status == 401:
            extra.append(("WWW-Authenticate", 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/'
                                              'common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'))
        return ("graph_error", status, code, params.get("message", message), extra)

    def handle(self, request):
        answer = self._handle(request)
        if isinstance(answer, tuple):
            _, status, code, message, extra = answer
            return self.graph_error(request, status, code, message, extra)
        return answer

    def _handle(self, request):
        path = request.path
        user = _user_path(path, f"{self.prefix}/v1.0/users/", "/sendMail")
        if user is None:
            self.violation(f"graph: {request.method} {path} is not {self.prefix}/v1.0/users/{{id}}/sendMail")
            return ("e", 400, "BadRequest", f"Resource not found for the segment '{path.rsplit('/', 1)[-1]}'.", [])
        request.mailbox = user
        if request.method != "POST":
            self.violation(f"graph: method {request.method}")
            return ("e", 405, "Request_BadRequest", "The HTTP method is not allowed on the resource.", [])
        token = _bearer(request)
        if token is None:
            self.violation("graph: no Authorization: Bearer header")
            return self.error("expired_token", {"message": "Access token is empty."})
        if not (self.credentials_valid and self.check_token(user, token)):
            return self.error("expired_token", {})
        if self.permissions is not None and not graph_may_send(self.permissions(token)):
            return self.error("access_denied", {})
        if user.lower() != self.mailbox.lower():
            return ("e", 404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.", [])
        if request.protocol == "HTTP/1.1" and (request.chunked or request.headers.get("Content-Length") is None):
            self.violation("graph: no Content-Length")
            return ("e", 411, "LengthRequired", "A Content-Length header is required on the request.", [])
        if len(request.body) > GRAPH_LIMIT:
            self.violation(f"graph: a body of {len(request.body)} bytes, over the 4 MB request limit")
            return self.error("entity_too_large", {})
        if _content_type(request) != "text/plain":
            self.violation(f"graph: Content-Type {request.headers.get('Content-Type')!r}, not text/plain")
            return ("e", 400, "ErrorMimeContentInvalid", "The MIME content is invalid.", [])
        try:
            if re.search(rb"\s", request.body):
                raise binascii.Error("whitespace in the base64 body")
            request.mime = base64.b64decode(request.body, validate=True)
        except (binascii.Error, ValueError) as failure:
            self.violation(f"graph: the body is not base64 without line breaks ({failure})")
            return ("e", 400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.", [])
        with self._lock:
            self._per_mailbox[user] = self._per_mailbox.get(user, 0) + 1
            over = self._per_mailbox[user] > self.mailbox_concurrency
        try:
            if over:
                time.sleep(self.delay)
                request.answer = "mailbox_concurrency"
                return self.error("throttled", {"retry_after": 1})
            scripted = self.scripted(request)
            if scripted is not None:
                return scripted
            return Answer(202, self.ids(request))
        finally:
            with self._lock:
                self._per_mailbox[user] -= 1


# ---------------------------------------------------------------- Gmail API

class GmailServer(ApiServer):
    """Gmail API users.messages.send, media upload (developers.google.com/gmail/api/reference/rest/v1/users.messages/
    send, guides/uploads; errors: developers.google.com/gmail/api/guides/handle-errors). `account`: the address
    `me` stands for (the token's account)."""
    api = "gmail"
    ERRORS = {
        "insufficient_permissions": (403, "insufficientPermissions", "Request had insufficient authentication scopes.",
                                     "PERMISSION_DENIED"),
        "rate_limit": (429, "rateLimitExceeded", "User-rate limit exceeded.  Retry after 2026-12-07T13:00:00.000Z",
                       "RESOURCE_EXHAUSTED"),
        "user_rate_limit": (403, "userRateLimitExceeded", "User Rate Limit Exceeded.", "PERMISSION_DENIED"),
        "daily_limit": (403, "dailyLimitExceeded", "Daily Limit Exceeded", "PERMISSION_DENIED"),
        "invalid_argument": (400, "invalidArgument", "Invalid To header", "INVALID_ARGUMENT"),
        "failed_precondition": (400, "failedPrecondition", "Precondition check failed.", "FAILED_PRECONDITION"),
        "auth_error": (401, "authError", "Request had invalid authentication credentials. Expected OAuth 2 access "
                                         "token, login cookie or other valid authentication credential.",
                       "UNAUTHENTICATED"),
        "too_large": (413, "uploadTooLarge", "Media is too large.", None),
        "throttled": (429, "rateLimitExceeded", "Too many concurrent requests for user.", "RESOURCE_EXHAUSTED"),
        "unavailable": (503, "backendError", "The service is currently unavailable.", "UNAVAILABLE"),
        "internal": (500, "backendError", "Backend Error", "INTERNAL"),
    }

    def __init__(self, certs, account="bob@gmail.example", tokens=(), check_token=None, prefix="", permissions=None,
                 **options):
        self.account = account
        self.tokens = set(tokens)
        self.check_token = check_token or (lambda mailbox, token: token in self.tokens)
        self.permissions = permissions
        self.prefix = prefix
        super().__init__(certs, **options)

    def error(self, name, params):
        status, reason, message, grpc = self.ERRORS[name]
        message = params.get("message", message)
        body = {"error": {"code": status, "message": message,
                          "errors": [{"message": message, "domain": "usageLimits" if "imit" in reason else "global",
                                      "reason": reason}]}}
        if grpc:
            body["error"]["status"] = grpc
        extra = self.retry_after_headers(params, 1 if status in (429, 503) else None)
        if status == 401:
            body["error"]["errors"][0].update(location="Authorization", locationType="header")
            extra.append(("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/", error="invalid_token"'))
        return _json(status, body, extra)

    def handle(self, request):
        user = _user_path(request.path, f"{self.prefix}/upload/gmail/v1/users/", "/messages/send")
        if user is None:
            self.violation(f"gmail: {request.method} {request.path} is not the media upload path")
            return Answer(404, [("Content-Type", "text/html; charset=UTF-8")], b"<html><body>Not Found</body></html>")
        request.mailbox = user
        if request.method != "POST":
            self.violation(f"gmail: method {request.method}")
            return self.error("invalid_argument", {"message": "Method not allowed"})
        token = _bearer(request)
        mailbox = self.account if user == "me" else user
        if token is None or not (self.credentials_valid and self.check_token(mailbox, token)):
            if token is None:
                self.violation("gmail: no Authorization: Bearer header")
            return self.error("auth_error", {})
        if self.permissions is not None and not GMAIL_SEND_SCOPES & set(self.permissions(token).get("scopes", ())):
            return self.error("insufficient_permissions", {})
        if mailbox.lower() != self.account.lower():
            return self.error("invalid_argument", {"message": "Delegation denied for " + self.account})
        if request.query.get("uploadType") != "media":
            self.violation(f"gmail: uploadType={request.query.get('uploadType')!r}, not media")
            return self.error("invalid_argument", {"message": "Invalid upload type"})
        if _content_type(request) != "message/rfc822":
            self.violation(f"gmail: Content-Type {request.headers.get('Content-Type')!r}, not message/rfc822")
            return self.error("invalid_argument", {"message": "Media type '%s' is not supported. Valid media types: "
                                                   "[message/*]" % _content_type(request)})
        if len(request.body) > GMAIL_LIMIT:
            self.violation(f"gmail: a message of {len(request.body)} bytes, over the 35 MB limit")
            return self.error("too_large", {})
        request.mime = request.body
        scripted = self.scripted(request)
        if scripted is not None:
            return scripted
        message_id = secrets.token_hex(8)
        return _json(200, {"id": message_id, "threadId": message_id, "labelIds": ["SENT"]})


# ---------------------------------------------------------------- Amazon SES v2

def sigv4_signing_key(secret, date, region, service):
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _uri_encode(text, safe="-_.~"):
    return urllib.parse.quote(text, safe=safe)


def sigv4_canonical_request(method, path, query_pairs, headers, signed_headers, payload_hash):
    """AWS's canonical request (docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html). `headers`:
    name -> value as received (names any case); non-S3 services encode each path segment (the path as sent is
    already encoded once, so it is encoded again)."""
    canonical_path = "/".join(_uri_encode(segment) for segment in path.split("/")) or "/"
    query = "&".join(f"{_uri_encode(k)}={_uri_encode(v)}" for k, v in sorted(query_pairs))
    lower = {name.lower(): " ".join(str(value).strip().split()) for name, value in headers.items()}
    canonical_headers = "".join(f"{name}:{lower.get(name, '')}\n" for name in signed_headers)
    return "\n".join([method, canonical_path, query, canonical_headers, ";".join(signed_headers), payload_hash])


def sigv4_sign(method, url, headers, body, access_key, secret, region, service="ses", when=None):
    """Signs a request as an AWS SDK does (for the self-tests); returns the headers to send, Authorization included."""
    parts = urllib.parse.urlsplit(url)
    when = when or time.gmtime()
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", when)
    headers = dict(headers, Host=parts.netloc, **{"X-Amz-Date": amz_date})
    payload_hash = hashlib.sha256(body).hexdigest()
    signed = sorted(name.lower() for name in headers)
    canonical = sigv4_canonical_request(method, parts.path or "/", urllib.parse.parse_qsl(parts.query), headers,
                                        signed, payload_hash)
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    signature = hmac.new(sigv4_signing_key(secret, amz_date[:8], region, service), to_sign.encode(),
                         hashlib.sha256).hexdigest()
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                                f"SignedHeaders={';'.join(signed)}, Signature={signature}")
    return headers


class SesServer(ApiServer):
    """Amazon SES API v2 SendEmail (docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html), raw content,
    authenticated with AWS Signature Version 4 that this server verifies from the request as AWS documents it. Errors
    are SES v2's REST-JSON shape: the status, `x-amzn-ErrorType: <Code>` (the code, as AWS sends some, followed by
    `:<namespace URL>`, which clients strip), `{"message": ...}`, and an `x-amzn-RequestId`."""
    api = "ses"
    ERRORS = {
        "not_verified": (400, "MessageRejected",
                         "Email address is not verified. The following identities failed the check in region "
                         "EU-WEST-1: sender@example.com"),
        "sandbox": (400, "MessageRejected",
                    "Email address is not verified. The following identities failed the check in region "
                    "EU-WEST-1: rcpt@example.com"),
        "paused": (400, "SendingPausedException",
                   "Sending is paused for this account. For more information, please check where this account "
                   "was paused."),
        "access_denied": (403, "AccessDeniedException",
                          "User: arn:aws:iam::123456789012:user/mailer is not authorized to perform: "
                          "ses:SendEmail on resource: arn:aws:ses:eu-west-1:123456789012:identity/example.com"),
        "throttled": (429, "TooManyRequestsException", "Maximum sending rate exceeded."),
        "daily_quota": (429, "TooManyRequestsException", "Daily message quota exceeded."),
        "bad_request": (400, "BadRequestException", "Illegal address"),
        "signature": (403, "SignatureDoesNotMatch",
                      "The request signature we calculated does not match the signature you provided. Check your AWS "
                      "Secret Access Key and signing method. Consult the service documentation for details."),
        "unknown_key": (403, "InvalidClientTokenId", "The security token included in the request is invalid."),
        "incomplete_signature": (400, "IncompleteSignature", "The request signature does not conform to AWS standards."),
        "expired_request": (400, "RequestExpired", "Request has expired."),
        "unavailable": (503, "ServiceUnavailable", "Service is unavailable. Please try again later."),
        "internal": (500, "InternalFailure", "The request processing has failed because of an unknown error."),
    }
    # Codes AWS sends with the namespace suffix (the smithy protocols' "sanitize the error code" rule).
    SUFFIXED = {"MessageRejected", "SendingPausedException", "BadRequestException", "TooManyRequestsException"}

    def __init__(self, certs, region="eu-west-1", keys=None, prefix="", **options):
        self.region = region
        self.keys = dict(keys or {})      # access key id -> secret access key
        self.prefix = prefix
        self.signature_failures = []      # why each signature was refused, in words
        super().__init__(certs, **options)

    def error(self, name, params):
        status, code, message = self.ERRORS[name]
        wire = f"{code}:http://internal.amazon.com/coral/com.amazonaws.sesv2/" if code in self.SUFFIXED else code
        extra = [("x-amzn-ErrorType", wire), ("x-amzn-RequestId", str(uuid.uuid4()))]
        extra += self.retry_after_headers(params, 1 if status in (429, 503) else None)
        return _json(status, {"message": params.get("message", message)}, extra)

    def refuse_signature(self, name, why):
        self.signature_failures.append(why)
        return self.error(name, {})

    def check_signature(self, request):
        """None when the SigV4 signature is good, else the Answer SES gives."""
        value = request.headers.get("Authorization")
        if not value:
            self.violation("ses: no Authorization header")
            return self.refuse_signature("incomplete_signature", "no Authorization header")
        match = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,\s*"
                             r"SignedHeaders=([a-z0-9;\-]+),\s*Signature=([0-9a-f]{64})", value.strip())
        if not match:
            self.violation(f"ses: Authorization is not AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...")
            return self.refuse_signature("incomplete_signature", "malformed Authorization")
        key_id, date, region, service, signed, signature = match.groups()
        signed_headers = signed.split(";")
        if key_id not in self.keys or not self.credentials_valid:
            return self.refuse_signature("unknown_key", f"unknown access key id {key_id}")
        amz_date = request.headers.get("X-Amz-Date", "")
        if not re.fullmatch(r"\d{8}T\d{6}Z", amz_date) or amz_date[:8] != date:
            self.violation(f"ses: X-Amz-Date {amz_date!r} missing or not the credential's date {date}")
            return self.refuse_signature("incomplete_signature", "X-Amz-Date")
        if "host" not in signed_headers or "x-amz-date" not in signed_headers or signed_headers != sorted(signed_headers):
            self.violation(f"ses: SignedHeaders {signed} must hold host and x-amz-date, sorted")
            return self.refuse_signature("incomplete_signature", "SignedHeaders")
        skew = abs(time.time() - calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ")))
        if skew > 15 * 60:
            return self.refuse_signature("expired_request", f"X-Amz-Date {amz_date} is {skew:.0f} s off")
        if region != self.region or service != "ses":
            return self.refuse_signature("signature", f"scoped to {region}/{service}, not {self.region}/ses")
        payload_hash = hashlib.sha256(request.body).hexdigest()
        declared = request.headers.get("x-amz-content-sha256")
        if declared is not None and declared != payload_hash:
            return self.refuse_signature("signature", "x-amz-content-sha256 is not the body's hash")
        headers = {name: request.headers.get(name) for name in signed_headers}
        missing = [name for name in signed_headers if request.headers.get(name) is None]
        if missing:
            return self.refuse_signature("signature", f"signed headers not sent: {missing}")
        canonical = sigv4_canonical_request(request.method, request.path,
                                            urllib.parse.parse_qsl(urllib.parse.urlsplit(self._raw_query(request)).query,
                                                                   keep_blank_values=True),
                                            headers, signed_headers, payload_hash)
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, f"{date}/{region}/{service}/aws4_request",
                             hashlib.sha256(canonical.encode()).hexdigest()])
        expected = hmac.new(sigv4_signing_key(self.keys[key_id], date, region, service), to_sign.encode(),
                            hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return self.refuse_signature("signature", "signature mismatch")
        return None

    @staticmethod
    def _raw_query(request):
        return "?" + urllib.parse.urlencode(request.query) if request.query else ""

    def handle(self, request):
        if request.path != f"{self.prefix}/v2/email/outbound-emails" or request.method != "POST":
            self.violation(f"ses: {request.method} {request.path} is not POST {self.prefix}/v2/email/outbound-emails")
            return _json(404, {"message": "Not Found"}, [("x-amzn-ErrorType", "UnknownOperationException"),
                                                          ("x-amzn-RequestId", str(uuid.uuid4()))])
        refused = self.check_signature(request)
        if refused is not None:
            return refused
        if _content_type(request) not in ("application/json", "application/x-amz-json-1.1"):
            self.violation(f"ses: Content-Type {request.headers.get('Content-Type')!r}, not application/json")
            return self.error("bad_request", {"message": "Unsupported Content-Type"})
        try:
            payload = json.loads(request.body)
            request.sender = payload["FromEmailAddress"]
            request.recipients = payload["Destination"]["ToAddresses"]
            data = payload["Content"]["Raw"]["Data"]
            if set(payload) - {"FromEmailAddress", "Destination", "Content", "ConfigurationSetName", "EmailTags",
                               "ReplyToAddresses", "FromEmailAddressIdentityArn", "FeedbackForwardingEmailAddress"}:
                raise KeyError(f"unknown members {sorted(payload)}")
            if not isinstance(request.recipients, list) or not all(isinstance(r, str) for r in request.recipients):
                raise TypeError("ToAddresses is not a list of strings")
            request.mime = base64.b64decode(data, validate=True)
        except (ValueError, KeyError, TypeError, binascii.Error) as failure:
            self.violation(f"ses: the body is not SendEmail with Content.Raw.Data in base64 ({failure!r})")
            return self.error("bad_request", {"message": f"Invalid request: {failure}"})
        if len(request.mime) > SES_LIMIT:
            self.violation(f"ses: a raw message of {len(request.mime)} bytes, over 40 MB")
            return self.error("bad_request", {"message": "Message length is more than 40 MB"})
        scripted = self.scripted(request)
        if scripted is not None:
            return scripted
        return _json(200, {"MessageId": f"0102018c{secrets.token_hex(12)}-{uuid.uuid4()}-000000"},
                     [("x-amzn-RequestId", str(uuid.uuid4()))])


# ---------------------------------------------------------------- Mailgun

def parse_multipart(body, content_type):
    """multipart/form-data -> [(name, filename or None, headers dict, bytes)], byte-exact (no line-end changes)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise ValueError("no boundary")
    delimiter = b"--" + match.group(1).encode()
    pieces = body.split(delimiter)
    if len(pieces) < 3 or not pieces[-1].startswith(b"--"):
        raise ValueError("no closing delimiter")
    parts = []
    for piece in pieces[1:-1]:
        if not piece.startswith(b"\r\n") or not piece.endswith(b"\r\n"):
            raise ValueError("a part not framed by CRLF")
        head, separator, content = piece[2:-2].partition(b"\r\n\r\n")
        if not separator:
            head, content = piece[2:-2].rstrip(b"\r\n"), b""
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        if not disposition.startswith("form-data") or not name:
            raise ValueError(f"a part without Content-Disposition: form-data; name=...: {disposition!r}")
        parts.append((name.group(1), filename.group(1) if filename else None, headers, content))
    return parts


class MailgunServer(ApiServer):
    """Mailgun's sending API for a MIME message (documentation.mailgun.com: Messages, "Send an email in MIME
    format"; responses: quickstart-guide/responses). `domains`: the sending domains the key may use. A wrong key
    gets 401 with the body `Forbidden`, as Mailgun answers."""
    api = "mailgun"
    ERRORS = {
        "bad_request": (400, "'from' parameter is not a valid address. please check documentation"),
        "sandbox": (403, "Sandbox subdomains are for test purposes only. Please add your own domain or add the address "
                         "to authorized recipients in Account Settings."),
        "forbidden": (401, None),
        "too_large": (413, "Message size exceeds the limit"),
        "throttled": (429, "Too many requests"),
        "unavailable": (503, "Service temporarily unavailable"),
        "internal": (500, "Internal Server Error"),
    }

    def __init__(self, certs, key="key-mailgun-test", domains=("example.com",), prefix="", **options):
        self.key = key
        self.domains = set(domains)
        self.prefix = prefix
        super().__init__(certs, **options)

    def error(self, name, params):
        status, message = self.ERRORS[name]
        extra = self.retry_after_headers(params, 1 if status in (429, 503) else None)
        if status == 401:
            return Answer(401, [("Content-Type", "text/plain; charset=utf-8"),
                                ("WWW-Authenticate", 'Basic realm="MG API"')], b"Forbidden")
        return _json(status, {"message": params.get("message", message)}, extra)

    def handle(self, request):
        domain = _user_path(request.path, f"{self.prefix}/v3/", "/messages.mime")
        if domain is None or request.method != "POST":
            self.violation(f"mailgun: {request.method} {request.path} is not POST {self.prefix}/v3/{{domain}}/messages.mime")
            return Answer(404, [("Content-Type", "text/plain")], b"404 page not found")
        request.mailbox = domain
        value = request.headers.get("Authorization", "")
        scheme, _, encoded = value.partition(" ")
        try:
            user, _, key = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            user, key = None, None
        if scheme.lower() != "basic" or user != "api":
            self.violation(f"mailgun: Authorization is not Basic api:<key>")
            return self.error("forbidden", {})
        if key != self.key or not self.credentials_valid:
            return self.error("forbidden", {})
        if domain not in self.domains:
            return _json(404, {"message": f"Domain not found: {domain}"})
        if _content_type(request) != "multipart/form-data":
            self.violation(f"mailgun: Content-Type {request.headers.get('Content-Type')!r}, not multipart/form-data")
            return self.error("bad_request", {"message": "Content-Type must be multipart/form-data"})
        try:
            parts = parse_multipart(request.body, request.headers.get("Content-Type", ""))
        except ValueError as failure:
            self.violation(f"mailgun: a form that does not parse: {failure}")
            return self.error("bad_request", {"message": "could not parse the form"})
        to = [content.decode() for name, filename, _, content in parts if name == "to" and filename is None]
        files = [(filename, content) for name, filename, _, content in parts if name == "message"]
        if not to or len(files) != 1 or files[0][0] is None:
            self.violation(f"mailgun: the form needs `to` and one file part `message`: {[p[:2] for p in parts]}")
            return self.error("bad_request", {"message": "to parameter is missing" if not to else
                                              "message parameter is missing"})
        request.recipients = [address.strip() for value in to for address in value.split(",") if address.strip()]
        request.mime = files[0][1]
        if len(request.mime) > MAILGUN_LIMIT:
            self.violation(f"mailgun: a message of {len(request.mime)} bytes, over 25 MB")
            return self.error("too_large", {})
        scripted = self.scripted(request)
        if scripted is not None:
            return scripted
        return _json(200, {"id": f"<{time.strftime('%Y%m%d%H%M%S')}.{secrets.token_hex(6)}@{domain}>",
                           "message": "Queued. Thank you."})


SERVERS = {"graph": GraphServer, "gmail": GmailServer, "ses": SesServer, "mailgun": MailgunServer}


def sign_in(auth_server, provider, account, scope=None, answer=False):
    """A delegated access token for `account` from the OAuth2 server (harness/oauth_server.py), by the
    authorization code flow with PKCE, the test playing the browser. provider: "microsoft" or "google"; scope: what
    to ask for (by default the sending API's: Graph's Mail.Send, Gmail's gmail.send). answer: the token endpoint's
    whole answer (with the granted `scope`) instead of the access token."""
    from .oauth_server import GMAIL_SEND_SCOPE, GRAPH_SEND_SCOPE
    import urllib.request
    auth_server.account = account
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect = "http://127.0.0.1:9/callback"
    query = {"client_id": auth_server.client_id, "response_type": "code", "redirect_uri": redirect,
             "code_challenge": challenge, "code_challenge_method": "S256", "state": secrets.token_hex(8)}
    if provider == "microsoft":
        path, token_url = f"/{auth_server.tenant}/oauth2/v2.0/authorize", auth_server.url.format(tenant=auth_server.tenant)
        query["scope"] = f"{scope or GRAPH_SEND_SCOPE} offline_access"
    else:
        path, token_url = "/google/auth", auth_server.google_token_url
        query.update(scope=scope or GMAIL_SEND_SCOPE, access_type="offline")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect())
    with opener.open(auth_server.base + path + "?" + urllib.parse.urlencode(query), timeout=10) as page:
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.read().decode()))
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
    try:
        opener.open(auth_server.base + "/consent", urllib.parse.urlencode(dict(fields, decision="accept")).encode(),
                    timeout=10)
        raise AssertionError("the consent did not redirect")
    except urllib.error.HTTPError as redirect_answer:
        location = redirect_answer.headers["Location"]
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
            "client_id": auth_server.client_id, "code_verifier": verifier}
    form["client_secret"] = auth_server.client_secret
    with opener.open(token_url, urllib.parse.urlencode(form).encode(), timeout=10) as reply:
        tokens = json.loads(reply.read())
    return tokens if answer else tokens["access_token"]
