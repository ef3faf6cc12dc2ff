"""Deadlines: `timeout` bounds the whole of rust_mail_send(), and rust_mail_diagnose()'s own `timeout` the whole
run, whatever the server does (README: "seconds for the whole call ... it never takes longer").

A server that never speaks does not pin that: a client that only bounded each read would pass it too. The servers
here run on loopback, started by each test, and each one defeats a timeout that is not one deadline for the call:
every read gets its line in time and the reply never ends, or most of the time goes on replies that come in time
before the stall (a timeout started afresh for the stalled step would end PRELUDE too late), or the stall is where a
per-read timeout does not reach (a TLS handshake, a name lookup whose resolver would wait 30 s):

- an EHLO reply dripped one line every 0.4 s, forever: the send ends at its deadline, with kind `timeout` at stage
  `ehlo`; diagnose's `ehlo` step fails the same way (verdict `timeout`);
- a greeting dripped for 1.6 s of the 2, then the whole message taken and the final dot never answered: kind
  `timeout` at stage `message` (the reply to the dot; `data` is the DATA command's), not `ok`;
- a TLS handshake that never completes, kind `timeout` at stage `tls_handshake`: STARTTLS answered 220 after a
  greeting dripped for 1.6 s, then silence; implicit TLS whose ClientHello gets a handshake record trickled one byte
  every 0.4 s; implicit TLS whose ClientHello is read and ignored (nothing comes before it: this one pins that the
  handshake is bounded at all);
- a DNS server that reads every query and answers none, as the system's resolver (in a network namespace) and as
  diagnose's `nameserver`: kind `dns` at stage `dns` (diagnose: verdict `dns_failed`, step `dns` failed).

Times are those of the whole php process, measured here: at least the timeout (the deadline ended the call, not an
early error) and less than the timeout plus MARGIN (PHP's start and exit on a busy machine)."""
from functools import partial

import pytest

from harness.diag_support import diagnose, expect
from harness import hostile
from harness.hostile import (DnsBlackHole, HostileServer, drip_ehlo, mute, stall_after_data, starttls_then_silence,
                             tls_record_trickled)
from harness.mail import assert_failed, compose, send, transport_for

TIMEOUT = 2
MARGIN = 1.0
# Seconds of a dripped greeting before a stall: a client that gave the stalled step a fresh timeout would end after
# PRELUDE + TIMEOUT, later than the bound of TIMEOUT + MARGIN.
PRELUDE = 1.6
assert PRELUDE > MARGIN and PRELUDE < TIMEOUT
# A host name under .example (RFC 2606), which names nothing real.
UNANSWERED_HOST = "smtp.unanswered.example"


@pytest.fixture
def hostile_server():
    """Factory: hostile_server(behaviour) -> a started HostileServer, stopped at teardown."""
    servers = []

    def start(behaviour):
        servers.append(HostileServer(behaviour))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def assert_ended_at_deadline(runner, timeout=TIMEOUT):
    elapsed = runner.last_elapsed
    assert elapsed >= timeout, f"ended after {elapsed:.2f}s, before the {timeout}s deadline"
    assert elapsed < timeout + MARGIN, f"took {elapsed:.2f}s with a {timeout}s timeout"


def expect_timeout(result, stage):
    error = assert_failed(result, "timeout")
    assert error["stage"] == stage, error
    assert error["transient"] is True, error
    assert "before the timeout" in error["message"], error
    return error


# ---------------------------------------------------------------- rust_mail_send()

def test_an_ehlo_reply_dripped_forever_ends_at_the_deadline(php, hostile_server):
    server = hostile_server(drip_ehlo)
    result = send(php, compose(), transport_for(server, timeout=TIMEOUT))
    expect_timeout(result, "ehlo")
    assert_ended_at_deadline(php)
    # Every read got its line in time, again and again: only the deadline can have ended the call.
    dripped = [e for e in result["transcript"] if e["dir"] == "server" and e["line"] == "250-still going"]
    assert len(dripped) >= 3, result["transcript"]


def test_a_final_dot_never_answered_ends_at_the_deadline(php, hostile_server):
    server = hostile_server(partial(stall_after_data, greeting_seconds=PRELUDE))
    result = send(php, compose(), transport_for(server, timeout=TIMEOUT))
    # The reply to the final dot is the `message` stage (`data` is the DATA command's).
    expect_timeout(result, "message")
    assert_ended_at_deadline(php)
    assert b".\r\n" in server.received, "the server never got the whole message"
    assert result["code"] is None and result["reply"] is None, result


@pytest.mark.parametrize("behaviour", [tls_record_trickled, mute], ids=["trickled", "unanswered"])
def test_an_implicit_tls_handshake_that_never_ends_ends_at_the_deadline(php, hostile_server, behaviour):
    server = hostile_server(behaviour)
    result = send(php, compose(), transport_for(server, security="tls", timeout=TIMEOUT))
    expect_timeout(result, "tls_handshake")
    assert_ended_at_deadline(php)
    assert server.received and server.received[0][:1] == b"\x16", "no TLS ClientHello reached the server"


def test_a_starttls_handshake_never_answered_ends_at_the_deadline(php, hostile_server):
    server = hostile_server(partial(starttls_then_silence, greeting_seconds=PRELUDE))
    result = send(php, compose(), transport_for(server, security="starttls", timeout=TIMEOUT))
    expect_timeout(result, "tls_handshake")
    assert_ended_at_deadline(php)
    assert [line for line in server.received if line.startswith(b"STARTTLS")], server.received
    assert server.received[-1][:1] == b"\x16", "no TLS ClientHello reached the server"


@pytest.fixture
def black_hole_resolver(netns, tmp_path):
    """A namespace whose resolver is a DnsBlackHole on its own loopback, and lets the resolver wait 30 s a try.
    Yields (namespace, file of the names asked for)."""
    log = tmp_path / "queries.log"
    with open(log, "w") as out, \
            netns.resolver(["/usr/bin/python3", hostile.__file__, "dns-black-hole", "53"],
                           options="options timeout:30 attempts:2\n", stdout=out):
        yield netns, log


def test_a_resolver_that_never_answers_ends_at_the_deadline(php, black_hole_resolver):
    netns, log = black_hole_resolver
    runner = netns.php(php)
    result = send(runner, compose(), {"host": UNANSWERED_HOST, "port": 25, "security": "none", "timeout": TIMEOUT})
    error = assert_failed(result, "dns")
    assert error["stage"] == "dns" and error["transient"] is True, error
    assert error["message"] == f"looking up {UNANSWERED_HOST} took longer than the timeout", error
    assert_ended_at_deadline(runner)
    assert f"query {UNANSWERED_HOST}" in log.read_text().splitlines(), "the lookup never reached the black hole"


# ---------------------------------------------------------------- rust_mail_diagnose()
# The transport's timeout is long: only the run's own `timeout` option can end these in time.

def test_diagnose_of_an_ehlo_reply_dripped_forever_ends_at_its_deadline(php, hostile_server):
    server = hostile_server(drip_ehlo)
    diagnosis = diagnose(php, transport_for(server, timeout=30), {"timeout": TIMEOUT})
    expect(diagnosis, "timeout", failed_step="ehlo")
    assert "before the timeout" in diagnosis.step("ehlo")["detail"], diagnosis
    assert diagnosis.status("greeting") == "ok", diagnosis
    assert_ended_at_deadline(php)


def test_diagnose_with_a_nameserver_that_never_answers_ends_at_its_deadline(php):
    black_hole = DnsBlackHole()
    try:
        diagnosis = diagnose(php, {"host": UNANSWERED_HOST, "port": 25, "security": "none", "timeout": 30},
                             {"timeout": TIMEOUT, "nameserver": black_hole.address})
    finally:
        black_hole.stop()
    expect(diagnosis, "dns_failed", failed_step="dns")
    assert "longer than the timeout" in diagnosis.step("dns")["detail"], diagnosis
    assert_ended_at_deadline(php)
    assert UNANSWERED_HOST in black_hole.queries, black_hole.queries
