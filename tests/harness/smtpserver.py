"""A real, scriptable SMTP server (aiosmtpd) running on its own event loop thread.

Everything a test may want to assert on is recorded: accepted messages, AUTH
attempts (never the secrets), TCP connections, and every line of the session.
"""
import asyncio
import base64
import email
import email.policy
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

KNOWN_MECHANISMS = ("PLAIN", "LOGIN", "XOAUTH2")
TLS_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
# What Exchange Online answers to a bad XOAUTH2 token (base64 JSON in a 334), then 535 5.7.3.
XOAUTH2_ERROR = {"status": "401", "schemes": "bearer", "scope": "https://outlook.office365.com/.default"}
# Exchange Online's answer to a connection over its limit of concurrent connections.
# A scripted "data" reply that closes the connection instead of answering the message (after data_delay).
CLOSE_INSTEAD = "close the connection"
TURNED_AWAY = "421 4.3.2 The maximum number of concurrent server connections has exceeded a limit, closing transmission channel"
XOAUTH2_FAILED = "535 5.7.3 Authentication unsuccessful [test server]"


@dataclass
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list
    raw: bytes
    message: email.message.EmailMessage
    tls: bool            # whether the session was encrypted when DATA completed
    auth_user: str       # the authenticated user, or None
    at: float = 0.0      # time.monotonic() when the message was accepted
    connection: int = None  # which TCP connection carried it (1 = the first the server accepted)


@dataclass
class AuthAttempt:
    mechanism: str
    user: str
    success: bool
    connection: int = None      # which TCP connection it came on
    password_index: int = None  # with auth["passwords"]: which of the user's passwords it was (None: none of them)


@dataclass
class HeldReply:
    """A reply to MAIL FROM that the server held back (ServerConfig.hold_mail_reply)."""
    connection: int      # which TCP connection (1 = the first the server accepted)
    received: list       # the client's lines that arrived after MAIL FROM before the reply, up to DATA or BDAT
    timed_out: bool      # no DATA or BDAT came within the hold: the client was waiting for the reply


@dataclass
class ServerConfig:
    tls: str = "none"                  # none | starttls | implicit
    cert: str = "good"
    require_starttls: bool = False
    auth: dict = None                  # {"user":..., "password":..., "token":...} or {"verify": f(user, token)}
                                       # and/or {"passwords": {user: [passwords accepted for that user]}}
    auth_mechanisms: list = None       # advertised; default: those the credentials allow
    auth_require_tls: bool = False     # advertise/accept AUTH only after STARTTLS
    replies: dict = field(default_factory=dict)  # stage -> scripted reply (see ScriptedHandler)
    banner: str = "mail.test.local ESMTP rust-mail test server"
    tls_max_version: str = None        # "1.2" to refuse TLS 1.3 clients
    idle_timeout: float = 300          # seconds a connection may sit idle before the server drops it
    pipelining: bool = False           # advertise PIPELINING (RFC 2920); aiosmtpd answers queued commands in order
    message_limit: int = None          # after this many accepted MAILs, MAIL gets Postfix's rate limit reply (a 450)
    size_limit: int = 50 * 1024 * 1024  # the SIZE advertised in EHLO (RFC 1870), and the largest message taken
    smtputf8: bool = False             # advertise SMTPUTF8 (RFC 6531) and accept UTF-8 addresses with it
    chunking: bool = False             # advertise CHUNKING (RFC 3030) and take the message by BDAT as well
    hold_mail_reply: float = None      # seconds: answer MAIL FROM only once DATA or BDAT has arrived behind it
    data_delay: float = 0              # seconds the server takes over each message before it answers the final dot
    turn_away: dict = field(default_factory=dict)  # connection number -> seconds: its EHLO (and HELO) wait that long,
                                       # then get TURNED_AWAY, as from a server that counts connections late
                                       # (or after this long); each hold is recorded in SmtpTestServer.held


def _decode_b64(text):
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        return None


class ScriptedHandler:
    """aiosmtpd hooks. `replies` keys: "mail", "mail:<sender>", "rcpt", "rcpt:<address>", "data",
    "data:<first recipient>", "auth", "auth:<user>", "starttls" (the reply to STARTTLS instead of 220),
    "ehlo_tls" (the reply to EHLO once TLS is on). A "data" reply of CLOSE_INSTEAD closes the connection
    without a reply."""

    def __init__(self, server):
        self.server = server
        self.config = server.config

    async def turned_away(self, smtp):
        """The 421 for a connection that ServerConfig.turn_away names, after its wait; None for the others."""
        if smtp.number not in self.config.turn_away:
            return None
        await asyncio.sleep(self.config.turn_away[smtp.number])
        return TURNED_AWAY

    async def handle_EHLO(self, smtp, session, envelope, hostname, responses):
        if refusal := await self.turned_away(smtp):
            return [refusal]
        session.host_name = hostname
        if "ehlo_tls" in self.config.replies and smtp.is_encrypted():
            return [self.config.replies["ehlo_tls"]]
        # aiosmtpd prints "250-AUTH " even with no mechanism left; a server without AUTH omits the line.
        responses = [r for r in responses if r.strip() != "250-AUTH"]
        if self.config.pipelining:
            responses.insert(1, "250-PIPELINING")
        if self.config.chunking:
            responses.insert(1, "250-CHUNKING")
        return responses

    async def handle_HELO(self, smtp, session, envelope, hostname):
        if refusal := await self.turned_away(smtp):
            return refusal
        if "ehlo_tls" in self.config.replies and smtp.is_encrypted():
            return self.config.replies["ehlo_tls"]
        session.host_name = hostname
        return f"250 {smtp.hostname}"

    async def handle_MAIL(self, smtp, session, envelope, address, mail_options):
        if self.config.hold_mail_reply is not None:
            await smtp.hold_mail_reply(self.config.hold_mail_reply)
        reply = self.config.replies.get(f"mail:{address}", self.config.replies.get("mail"))
        if reply:
            return reply
        if self.config.message_limit is not None and self.server.mails_accepted >= self.config.message_limit:
            # What Postfix's anvil answers over smtpd_client_message_rate_limit.
            return "450 4.7.1 Error: too much mail from 127.0.0.1"

        self.server.mails_accepted += 1
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options):
        reply = self.config.replies.get(f"rcpt:{address}", self.config.replies.get("rcpt"))
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, smtp, session, envelope):
        first = envelope.rcpt_tos[0] if envelope.rcpt_tos else ""
        reply = self.config.replies.get(f"data:{first}", self.config.replies.get("data"))
        if self.config.data_delay:
            await asyncio.sleep(self.config.data_delay)
        if reply == CLOSE_INSTEAD:
            smtp.test_server.session_log.append("-- connection closed instead of a reply to the message")
            smtp.transport.close()
        if reply:
            return reply
        raw = envelope.original_content
        self.server.messages.append(ReceivedMessage(
            mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos), raw=raw,
            # The parsed view uses LF line ends (as a mailbox would store it), so get_content()
            # compares naturally; byte-exact checks use .raw.
            message=email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=email.policy.default),
            tls=smtp.is_encrypted(), auth_user=session.auth_data, at=time.monotonic(), connection=smtp.number))
        return f"250 2.0.0 Ok: queued as {len(self.server.messages)}"

    def authenticate(self, smtp, session, envelope, mechanism, auth_data: LoginPassword):
        """aiosmtpd authenticator for PLAIN and LOGIN."""
        user = auth_data.login.decode("utf-8", "replace")
        creds = self.config.auth or {}
        ok = (user == creds.get("user") and "password" in creds
              and auth_data.password == creds["password"].encode())
        accepted = [p.encode() for p in creds.get("passwords", {}).get(user, [])]
        index = accepted.index(auth_data.password) if auth_data.password in accepted else None
        return self._auth_result(smtp, mechanism, user, ok or index is not None, failure_reply=None,
                                 password_index=index)

    async def auth_XOAUTH2(self, smtp, args):
        """SASL XOAUTH2: base64("user=U\\x01auth=Bearer T\\x01\\x01"), failing like Exchange Online."""
        if len(args) == 2:
            blob = _decode_b64(args[1])
        else:
            blob = await smtp.challenge_auth("")
        if not isinstance(blob, bytes):
            return AuthResult(success=False, handled=False, message="501 5.5.2 Can't decode base64")
        fields = dict(part.split("=", 1) for part in blob.decode("utf-8", "replace").split("\x01") if "=" in part)
        user, bearer = fields.get("user"), fields.get("auth", "")
        creds = self.config.auth or {}
        if "verify" in creds:
            # An authorization server's judgement: a token it issued, live, for this mailbox.
            ok = bearer.startswith("Bearer ") and creds["verify"](user, bearer[len("Bearer "):])
        else:
            ok = user == creds.get("user") and "token" in creds and bearer == f"Bearer {creds['token']}"
        if not ok and "auth" not in self.config.replies and f"auth:{user}" not in self.config.replies:
            # The client must answer the JSON challenge with an empty line before the final 535.
            await smtp.challenge_auth(json.dumps(XOAUTH2_ERROR))
            return self._auth_result(smtp, "XOAUTH2", user, False, failure_reply=XOAUTH2_FAILED)
        return self._auth_result(smtp, "XOAUTH2", user, ok, failure_reply=None)

    def _auth_result(self, smtp, mechanism, user, ok, failure_reply, password_index=None):
        scripted = self.config.replies.get(f"auth:{user}", self.config.replies.get("auth"))
        ok = ok and not scripted
        self.server.auth_attempts.append(AuthAttempt(mechanism, user, ok, smtp.number, password_index))
        if ok:
            return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False, message=scripted or failure_reply)


class RecordingSMTP(SMTP):
    """aiosmtpd's SMTP protocol, plus a log of every line and a connection count."""

    def __init__(self, server, **kwargs):
        super().__init__(server.handler, **kwargs)
        self.test_server = server
        self.number = None        # which connection of the server's this is
        self._partial = b""
        self._arrived = asyncio.Event()  # set whenever bytes arrive
        self._chunks = bytearray()  # BDAT chunks of the transaction so far (RFC 3030)

    def is_encrypted(self):
        return self.transport is not None and self.transport.get_extra_info("sslcontext") is not None

    def connection_made(self, transport):
        starttls_done = self._original_transport is not None
        super().connection_made(transport)
        if not starttls_done:
            self.test_server._opened(self)
        if self.is_encrypted():
            self.test_server.session_log.append("-- TLS established")

    def connection_lost(self, error):
        self.test_server._closed(self)
        super().connection_lost(error)

    def data_received(self, data):
        # Decrypted bytes arrive here after STARTTLS too, so the log covers the whole session.
        lines = (self._partial + data).split(b"\r\n")
        self._partial = lines.pop()
        self.test_server.session_log.extend("C: " + line.decode("latin-1") for line in lines)
        super().data_received(data)
        self._arrived.set()   # for hold_mail_reply

    async def hold_mail_reply(self, seconds):
        """Before answering the MAIL FROM being handled: wait until a DATA or BDAT line has arrived behind it
        (a pipelining client sends the whole envelope without waiting), for at most `seconds` (a client that
        waits for each reply would wait forever), and record the lines that had arrived."""
        deadline = self.loop.time() + seconds

        def pending():
            # What arrived after the MAIL FROM line and is not read yet: the reader's buffer (asyncio's
            # StreamReader keeps it in _buffer), whole lines only, up to the first DATA or BDAT line.
            lines = bytes(self._reader._buffer).split(b"\r\n")[:-1]
            lines = [line.decode("latin-1") for line in lines]
            end = next((i for i, line in enumerate(lines) if line.upper().startswith(("DATA", "BDAT "))), None)
            return (lines, False) if end is None else (lines[:end + 1], True)

        received, complete = pending()
        while not complete and self.transport is not None and self.loop.time() < deadline:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), deadline - self.loop.time())
            except asyncio.TimeoutError:
                pass
            received, complete = pending()
        held = HeldReply(self.number, received, timed_out=not complete)
        self.test_server.held.append(held)
        self.test_server.session_log.append(
            f"-- MAIL reply held: {'timed out' if held.timed_out else 'released'} with {len(received)} line(s) behind it")

    def _set_rset_state(self):
        # HELO, EHLO and RSET end a transaction: its BDAT chunks go with it.
        super()._set_rset_state()
        self._chunks = bytearray()

    async def smtp_BDAT(self, arg):
        """RFC 3030: `BDAT <size> [LAST]`, then exactly <size> bytes; LAST ends the message, which is then
        delivered as after DATA. Offered only with ServerConfig.chunking."""
        if not self.test_server.config.chunking:
            await self.push('500 Error: command "BDAT" not recognized')
            return
        words = (arg or "").split()
        if not words or not words[0].isdigit() or len(words) > 2 or (len(words) == 2 and words[1].upper() != "LAST"):
            await self.push("501 5.5.4 Syntax: BDAT <size> [LAST]")
            return
        chunk = await self._reader.readexactly(int(words[0]))
        if await self.check_helo_needed() or await self.check_auth_needed("BDAT"):
            self._chunks.clear()
            return
        if not self.envelope.rcpt_tos:
            # The chunk was read all the same, so the session stays in step (RFC 3030 section 3).
            self._chunks.clear()
            await self.push("503 5.5.1 Error: need RCPT command")
            return
        self._chunks += chunk
        if len(words) == 1:
            await self.push(f"250 2.0.0 {len(chunk)} octets received")
            return
        self.envelope.content = self.envelope.original_content = bytes(self._chunks)
        self._chunks.clear()
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push(status)

    async def smtp_STARTTLS(self, arg):
        scripted = self.test_server.config.replies.get("starttls")
        if scripted:
            await self.push(scripted)
            return
        await super().smtp_STARTTLS(arg)

    async def push(self, status):
        if self.transport is None or self.transport.is_closing():
            return  # a closed connection sends nothing, and nothing is logged as sent
        text = status.decode("latin-1") if isinstance(status, bytes) else status
        self.test_server.session_log.append("S: " + text)
        await super().push(status)


class SmtpTestServer:
    def __init__(self, config: ServerConfig, certs=None, host="127.0.0.1"):
        self.config = config
        self.host = host
        self.port = None
        self.messages = []
        self.auth_attempts = []
        self.session_log = []
        self.held = []           # HeldReply for each MAIL FROM answered under ServerConfig.hold_mail_reply
        self.connections = 0
        self.most_open = 0   # the most connections open at once
        self.mails_accepted = 0  # counted at MAIL, as Postfix's anvil counts, so parallel sessions cannot overrun it
        self._open = set()
        self.handler = ScriptedHandler(self)
        self._tls_context = self._make_tls_context(certs) if config.tls != "none" else None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._listener = None

    def start(self):
        self._thread.start()
        self._listener = self._call(self._loop.create_server(
            self._new_session, self.host, 0,
            ssl=self._tls_context if self.config.tls == "implicit" else None))
        self.port = self._listener.sockets[0].getsockname()[1]
        return self

    def stop(self):
        if self._listener is not None:
            # On the loop's own thread: asyncio's Server.close() is not thread-safe, and raced with the loop it
            # could find its waiters already gone.
            self._loop.call_soon_threadsafe(self._listener.close)
            self.close_connections()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def close_connections(self):
        """Drop every open connection, as a server does to idle clients (or on restart)."""
        async def close_all():
            for protocol in list(self._open):
                if protocol.transport is not None:
                    protocol.transport.close()
            await asyncio.sleep(0.05)
        self._call(close_all())

    def client_lines(self):
        """Lines the client sent, without the "C: " prefix."""
        return [line[3:] for line in self.session_log if line.startswith("C: ")]

    def commands(self):
        """Upper-cased SMTP verbs the client sent (first word of each command line)."""
        return [line.split(" ", 1)[0].split(":", 1)[0].upper() for line in self.client_lines() if line]

    def log_index(self, prefix):
        """Index in session_log of the first line starting with prefix (case-insensitive), or None."""
        prefix = prefix.upper()
        return next((i for i, line in enumerate(self.session_log) if line.upper().startswith(prefix)), None)

    # -- internals

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    def _opened(self, protocol):
        self.connections += 1
        protocol.number = self.connections
        self._open.add(protocol)
        self.most_open = max(self.most_open, len(self._open))
        self.session_log.append(f"-- connection {self.connections} opened")

    def _closed(self, protocol):
        self._open.discard(protocol)

    def _new_session(self):
        config = self.config
        mechanisms = config.auth_mechanisms
        if mechanisms is None:
            creds = config.auth or {}
            mechanisms = (["PLAIN", "LOGIN"] if "password" in creds or "passwords" in creds else []) + (["XOAUTH2"] if "token" in creds or "verify" in creds else [])
        return RecordingSMTP(
            self,
            loop=self._loop,
            hostname=config.banner.split(" ", 1)[0],
            ident=(config.banner.split(" ", 1) + [""])[1],
            tls_context=self._tls_context if config.tls == "starttls" else None,
            require_starttls=config.require_starttls,
            authenticator=self.handler.authenticate,
            # Implicit TLS is encrypted from the start; aiosmtpd only knows about STARTTLS.
            auth_require_tls=config.auth_require_tls and config.tls == "starttls",
            auth_exclude_mechanism=[m for m in KNOWN_MECHANISMS if m not in mechanisms],
            timeout=config.idle_timeout,
            data_size_limit=config.size_limit,
            enable_SMTPUTF8=config.smtputf8,
        )

    def _make_tls_context(self, certs):
        if certs is None:
            raise ValueError("a TLS server needs the certs fixture")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*certs.pair(self.config.cert))
        if self.config.tls_max_version:
            context.maximum_version = TLS_VERSIONS[self.config.tls_max_version]
        return context


class SilentServer:
    """Accepts TCP connections (the kernel completes the handshake) and never says a word."""

    def __init__(self):
        self.host = "127.0.0.1"
        self._socket = socket.socket()
        self._socket.bind((self.host, 0))
        self._socket.listen(16)
        self.port = self._socket.getsockname()[1]

    def stop(self):
        self._socket.close()
