"""Calling rust_mail_diagnose() and checking what it says.

Every call goes through diagnose(), which also asserts that no secret from the
transport comes back anywhere in the result, in any form it could leak as."""
import json
import re

from harness.mail import PASSWORD, TOKEN, USER, assert_no_secret

STEP_NAMES = ["dns", "sender_dns", "tcp", "greeting", "ehlo", "tls", "auth", "envelope", "send"]
# With implicit TLS (security 'tls') the handshake comes before the greeting, and the steps say so.
IMPLICIT_TLS_STEP_NAMES = ["dns", "sender_dns", "tcp", "tls", "greeting", "ehlo", "auth", "envelope", "send"]
# An HTTPS API (`api`): the connection, the token, the permission read from it, then a send only with send_test.
API_STEP_NAMES = ["dns", "tcp", "tls", "token", "permission", "send"]
STATUSES = {"ok", "warn", "fail", "skip"}
CAUSES = {
    "ok", "dns_failed", "port_blocked", "connection_refused", "not_smtp", "tls_handshake_failed",
    "tls_version_unsupported", "tls_certificate_invalid", "starttls_unavailable", "auth_unavailable",
    "auth_failed", "auth_disabled", "basic_auth_retired", "anonymous_rejected", "sender_not_allowed",
    "relay_denied", "direct_send_rejected", "intercepted", "recipient_rejected", "throttled", "timeout",
    "unknown", "starttls_required", "sender_unauthenticated", "greylisted", "blocklisted", "message_too_large",
    "address_needs_smtputf8", "daily_limit_reached", "too_many_recipients", "sender_mailbox_full",
    "api_token_rejected", "api_token_expired", "api_permission_missing", "api_mailbox_unavailable", "api_sandbox",
    "api_account_paused", "api_request_rejected", "api_unavailable",
}
FROM = USER
TO = "rcpt@example.com"


class Diagnosis:
    """The result of one rust_mail_diagnose() call, with accessors and a readable dump."""

    def __init__(self, result, elapsed):
        self.raw = result
        self.elapsed = elapsed
        self.ok = result.get("ok")
        self.steps = result.get("steps") or []
        self.verdict = result.get("verdict") or {}
        self.cause = self.verdict.get("cause")
        self.summary = self.verdict.get("summary") or ""
        self.advice = list(self.verdict.get("advice") or [])
        self.ports = result.get("ports") or []

    def step(self, name):
        matches = [s for s in self.steps if s.get("name") == name]
        assert matches, f"no step {name!r}\n{self}"
        return matches[0]

    def status(self, name):
        return self.step(name)["status"]

    def port(self, number):
        matches = [p for p in self.ports if p.get("port") == number]
        assert matches, f"port {number} not in the scan\n{self}"
        return matches[0]

    def text(self):
        """Summary and advice, lower-cased: what the site owner reads."""
        return "\n".join([self.summary, *self.advice]).lower()

    def __str__(self):
        lines = [f"ok={self.ok} cause={self.cause!r} elapsed={self.elapsed:.2f}s",
                 f"summary: {self.summary}"]
        lines += [f"advice: {a}" for a in self.advice]
        for s in self.steps:
            lines.append(f"step {s.get('name'):9} {s.get('status'):5} {s.get('ms')}ms {s.get('detail')} "
                         f"{json.dumps(s.get('data'), default=repr)[:300]}")
        if self.ports:
            lines.append(f"ports: {self.ports}")
        for entry in self.raw.get("transcript") or []:
            lines.append(f"  {entry.get('dir')}: {entry.get('line')}")
        return "\n".join(lines)


def diagnose(php, transport, options=None, timeout=90):
    """Runs rust_mail_diagnose(transport, options) in a fresh php; checks the result's shape and secrecy."""
    result, exception = php.call("rust_mail_diagnose", transport, options or {}, timeout=timeout)
    assert exception is None, f"rust_mail_diagnose threw: {exception}"
    assert isinstance(result, dict), f"rust_mail_diagnose returned {result!r}"
    assert_no_secret(result, USER, PASSWORD)
    assert_no_secret(result, USER, TOKEN)
    diagnosis = Diagnosis(result, php.last_elapsed)
    names = [s.get("name") for s in diagnosis.steps]
    if transport.get("api"):
        expected = API_STEP_NAMES
    else:
        expected = IMPLICIT_TLS_STEP_NAMES if transport.get("security") == "tls" else STEP_NAMES
    assert names == expected, diagnosis
    assert all(s.get("status") in STATUSES for s in diagnosis.steps), diagnosis
    assert diagnosis.cause in CAUSES, diagnosis
    assert isinstance(diagnosis.summary, str) and diagnosis.summary.strip(), diagnosis
    assert all(isinstance(a, str) and a.strip() for a in diagnosis.advice), diagnosis
    if diagnosis.cause != "ok":
        assert diagnosis.advice, diagnosis
    return diagnosis


def assert_readable(diagnosis):
    """The summary and advice are written for a site owner: no Rust debug output such as
    DnsName("x"), and no sentence closed twice when a quoted reply ends with its own period."""
    for text in [diagnosis.summary, *diagnosis.advice]:
        assert not re.search(r'\b[A-Z]\w*\("', text), f"debug formatting in {text!r}\n{diagnosis}"
        assert not re.search(r"[^.]\.\.$", text), f"double period in {text!r}\n{diagnosis}"


def mentions(text, word):
    """Whether `word` appears in `text` as a whole word (so "auth" is not found in "author")."""
    return re.search(rf"(?<![\w.]){re.escape(word.lower())}(?![\w])", text.lower()) is not None


def expect(diagnosis, cause, failed_step=None, advice=(), summary=()):
    """Asserts the verdict.

    advice / summary: words that must each appear in the advice (resp. the summary); an item
    may be a tuple of alternatives when the setting can rightly be named more than one way.
    failed_step: the step that must be "fail", every later step "skip"."""
    assert diagnosis.cause == cause, diagnosis
    assert diagnosis.ok is (cause == "ok"), diagnosis
    if failed_step is not None:
        assert diagnosis.status(failed_step) == "fail", diagnosis
        names = [s["name"] for s in diagnosis.steps]
        later = names[names.index(failed_step) + 1:]
        assert all(diagnosis.status(name) == "skip" for name in later), diagnosis
    advice_text = "\n".join(diagnosis.advice)
    for item in advice:
        alternatives = item if isinstance(item, tuple) else (item,)
        assert any(mentions(advice_text, w) for w in alternatives), f"advice names none of {alternatives}\n{diagnosis}"
    for item in summary:
        alternatives = item if isinstance(item, tuple) else (item,)
        assert any(mentions(diagnosis.summary, w) for w in alternatives), f"summary names none of {alternatives}\n{diagnosis}"
    # Last, so that a wrong cause or advice is what a failure shows first.
    assert_readable(diagnosis)


def transport_for(server, **fields):
    """A transport for a test server carrying the sentinel credentials; fields override, None removes."""
    transport = {"host": server.host, "port": server.port, "security": "none", "auth": "none",
                 "username": USER, "password": PASSWORD, "timeout": 5}
    transport.update(fields)
    return {k: v for k, v in transport.items() if v is not None}


def explain_send(php, result, transport):
    """rust_mail_explain() of a failed rust_mail_send() result, as the plugin calls it for an old log row."""
    error = result["error"]
    explained, exception = php.call("rust_mail_explain", {
        "kind": error["kind"], "message": error["message"], "code": result["code"],
        "enhanced_code": result["enhanced_code"], "reply": result["reply"]}, transport)
    assert exception is None, exception
    return explained
