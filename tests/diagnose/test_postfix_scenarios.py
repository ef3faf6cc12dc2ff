"""Issue 8: the causes a real Postfix gives, from a Postfix configured as a site's server would be (harness/postfix.py,
a private instance on 127.0.0.1 that hands each accepted transaction to an aiosmtpd upstream, which records what
arrived). Each scenario goes through rust_mail_send(), rust_mail_diagnose() with from/to (so the envelope is tried)
and rust_mail_explain() of the send result, and they must name the same cause; the replies asserted are Postfix's own.
"""
import pytest

from harness.diag_support import TO, diagnose, expect, explain_send, mentions, transport_for
from harness.mail import PASSWORD, USER, describe, send
from harness.postfix import Dovecot

# An address the login USER does not own (Postfix's smtpd_sender_login_maps gives USER only USER).
NOT_OWNED = "shop@example.com"


@pytest.fixture
def dovecot():
    server = Dovecot({USER: PASSWORD})
    yield server
    server.stop()


def message(sender, **fields):
    return {"from": sender, "to": TO, "subject": "scenario", "text": "Hello from the scenario.", **fields}


def send_failed(php, msg, transport, cause):
    """rust_mail_send() fails with `cause`, and rust_mail_explain() says the same both of the result as it came back
    and of a log row without the cause (which it classifies again from the kind and the reply)."""
    result = send(php, msg, transport)
    assert result["ok"] is False, describe(result)
    assert result["error"]["cause"] == cause, describe(result)
    explained, exception = php.call("rust_mail_explain", result, transport)
    assert exception is None, exception
    assert explained["cause"] == cause, explained
    assert explain_send(php, result, transport)["cause"] == cause, describe(result)
    return result


def advice_names(result, *words):
    text = "\n".join(result["error"]["advice"])
    for word in words:
        assert mentions(text, word), f"the send's advice does not name {word!r}: {result['error']['advice']}"


def reply_line(result):
    """The reply that decided the send, as Postfix wrote it (the result keeps code, enhanced code and text apart)."""
    return f"{result['code']} {result['enhanced_code']} {result['reply']}"


def client_lines(result):
    return [e["line"] for e in result["transcript"] if e["dir"] == "client"]


def test_postfix_sender_not_owned_by_the_login_is_sender_not_allowed(php, certs, postfix, dovecot, upstream):
    server = postfix(certs=certs, sasl=dovecot, sender_logins={USER: USER})
    transport = transport_for(server, security="starttls", ca_file=certs.ca, auth="login", timeout=10)

    # The login's own address goes through: the map and the login work, so the refusal below is about ownership.
    assert send(php, message(USER), transport)["ok"] is True
    assert [m.mail_from for m in upstream.messages] == [USER]

    result = send_failed(php, message(NOT_OWNED), transport, "sender_not_allowed")
    # Postfix's default smtpd_delay_reject = yes: sender restrictions are evaluated, and answered, at RCPT TO.
    assert result["error"]["stage"] == "rcpt", describe(result)
    assert reply_line(result) == f"553 5.7.1 <{NOT_OWNED}>: Sender address rejected: not owned by user {USER}"
    advice_names(result, "smtpd_sender_login_maps")
    assert len(upstream.messages) == 1

    diagnosis = diagnose(php, transport, {"timeout": 20, "from": NOT_OWNED, "to": TO})
    assert diagnosis.status("auth") == "ok", diagnosis
    expect(diagnosis, "sender_not_allowed", failed_step="envelope", advice=["smtpd_sender_login_maps"])
    assert "not owned by user" in diagnosis.step("envelope")["detail"], diagnosis


def test_postfix_anvil_message_rate_limit_is_throttled(php, postfix, upstream):
    server = postfix(message_rate_limit=(2, "3600s"))
    # Pool off: every send is its own connection, so the limit is Postfix's per client address, not per session.
    transport = transport_for(server, auth="none", pool=False)
    for _ in range(2):
        assert send(php, message(USER), transport)["ok"] is True
    assert len(upstream.messages) == 2

    result = send_failed(php, message(USER), transport, "throttled")
    assert result["error"]["transient"] is True, describe(result)
    assert result["error"]["stage"] == "mail", describe(result)
    assert reply_line(result) == "450 4.7.1 Error: too much mail from 127.0.0.1"
    advice_names(result, "smtpd_client_message_rate_limit")
    assert len(upstream.messages) == 2

    diagnosis = diagnose(php, transport, {"timeout": 20, "from": USER, "to": TO})
    expect(diagnosis, "throttled", failed_step="envelope", advice=["smtpd_client_message_rate_limit"])
    assert "too much mail from 127.0.0.1" in diagnosis.step("envelope")["detail"], diagnosis


# Postfix offers SIZE 20000 in EHLO (RFC 1870). A larger message is refused by the client before MAIL FROM, over
# DATA and BDAT alike: nothing of it is sent, and the advice quotes the size Postfix offered. (Before, the client sent
# it whole and Postfix refused it at the end: "552 5.3.4 Chunk exceeds message size limit" after BDAT, "552 5.3.4
# Error: message file too big" after DATA; tests/replies.tsv keeps judging those replies.)
@pytest.mark.parametrize("chunking", [True, False])
def test_postfix_message_size_limit_is_message_too_large(php, postfix, upstream, chunking):
    limit = 20000
    server = postfix(size_limit=limit)
    transport = transport_for(server, auth="none", chunking=chunking)

    # A failure no log row from before causes were logged can hold: the result's own cause is what explains it.
    result = send(php, message(USER, text=("y" * 70 + "\n") * 400), transport)
    assert (result["ok"], result["error"]["cause"]) == (False, "message_too_large"), describe(result)
    assert php.call("rust_mail_explain", result, transport)[0]["cause"] == "message_too_large"
    lines = client_lines(result)
    assert not any(line.startswith(("MAIL FROM:", "BDAT", "DATA")) for line in lines), describe(result)
    assert result["reply"] is None and result["error"]["stage"] == "mail", describe(result)
    assert f"more than the {limit} bytes the server takes" in result["error"]["message"], describe(result)
    advice_names(result, f"{limit}")
    assert upstream.messages == []

    # The walk sends no message of this size: it sees the limit in EHLO and an envelope Postfix accepts.
    diagnosis = diagnose(php, transport, {"timeout": 20, "from": USER, "to": TO})
    assert diagnosis.step("ehlo")["data"]["size"] == limit, diagnosis
    expect(diagnosis, "ok")


def test_postfix_starttls_required_refuses_plain_text_and_opportunistic_goes_encrypted(php, certs, postfix, upstream):
    server = postfix(certs=certs, require_tls=True)

    plain = transport_for(server, security="none", auth="none")
    result = send_failed(php, message(USER), plain, "starttls_required")
    assert reply_line(result) == "530 5.7.0 Must issue a STARTTLS command first"
    assert result["error"]["stage"] == "mail", describe(result)
    advice_names(result, "security", "starttls")
    diagnosis = diagnose(php, plain, {"timeout": 20, "from": USER, "to": TO})
    expect(diagnosis, "starttls_required", failed_step="envelope", advice=["security", "starttls"])
    assert upstream.messages == []

    # 'opportunistic' takes STARTTLS where offered and still checks the certificate: Postfix's is from the test CA,
    # which this site does not trust yet, so the send fails rather than going on in plain text.
    unverified = transport_for(server, security="opportunistic", auth="none")
    result = send(php, message(USER), unverified)
    assert result["error"]["cause"] == "tls_certificate_invalid", describe(result)
    assert "STARTTLS" in client_lines(result) and "MAIL FROM:<%s>" % USER not in client_lines(result), describe(result)
    assert upstream.messages == []

    opportunistic = transport_for(server, security="opportunistic", auth="none", ca_file=certs.ca)
    result = send(php, message(USER), opportunistic)
    assert result["ok"] is True, describe(result)
    assert "STARTTLS" in client_lines(result), describe(result)
    # Postfix notes the session's TLS in the Received: header it adds (smtpd_tls_received_header).
    [received] = upstream.messages
    header = received.raw.split(b"\r\n\r\n", 1)[0].decode()
    assert "(using TLSv1." in header and "with cipher" in header, header
