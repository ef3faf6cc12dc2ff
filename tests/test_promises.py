"""Promises of the README that rust_mail_send() keeps, each pinned against the real extension in the real PHP CLI
and real servers (on loopback, or in network namespaces the tests make): CR, LF and NUL refused in every field,
the error kinds of network failures and their `transient` flag, the EHLO argument the server receives, and no
secret in a result, a transcript or an exception, even when the server echoes it back."""
import base64
import re
import socket

import pytest

from harness.hostile import HostileServer, greeting_junk
from harness.mail import (CREDENTIALS, PASSWORD, USER, assert_failed, assert_no_secret, assert_sent, compose,
                          secret_forms, send, transport_for)
from harness.smtpserver import ServerConfig, SmtpTestServer

RAW = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: raw\r\n\r\nHello\r\n"


def refusal_message(result, exception):
    """The message of the RustMailException a call must have thrown, instead of returning `result`."""
    assert result is None and exception is not None, f"expected an exception, got {result!r}"
    assert exception["class"] == "RustMailException", exception
    return exception["message"]


# ---------------------------------------------------------------- CR, LF and NUL in every field

def raw_message(envelope_from="a@example.com", envelope_to="b@example.com"):
    return {"raw": RAW, "envelope": {"from": envelope_from, "to": [envelope_to]}}


# field -> (what the exception names, bad value -> (message, transport fields))
INJECTABLE = {
    "bcc": ("$message['bcc']", lambda bad: (compose(bcc=f"hidden@example.com{bad}"), {})),
    "bcc list": ("$message['bcc']", lambda bad: (compose(bcc=["ok@example.com", f"hidden@example.com{bad}"]), {})),
    "reply_to": ("$message['reply_to']", lambda bad: (compose(reply_to=f"replies@example.com{bad}"), {})),
    "reply_to name": ("$message['reply_to']['replies@example.com']",
                      lambda bad: (compose(reply_to={"replies@example.com": f"Replies{bad}"}), {})),
    "attachment name": ("$message['attachments'][0]",
                        lambda bad: (compose(attachments=[{"content": "hello\n", "name": f"note.txt{bad}"}]), {})),
    "attachment type": ("$message['attachments'][0]['type']",
                        lambda bad: (compose(attachments=[{"content": "hello\n", "name": "note.txt",
                                                           "type": f"text/plain{bad}"}]), {})),
    "charset": ("$message['charset']", lambda bad: (compose(charset=f"UTF-8{bad}"), {})),
    "raw envelope from": ("$message['envelope']['from']",
                          lambda bad: (raw_message(envelope_from=f"a@example.com{bad}"), {})),
    "raw envelope to": ("$message['envelope']['to']", lambda bad: (raw_message(envelope_to=f"b@example.com{bad}"), {})),
    "helo": ("$transport['helo']", lambda bad: (compose(), {"helo": f"client.example{bad}"})),
    "username": ("$transport['username']",
                 lambda bad: (compose(), {"username": f"{USER}{bad}", "password": PASSWORD,
                                          "allow_insecure_auth": True})),
    "host": ("$transport['host']", lambda bad: (compose(), {"host": f"127.0.0.1{bad}"})),
}
# Inside a value (a second header line), and at its end, where trimming would otherwise hide it.
BAD_VALUES = {"CR": "\rBcc: evil@example.com", "LF": "\nBcc: evil@example.com", "NUL": "\0evil",
              "trailing CR": "\r", "trailing LF": "\n", "trailing CRLF": "\r\n", "trailing NUL": "\0"}


@pytest.mark.parametrize("bad", BAD_VALUES, ids=BAD_VALUES.keys())
@pytest.mark.parametrize("field", INJECTABLE, ids=INJECTABLE.keys())
def test_cr_lf_and_nul_are_refused_in_every_field(refusals, field, bad):
    server, answers = refusals
    error = refusal_message(*answers[field, bad])
    assert error.startswith(INJECTABLE[field][0]), error
    assert "contains a line break or NUL byte (CR, LF or NUL): refused as header injection" in error, error
    assert PASSWORD not in error
    assert server.connections == 0 and server.messages == []


def test_the_same_fields_without_line_breaks_are_sent(php, smtp_server):
    """The control of the test above: every field it poisons, clean, goes through."""
    server = smtp_server(auth=CREDENTIALS)
    transport = transport_for(server, helo="client.example", username=USER, password=PASSWORD,
                              allow_insecure_auth=True)
    message = compose(bcc=["ok@example.com", "hidden@example.com"], reply_to={"replies@example.com": "Replies"},
                      charset="UTF-8",
                      attachments=[{"content": "hello\n", "name": "note.txt", "type": "text/plain"}])
    assert_sent(send(php, message, transport))
    assert_sent(send(php, raw_message(), transport))
    first, second = server.messages
    assert first.rcpt_tos == ["rcpt@example.com", "ok@example.com", "hidden@example.com"]
    assert first.message["Reply-To"] == "Replies <replies@example.com>"
    assert second.mail_from == "a@example.com" and second.rcpt_tos == ["b@example.com"]
    assert [(a.user, a.success) for a in server.auth_attempts] == [(USER, True)] * 2


# ---------------------------------------------------------------- error kinds of network failures

def expect_network_failure(result, kind, stage):
    """A network failure: its kind and stage, and transient (worth trying again later)."""
    error = assert_failed(result, kind)
    assert error["stage"] == stage, error
    assert error["transient"] is True, error
    assert result["accepted"] == [], result
    return error


@pytest.fixture
def resolver_netns(netns, tmp_path):
    """A namespace whose resolver is a dnsmasq on its own loopback that answers NXDOMAIN for every name under
    .invalid, so a lookup never leaves the namespace. Yields (namespace, dnsmasq's query log)."""
    log = tmp_path / "queries.log"
    with netns.resolver(["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--user=root", "--port=53",
                         "--listen-address=127.0.0.1", "--bind-interfaces", "--local=/invalid/", "--log-queries",
                         f"--log-facility={log}"]):
        yield netns, log


def test_unknown_host_is_a_dns_error(php, resolver_netns):
    netns, log = resolver_netns
    host = "no-such-host.invalid"
    result = send(netns.php(php), compose(), {"host": host, "port": 25, "security": "none", "timeout": 5})
    error = expect_network_failure(result, "dns", "dns")
    assert error["message"].startswith(f"cannot resolve {host}: "), error
    assert error["cause"] == "dns_failed", error
    # The lookup reached the namespace's resolver and was answered there.
    queries = log.read_text()
    assert re.search(rf"query\[A+\] {re.escape(host)} from 127\.0\.0\.1", queries), queries
    assert f"config {host} is NXDOMAIN" in queries, queries


def test_dropped_syn_is_a_connect_timeout(php, netns):
    port = 2525
    netns.drop(port)
    runner = netns.php(php)
    result = send(runner, compose(), {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 2})
    error = expect_network_failure(result, "connect_timeout", "connect")
    assert f"127.0.0.1:{port}" in error["message"], error
    assert runner.last_elapsed < 3.5, f"took {runner.last_elapsed:.1f}s"


def test_reset_connect_is_connect_refused(php, netns):
    port = 2525
    netns.reject(port)
    result = send(netns.php(php), compose(), {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5})
    expect_network_failure(result, "connect_refused", "connect")


def test_server_that_never_greets_is_a_timeout(php, silent_server):
    result = send(php, compose(), transport_for(silent_server, timeout=2))
    expect_network_failure(result, "timeout", "greeting")
    assert php.last_elapsed < 3.5, f"took {php.last_elapsed:.1f}s"


def test_a_server_that_does_not_speak_smtp_is_a_protocol_error(php):
    server = HostileServer(greeting_junk)
    try:
        result = send(php, compose(), transport_for(server, timeout=5))
    finally:
        server.stop()
    error = expect_network_failure(result, "protocol", "greeting")
    assert "the server's answer is not SMTP" in error["message"], error


# ---------------------------------------------------------------- the EHLO argument

def test_helo_is_the_ehlo_argument_the_server_receives(php, smtp_server):
    server = smtp_server()
    assert_sent(send(php, compose(), transport_for(server, helo="  client.test.example ")))
    assert server.client_lines()[0] == "EHLO client.test.example", server.session_log


def test_default_helo_is_this_machines_name(php, smtp_server):
    server = smtp_server()
    assert_sent(send(php, compose(), transport_for(server)))
    name = socket.gethostname()
    expected = name if name and re.fullmatch(r"[A-Za-z0-9.-]+", name) else "[127.0.0.1]"
    assert server.client_lines()[0] == f"EHLO {expected}", server.session_log


# ---------------------------------------------------------------- no secret comes back

def b64(text):
    return base64.b64encode(text.encode()).decode()


# The server quotes the password, and the AUTH PLAIN payload it was given, back in its reply at each stage.
ECHO = f"{PASSWORD} {b64(PASSWORD)} {b64(chr(0) + USER + chr(0) + PASSWORD)}"
ECHOING_REPLIES = {
    "auth": ({"auth": f"535 5.7.8 bad credentials {ECHO}"}, "auth", "auth"),
    "mail": ({"mail": f"550 5.7.1 {ECHO} may not send"}, "sender_rejected", "mail"),
    "rcpt": ({"rcpt": f"550 5.1.1 {ECHO} unknown"}, "recipient_rejected", "rcpt"),
    "data": ({"data": f"554 5.6.0 {ECHO} refused"}, "data_rejected", "message"),
}


@pytest.mark.parametrize("replies, kind, stage", ECHOING_REPLIES.values(), ids=ECHOING_REPLIES.keys())
def test_a_server_echoing_the_password_in_a_send_gets_it_nowhere(php, smtp_server, replies, kind, stage):
    server = smtp_server(auth=CREDENTIALS, replies=replies)
    result = send(php, compose(), transport_for(server, auth="plain", username=USER, password=PASSWORD,
                                                allow_insecure_auth=True))
    error = assert_failed(result, kind)
    assert error["stage"] == stage, error
    # The server did say it, and the caller got the reply with the secret cut out.
    assert any(line.startswith("S: 5") and PASSWORD in line for line in server.session_log), server.session_log
    assert "[redacted]" in result["reply"], result
    assert_no_secret(result, USER, PASSWORD)


def test_a_server_echoing_the_password_after_a_sent_message_gets_it_nowhere(php, smtp_server):
    """Delivered: the echo is in the DATA reply the caller gets as `reply`, and in the transcript."""
    server = smtp_server(auth=CREDENTIALS, replies={"data:echo@example.com": f"250 2.0.0 queued {ECHO}"})
    result = send(php, compose(to="echo@example.com"), transport_for(server, username=USER, password=PASSWORD,
                                                                     allow_insecure_auth=True))
    assert result["ok"] is True, result
    assert "[redacted]" in result["reply"], result
    assert any("[redacted]" in entry["line"] for entry in result["transcript"] if entry["dir"] == "server")
    assert_no_secret(result, USER, PASSWORD)


CREDENTIALED = {"username": USER, "password": PASSWORD}
# Mistakes a caller makes with the password at hand: it lands under another key, whose refusal quotes the value.
# Each case: the function, fields of the transport, fields of its other argument ($message, $failure, $options).
EXCEPTIONS_WITH_CREDENTIALS = {
    "password as auth": ("rust_mail_send", {"auth": PASSWORD}, {}, "$transport['auth'] must be one of"),
    "password's base64 as security": ("rust_mail_send", {"security": b64(PASSWORD)}, {},
                                      "$transport['security'] must be one of"),
    "password as tls_min_version": ("rust_mail_send", {"tls_min_version": PASSWORD}, {},
                                    "$transport['tls_min_version'] must be one of"),
    "password in helo": ("rust_mail_send", {"helo": f"my {PASSWORD}"}, {}, "$transport['helo']"),
    "password in host": ("rust_mail_send", {"host": f"smtp.example.com {PASSWORD}"}, {}, "$transport['host']"),
    "password in ca_file": ("rust_mail_send", {"ca_file": f"/nonexistent/{PASSWORD}.pem"}, {}, "$transport['ca_file']"),
    "password as a list": ("rust_mail_send", {"password": [PASSWORD]}, {}, "$transport['password'] must be"),
    "password misspelt": ("rust_mail_send", {"pasword": PASSWORD}, {}, "$transport['pasword'] is not a known key"),
    "username with CRLF": ("rust_mail_send", {"username": f"{USER}\r\n"}, {}, "$transport['username']"),
    "password as the message's from": ("rust_mail_send", {}, {"from": PASSWORD}, "$message['from'] is not a valid"),
    "password as a message key": ("rust_mail_send", {}, {PASSWORD: "x"}, "$message['[redacted]'] is not a known key"),
    "send_many: password as an option": ("rust_mail_send_many", {}, {"per_minute": PASSWORD},
                                         "$options['per_minute'] must be"),
    "diagnose: password as auth": ("rust_mail_diagnose", {"auth": PASSWORD}, {}, "$transport['auth'] must be one of"),
    "diagnose: password as an option": ("rust_mail_diagnose", {}, {"nameserver": PASSWORD},
                                        "$options['nameserver'] must be"),
    "explain: password as auth": ("rust_mail_explain", {"auth": PASSWORD}, {}, "$transport['auth'] must be one of"),
    "explain: password in the failure": ("rust_mail_explain", {}, {"kind": PASSWORD}, "$failure['kind'] must be one of"),
}


def credentialed_call(server, fn, fields, other):
    """The arguments of `fn` for one case of EXCEPTIONS_WITH_CREDENTIALS."""
    transport = transport_for(server, **{**CREDENTIALED, **fields})
    return {
        "rust_mail_send": (compose(**other), transport),
        "rust_mail_send_many": ([compose()], transport, other),
        "rust_mail_diagnose": (transport, other),
        "rust_mail_explain": ({"kind": "auth", "message": "login failed", "code": 535, **other}, transport),
    }[fn]


@pytest.mark.parametrize("case", EXCEPTIONS_WITH_CREDENTIALS, ids=EXCEPTIONS_WITH_CREDENTIALS.keys())
def test_exceptions_raised_with_credentials_present_carry_no_secret(refusals, case):
    server, answers = refusals
    says = EXCEPTIONS_WITH_CREDENTIALS[case][3]
    error = refusal_message(*answers[case])
    assert error.startswith(says), error
    for form in secret_forms(USER, PASSWORD):
        assert form not in error, f"secret leaked as {form!r}: {error}"
    assert server.connections == 0 and server.auth_attempts == []


@pytest.fixture(scope="module")
def refusals(php, certs):
    """Every call of the two refusal tables above, made in ONE php process against one server that takes the sentinel
    credentials. Each call is refused while its arguments are read, before any connection, so it needs no process or
    server of its own; the server's counters still show that none of them connected.
    Yields (server, {(field, bad value) or case: (result, exception)})."""
    server = SmtpTestServer(ServerConfig(auth=CREDENTIALS), certs).start()
    calls = {}
    for field, (_, build) in INJECTABLE.items():
        for bad, value in BAD_VALUES.items():
            message, transport_fields = build(value)
            calls[field, bad] = ("rust_mail_send", (message, transport_for(server, **transport_fields)))
    for case, (fn, fields, other, _) in EXCEPTIONS_WITH_CREDENTIALS.items():
        calls[case] = (fn, credentialed_call(server, fn, fields, other))
    yield server, dict(zip(calls, php.call_many(calls.values())))
    server.stop()
