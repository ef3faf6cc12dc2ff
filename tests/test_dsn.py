"""Delivery status notifications (RFC 3461): `$message['dsn']` goes as NOTIFY= and ORCPT= on each RCPT TO and RET= /
ENVID= on MAIL FROM to a server that offers DSN (a real Postfix, whose own log shows each command it received), and is left out,
with a note in the transcript, for one that does not (aiosmtpd, which refuses any such parameter with a 555)."""
import time

import pytest

from harness.mail import assert_sent, compose, compose_and_send, describe, send, transport_for

DSN = {"notify": ["failure", "delay"], "ret": "headers", "envid": "order 1+2=3"}


# How Postfix's debug log shows a line it read from the client.
CLIENT_SAID = "< localhost[127.0.0.1]: "


def commands_postfix_received(server, count):
    """The MAIL FROM and RCPT TO lines Postfix logged as received (debug_peer_list), once `count` are there."""
    deadline = time.monotonic() + 10
    while True:
        received = [line.split(CLIENT_SAID, 1)[1] for line in server.log().splitlines() if CLIENT_SAID in line]
        lines = [line for line in received if line.startswith(("MAIL FROM:", "RCPT TO:"))]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def dsn_postfix(postfix):
    # Queued (not handed on as it happens): Postfix's own SMTP client relays it, with DSN only where offered.
    return postfix(queue=True, settings={"debug_peer_list": "127.0.0.1"})


def test_dsn_goes_on_mail_from_and_each_rcpt_to_a_server_that_offers_it(php, postfix):
    server = dsn_postfix(postfix)
    composed, result = compose_and_send(php, compose(to=["a@example.com", "b+tag=x@example.com"], dsn=DSN), transport_for(server))
    assert_sent(result)
    # SIZE (RFC 1870) too, Postfix offering it: the composed message's length. ORCPT as xtext ('+' and '=' escaped).
    assert commands_postfix_received(server, 3) == [
        f"MAIL FROM:<sender@example.com> SIZE={len(composed['raw'])} RET=HDRS ENVID=order+201+2B2+3D3",
        "RCPT TO:<a@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;a@example.com",
        "RCPT TO:<b+tag=x@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;b+2Btag+3Dx@example.com",
    ], server.log()
    assert not any(e["dir"] == "info" and "DSN" in e["line"] for e in result["transcript"]), describe(result)


def test_never_alone_and_a_composed_message_keeps_its_dsn(php, postfix):
    server = dsn_postfix(postfix)
    code = f"""
    $composed = rust_mail_compose({php.php_literal(compose(dsn={"notify": "never"}, return_path="<>"))});
    harness_print([$composed['dsn'], strlen($composed['raw']), rust_mail_send($composed, {php.php_literal(transport_for(server))})]);
    """
    dsn, size, result = php.run(code).json()
    assert_sent(result)
    assert dsn == {"notify": ["never"]}
    assert commands_postfix_received(server, 2) == [
        f"MAIL FROM:<> SIZE={size}", "RCPT TO:<rcpt@example.com> NOTIFY=NEVER ORCPT=rfc822;rcpt@example.com"]


def test_a_utf8_recipients_orcpt_is_utf8_unitext_when_smtputf8_is_used(php, postfix):
    """RFC 6533 section 3: with SMTPUTF8 in use (Postfix offers it), an address with non-ASCII before the '@' goes
    as ORCPT=utf-8;<address>, UTF-8 kept and '+' written \\x{2B}; an ASCII one keeps rfc822; and xtext."""
    server = dsn_postfix(postfix)
    message = compose(to=["jürgen+x@example.com", "anna@example.com"], dsn={"notify": ["failure"]})
    composed, result = compose_and_send(php, message, transport_for(server))
    assert_sent(result)
    assert commands_postfix_received(server, 3) == [
        f"MAIL FROM:<sender@example.com> SIZE={len(composed['raw'])} SMTPUTF8 BODY=8BITMIME",
        "RCPT TO:<jürgen+x@example.com> NOTIFY=FAILURE ORCPT=utf-8;jürgen\\x{2B}x@example.com",
        "RCPT TO:<anna@example.com> NOTIFY=FAILURE ORCPT=rfc822;anna@example.com",
    ], server.log()


def test_a_server_without_dsn_gets_none_and_the_transcript_says_so(php, smtp_server):
    server = smtp_server()
    result = send(php, compose(dsn=DSN), transport_for(server))
    assert_sent(result)
    assert [line for line in server.client_lines() if line.startswith(("MAIL", "RCPT"))] == [
        f"MAIL FROM:<sender@example.com> SIZE={len(server.messages[0].raw)}", "RCPT TO:<rcpt@example.com>"]
    notes = [e["line"] for e in result["transcript"] if e["dir"] == "info" and "DSN" in e["line"]]
    assert notes == ["DSN not offered by the server: the message goes without NOTIFY, RET and ENVID (RFC 3461)"]


@pytest.mark.parametrize("dsn, refusal", [
    ({"notify": ["failure", "never"]}, "$message['dsn']['notify'] 'never' stands alone"),
    ({"notify": ["bounce"]}, "$message['dsn']['notify'] 'bounce' is not one of success, failure, delay or never"),
    ({"ret": "body"}, "$message['dsn']['ret'] 'body' is not 'headers' or 'full'"),
    ({"envid": "id\r\nRCPT TO:<evil@example.com>"}, "$message['dsn']['envid'] 'id\\r\\nRCPT TO:<evil@example.com>' must be printable ASCII"),
    ({"envid": "Grüße"}, "$message['dsn']['envid'] 'Grüße' must be printable ASCII"),
    ({"envid": "+" * 34}, "$message['dsn']['envid'] is 102 characters as xtext"),
    ({"notfiy": ["failure"]}, "$message['dsn']['notfiy'] is not a known key"),
])
def test_a_bad_dsn_is_refused_naming_the_key(php, smtp_server, dsn, refusal):
    server = smtp_server()
    result, exception = php.call("rust_mail_send", compose(dsn=dsn), transport_for(server))
    assert result is None and exception["message"].startswith(refusal), exception
    assert server.connections == 0
