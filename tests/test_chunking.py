"""CHUNKING (RFC 3030): against a real Postfix, which offers it, the message goes as `BDAT <n> LAST` in the same
flight as MAIL and RCPT; results, refusals and the transcript are the same as with DATA. Postfix hands each
transaction to an aiosmtpd server (harness/postfix.py), which records what arrived byte for byte; aiosmtpd alone
offers no CHUNKING, so it also proves the DATA path still goes where BDAT is not offered."""
import time

import pytest

from harness.delayproxy import DelayProxy
from harness.mail import as_map, assert_failed, assert_sent, compose, describe, send, transport_for
from harness.postfix import Postfix
from harness.smtpserver import ServerConfig, SmtpTestServer

# Leading dots (stuffed with DATA, not with BDAT), bare LF and bare CR (made CRLF either way), no final line end.
RAW = b"From: <sender@example.com>\r\nTo: <rcpt@example.com>\r\nSubject: chunks\r\n\r\n.one\n..two\r.\r\nlast"
ON_ARRIVAL = b"From: <sender@example.com>\r\nTo: <rcpt@example.com>\r\nSubject: chunks\r\n\r\n.one\r\n..two\r\n.\r\nlast\r\n"
ENVELOPE = {"from": "sender@example.com", "to": ["rcpt@example.com"]}


def without_received(raw):
    """The message as the client sent it: Postfix prepends one Received: header (with folded lines)."""
    assert raw.startswith(b"Received: "), raw[:200]
    lines = raw.split(b"\r\n")
    rest = next(i for i in range(1, len(lines)) if not lines[i].startswith((b" ", b"\t")))
    return b"\r\n".join(lines[rest:])


def client_lines(result):
    return [e["line"] for e in result["transcript"] if e["dir"] == "client"]


def test_bdat_carries_the_message_unstuffed_in_one_flight(php, postfix, upstream):
    server = postfix()
    result = send(php, {"raw": RAW, "envelope": ENVELOPE}, transport_for(server))
    assert_sent(result)
    bdat = f"BDAT {len(ON_ARRIVAL)} LAST"
    lines = client_lines(result)
    # MAIL, RCPT, BDAT and the message in one write, before any reply: the transcript shows them together.
    # SIZE (RFC 1870) is the chunk's length, Postfix offering SIZE.
    mail = f"MAIL FROM:<sender@example.com> SIZE={len(ON_ARRIVAL)}"
    start = lines.index(mail)
    assert lines[start:start + 4] == [mail, "RCPT TO:<rcpt@example.com>", bdat,
                                      f"[message: {len(ON_ARRIVAL)} bytes]"], describe(result)
    assert "DATA" not in lines and "." not in lines
    entries = result["transcript"]
    first_reply = next(i for i, e in enumerate(entries) if e["dir"] == "server" and e["line"].startswith("250 2.1.0"))
    assert [e["line"] for e in entries[:first_reply] if e["dir"] == "client"][-1].startswith("[message:")
    assert not any("chunks" in line or ".one" in line for line in lines), "the transcript holds the body"
    received = upstream.messages[0]
    assert without_received(received.raw) == ON_ARRIVAL
    assert (received.mail_from, received.rcpt_tos) == ("sender@example.com", ["rcpt@example.com"])
    assert result["code"] == 250 and result["accepted"] == ["rcpt@example.com"]


@pytest.mark.parametrize("chunking_offered, chunking_option", [(True, False), (False, True)])
def test_data_where_bdat_is_off_or_not_offered_delivers_the_same_bytes(php, postfix, upstream, chunking_offered,
                                                                        chunking_option):
    server = postfix(chunking=chunking_offered)
    result = send(php, {"raw": RAW, "envelope": ENVELOPE}, transport_for(server, chunking=chunking_option))
    assert_sent(result)
    lines = client_lines(result)
    assert "DATA" in lines and not any(line.startswith("BDAT") for line in lines), describe(result)
    assert without_received(upstream.messages[0].raw) == ON_ARRIVAL


def test_a_server_without_chunking_gets_data(php, upstream):
    """aiosmtpd offers no CHUNKING: DATA, and the same bytes arrive."""
    result = send(php, {"raw": RAW, "envelope": ENVELOPE}, transport_for(upstream))
    assert_sent(result)
    assert "DATA" in client_lines(result)
    assert upstream.messages[0].raw == ON_ARRIVAL


def outcome(result):
    """What a caller reads from a result, apart from timings, the transcript and a queue id in a 250's text."""
    error = result["error"] and {k: result["error"][k] for k in ("kind", "stage", "transient", "cause")}
    return (result["ok"], result["accepted"], as_map(result["rejected"]), result["code"], result["enhanced_code"],
            None if result["ok"] else result["reply"], error)


# (the upstream's scripted replies, Postfix's own settings). Postfix asks the upstream about the sender only once
# a recipient is given, so a sender is refused by Postfix itself, with an access map.
REFUSALS = {
    "one recipient": ({"rcpt:gone@example.com": "550 5.1.1 <gone@example.com>: Recipient address rejected"}, {}),
    "every recipient": ({"rcpt": "550 5.1.1 Recipient address rejected"}, {}),
    "the sender": ({}, {"smtpd_delay_reject": "no", "smtpd_sender_restrictions":
                        "check_sender_access inline:{ { sender@example.com = 553 5.7.1 Sender address rejected } }"}),
    "the message": ({"data": "554 5.7.1 Message content rejected"}, {}),
}


@pytest.mark.parametrize("name", REFUSALS)
def test_refusals_come_back_as_with_data_and_the_pooled_session_stays_in_step(php, name):
    """The same refusal through Postfix with BDAT and with DATA gives the same result; a second send on the
    pooled connection then gets its own replies, not leftovers of the first."""
    outcomes = {}
    for chunking in (True, False):
        replies, settings = REFUSALS[name]
        upstream = SmtpTestServer(ServerConfig(pipelining=True, replies=replies)).start()
        server = Postfix((upstream.host, upstream.port), settings=settings)
        try:
            code = f"""
            $transport = {php.php_literal(transport_for(server, chunking=chunking))};
            $message = {php.php_literal(compose(to=["rcpt@example.com", "gone@example.com"]))};
            harness_print([rust_mail_send($message, $transport), rust_mail_send($message, $transport)]);
            """
            first, second = php.run(code).json()
        finally:
            server.stop()
            upstream.stop()
        verb = "BDAT" if chunking else "DATA"
        assert any(line.startswith(verb) for line in client_lines(first)), describe(first)
        assert second["reused_connection"] is True, describe(second)
        assert outcome(first) == outcome(second), describe(second)
        delivered = [m.rcpt_tos for m in upstream.messages]
        outcomes[chunking] = (outcome(first), delivered)
    assert outcomes[True] == outcomes[False]
    result, delivered = outcomes[True]
    ok, accepted, rejected, code, enhanced, reply, error = result
    if name == "one recipient":
        assert ok and accepted == ["rcpt@example.com"] and list(rejected) == ["gone@example.com"]
        assert delivered == [["rcpt@example.com"]] * 2
    else:
        kind = {"every recipient": "recipient_rejected", "the sender": "sender_rejected",
                "the message": "data_rejected"}[name]
        assert not ok and error["kind"] == kind, result
        assert delivered == []
        if name == "the message":
            assert (code, enhanced, error["stage"]) == (554, "5.7.1", "message")


def test_a_warm_send_with_bdat_takes_one_round_trip(php, postfix):
    """Through a proxy adding 50 ms each way: on a pooled connection, a send with BDAT waits for one round trip
    (100 ms), with DATA for two."""
    server = postfix()
    proxy = DelayProxy(server.host, server.port, 0.05)
    try:
        sends = {}
        for chunking in (True, False):
            code = f"""
            $transport = {php.php_literal(transport_for(proxy, chunking=chunking))};
            $message = {php.php_literal(compose())};
            $results = [];
            for ($i = 0; $i < 4; $i++) {{ $results[] = rust_mail_send($message, $transport); }}
            harness_print($results);
            """
            results = php.run(code).json()
            for result in results:
                assert_sent(result)
            assert [r["reused_connection"] for r in results] == [False, True, True, True]
            sends[chunking] = [r["timings"]["send"] for r in results[1:]]
    finally:
        proxy.stop()
    assert all(100 <= ms < 180 for ms in sends[True]), sends
    assert all(200 <= ms < 280 for ms in sends[False]), sends


def test_bdat_after_starttls_and_a_dovecot_login(php, upstream, certs):
    """The benchmark's server: Postfix with STARTTLS and Dovecot SASL. The login is Dovecot's, the chunk arrives."""
    from harness.mail import assert_no_secret
    from harness.postfix import Dovecot
    dovecot = Dovecot({"bench": "S3ntinel-Pa55"})
    server = Postfix((upstream.host, upstream.port), certs=certs, sasl=dovecot)
    try:
        transport = transport_for(server, security="starttls", ca_file=certs.ca, username="bench",
                                  password="S3ntinel-Pa55")
        result = send(php, {"raw": RAW, "envelope": ENVELOPE}, transport)
        # Postfix writes the session's summary ("disconnect from ... bdat=1 ...") once it has ended, a moment later
        # (the harness's readiness probe has a summary of its own, without commands).
        deadline = time.monotonic() + 10
        while "bdat=" not in server.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        log = server.log()
    finally:
        server.stop()
        dovecot.stop()
    assert_sent(result)
    assert_no_secret(result, "bench", "S3ntinel-Pa55")
    assert f"BDAT {len(ON_ARRIVAL)} LAST" in client_lines(result)
    assert "sasl_username=bench" in log and "starttls=1 auth=1 mail=1 rcpt=1 bdat=1" in log, log
    assert without_received(upstream.messages[0].raw) == ON_ARRIVAL


def test_a_message_is_not_held_by_delayed_acknowledgements(php, postfix, certs):
    """Postfix sends its replies without TCP_NODELAY: with the MAIL and RCPT replies already out while the chunk
    arrived, its final reply waited for this side's delayed ACK (40 ms on Linux; seen with a 20 KB message over
    STARTTLS) until the client acknowledged at once (TCP_QUICKACK) before waiting for a reply. Warm sends now take
    a few ms. (Postfix queues here: its 250 comes after its own queue file, not after an upstream's reply.)"""
    server = postfix(queue=True, certs=certs)
    code = f"""
    $transport = {php.php_literal(transport_for(server, security="starttls", ca_file=certs.ca))};
    $medians = [];
    foreach ([2000, 5000, 10000, 20000, 50000] as $lines) {{
        $message = {php.php_literal(compose())};
        $message['text'] = str_repeat("x\\n", $lines);
        $ms = [];
        for ($i = 0; $i < 6; $i++) {{ $ms[] = rust_mail_send($message, $transport)['timings']['send']; }}
        $ms = array_slice($ms, 1);
        sort($ms);
        $medians[$lines] = $ms[2];
    }}
    harness_print($medians);
    """
    medians = php.run(code).json()
    # A held reply waits the whole delayed ACK (40 ms), so a median under 35 ms says it was not held; 25 ms, the
    # bound before, was passed once by 0.8 ms (25.76 ms for one size, 10-15 ms for the others) in a full run.
    assert all(ms < 35 for ms in medians.values()), medians
