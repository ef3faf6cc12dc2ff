"""rust_mail_compose(): the bytes rust_mail_send() would send, composed without sending, and taken back by
rust_mail_send() as they are; read at a real SMTP server."""
import email
import email.policy

import pytest

from harness.mail import assert_sent, attachments_of, compose, compose_and_send, send, transport_for


@pytest.mark.parametrize("chunking", [False, True], ids=["DATA", "BDAT"])
@pytest.mark.parametrize("fixed", [True, False], ids=["fixed-date-and-id", "made-by-compose"])
def test_compose_then_send_round_trips_byte_for_byte(php, smtp_server, chunking, fixed):
    headers = {"Date": "Tue, 1 Jul 2025 10:52:37 +0200", "Message-ID": "<order-1234@example.com>"} if fixed else {}
    message = compose(to={"alice@example.com": "Alice"}, bcc="hidden@example.com", headers=headers,
                      text=".a line with a dot\n..two\nGrüße\n", html="<p>Grüße</p>",
                      attachments=[{"content": b"\x00\x01binary", "name": "a.bin"}])
    server = smtp_server(chunking=chunking)
    composed, result = compose_and_send(php, message, transport_for(server))
    assert_sent(result)
    (received,) = server.messages
    assert received.raw == composed["raw"]
    assert composed["envelope"] == {"from": "sender@example.com", "to": ["alice@example.com", "hidden@example.com"]}
    assert (received.mail_from, received.rcpt_tos) == (composed["envelope"]["from"], composed["envelope"]["to"])
    # Bcc in the envelope only; the Message-ID and Date sent are the composed ones.
    assert b"hidden@example.com" not in composed["raw"]
    assert result["message_id"] == composed["message_id"] == received.message["Message-ID"]
    if fixed:
        assert composed["message_id"] == "<order-1234@example.com>"
        assert b"\r\nDate: Tue, 1 Jul 2025 10:52:37 +0200\r\n" in received.raw
    assert received.message.get_body(("plain",)).get_content() == ".a line with a dot\n..two\nGrüße\n"


def test_compose_refuses_bad_input_as_send_does(php, smtp_server):
    server = smtp_server()
    bad = [
        compose(subject="Hi\r\nBcc: evil@example.com"),
        compose(to="not an address"),
        compose(**{"from": None}),
        compose(headers=["Date: next Tuesday"]),
        compose(attachments=["/nonexistent/rust-mail/missing.pdf"]),
        compose(colour="red"),
        {"raw": "Subject: x\r\n\r\nx\r\n"},
    ]
    calls = [call for message in bad for call in
             (("rust_mail_compose", [message]), ("rust_mail_send", [message, transport_for(server)]))]
    answers = php.call_many(calls)
    for message, (composed, sent) in zip(bad, zip(answers[::2], answers[1::2])):
        assert composed[0] is None and sent[0] is None, message
        assert composed[1]["class"] == sent[1]["class"] == "RustMailException", message
        assert composed[1]["message"] == sent[1]["message"], message
    assert server.messages == []


def test_a_message_id_given_with_raw_must_be_the_one_it_carries(php, smtp_server):
    server = smtp_server()
    raw = "Message-ID: <a@example.com>\r\nSubject: x\r\n\r\nx\r\n"
    envelope = {"from": "sender@example.com", "to": ["rcpt@example.com"]}
    (sent, _), (other, other_error), (composed, composed_error) = php.call_many([
        ("rust_mail_send", [{"raw": raw, "envelope": envelope, "message_id": "<a@example.com>"}, transport_for(server)]),
        ("rust_mail_send", [{"raw": raw, "envelope": envelope, "message_id": "<b@example.com>"}, transport_for(server)]),
        ("rust_mail_send", [compose(message_id="<a@example.com>"), transport_for(server)]),
    ])
    assert_sent(sent)
    assert sent["message_id"] == "<a@example.com>"
    assert other is None and other_error["message"] == (
        "$message['message_id'] '<b@example.com>' is not the Message-ID $message['raw'] carries ('<a@example.com>'): "
        "pass the id of that message, or leave it out")
    assert composed is None and composed_error["message"].startswith(
        "$message['message_id'] goes with $message['raw'], as rust_mail_compose() returns it")
    assert len(server.messages) == 1


# ---------------------------------------------------------------- the envelope sender (return_path)

def test_return_path_sets_mail_from_apart_from_the_from_header(php, smtp_server):
    server = smtp_server()
    result = send(php, compose(return_path="bounces@example.com"), transport_for(server))
    assert_sent(result)
    (received,) = server.messages
    assert received.mail_from == "bounces@example.com"
    assert received.message["From"] == "Sender <sender@example.com>"
    assert "Return-Path" not in received.message  # the receiving server adds it, from MAIL FROM
    assert f"client: MAIL FROM:<bounces@example.com> SIZE={len(received.raw)}" in [
        f"{t['dir']}: {t['line']}" for t in result["transcript"]]
    # Composed, its envelope carries it; sent back as it is, the same MAIL FROM.
    composed, result = compose_and_send(php, compose(return_path="bounces@example.com"), transport_for(server))
    assert_sent(result)
    assert composed["envelope"]["from"] == server.messages[-1].mail_from == "bounces@example.com"


def test_a_null_return_path_sends_the_null_reverse_path(php, smtp_server):
    server = smtp_server()
    assert_sent(send(php, compose(return_path="<>"), transport_for(server)))
    assert f"MAIL FROM:<> SIZE={len(server.messages[0].raw)}" in server.client_lines()


@pytest.mark.parametrize("return_path, refusal", [
    ("bounces@example.com\r\nRCPT TO:<evil@example.com>",
     "$message['return_path'] contains a line break or NUL byte (CR, LF or NUL): refused as header injection"),
    ("bounces@example.com\n", "$message['return_path'] contains a line break or NUL byte"),
    ("not an address", "$message['return_path'] is not a valid address ('not an address'): "),
    ('"a> NOTIFY=NEVER"@example.com', "$message['return_path'] '\"a> NOTIFY=NEVER\"@example.com' cannot be sent in MAIL FROM"),
])
def test_a_bad_return_path_is_refused_naming_it(php, smtp_server, return_path, refusal):
    server = smtp_server()
    for fn, args in [("rust_mail_send", [compose(return_path=return_path), transport_for(server)]),
                     ("rust_mail_compose", [compose(return_path=return_path)])]:
        result, exception = php.call(fn, *args)
        assert result is None and exception["message"].startswith(refusal), exception
    assert server.connections == 0


# ---------------------------------------------------------------- from as address => name

@pytest.mark.parametrize("sender", [{"shop@example.com": "Zoë's Shop, Ltd"}, {"shop@example.com": ""}, ["shop@example.com"]],
                         ids=["pair", "pair-without-name", "list"])
def test_from_takes_address_to_name_as_the_other_fields_do(php, smtp_server, sender):
    server = smtp_server()
    assert_sent(send(php, compose(**{"from": sender}), transport_for(server)))
    (received,) = server.messages
    assert received.mail_from == "shop@example.com"
    (address,) = received.message["From"].addresses
    name = next(iter(sender.values())) if isinstance(sender, dict) else ""
    assert (address.addr_spec, address.display_name) == ("shop@example.com", name)


@pytest.mark.parametrize("sender, refusal", [
    ({"Shop": "shop@example.com"}, "$message['from'] has a name as a key and an address as its value ('Shop' => "
                                   "'shop@example.com'): swap them, the key is the address: ['shop@example.com' => 'Shop']"),
    ({"a@example.com": "A", "b@example.com": "B"},
     "$message['from'] has 2 addresses: it takes one (the sender); put the others in $message['reply_to']"),
    ({"shop@example.com": "Shop\r\nBcc: evil@example.com"},
     "$message['from']['shop@example.com'] contains a line break or NUL byte (CR, LF or NUL): refused as header injection"),
    ({'"a> NOTIFY=NEVER"@example.com': "A"}, "$message['from'] '\"a> NOTIFY=NEVER\"@example.com' cannot be sent in MAIL FROM"),
    ([], "$message['from'] is required"),
])
def test_a_bad_from_pair_is_refused_naming_it(php, smtp_server, sender, refusal):
    server = smtp_server()
    result, exception = php.call("rust_mail_send", compose(**{"from": sender}), transport_for(server))
    assert result is None and exception["message"].startswith(refusal), exception
    assert server.connections == 0


# ---------------------------------------------------------------- text made from html

HTML = ("<html><head><style>p { color: red }</style></head><body><h1>Your order</h1>"
        "<p>Thank you, <b>Anna</b>!<br>See <a href=\"https://shop.example.com/orders/1?x=1&amp;y=2\">your order</a>.</p>"
        "<ul><li>One pen</li><li>Two books</li></ul><ol><li>Pay</li><li>Wait</li></ol>"
        "<p>Questions? <a href=\"mailto:help@example.com\">help@example.com</a> &ndash; Grüße</p></body></html>")


def test_text_true_makes_a_readable_plain_part_beside_the_html(php, smtp_server):
    server = smtp_server()
    assert_sent(send(php, compose(text=True, html=HTML), transport_for(server)))
    (received,) = server.messages
    message = received.message
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message.get_body(("html",)).get_content() == HTML  # the html goes as given
    assert message.get_body(("plain",)).get_content() == (
        "Your order\n\n"
        "Thank you, Anna!\n"
        "See your order (https://shop.example.com/orders/1?x=1&y=2).\n\n"
        "- One pen\n- Two books\n\n"
        "1. Pay\n2. Wait\n\n"
        "Questions? help@example.com – Grüße\n")


@pytest.mark.parametrize("message, refusal", [
    (compose(text=True), "$message['text'] true makes the text from $message['html'], which is not given"),
    (compose(text=False, html="<p>x</p>"), "$message['text'] must be a string, or true to make it from $message['html']"),
    (compose(text=True, html=b"<p>caf\xe9</p>", charset="ISO-8859-1"), "$message['text'] true reads $message['html'] as UTF-8"),
])
def test_text_true_without_usable_html_is_refused(php, smtp_server, message, refusal):
    server = smtp_server()
    result, exception = php.call("rust_mail_send", message, transport_for(server))
    assert result is None and exception["message"].startswith(refusal), exception
    assert server.connections == 0


def test_compose_takes_the_attachment_cap_of_send(php, smtp_server, tmp_path):
    """$options as rust_mail_send() takes them: max_attachment_bytes caps the files attached by path, so that a
    message composed is one rust_mail_send() would send; a bad option is refused in the same words."""
    server = smtp_server()
    note = tmp_path / "note.txt"
    note.write_bytes(b"n" * 600)
    message, transport = compose(attachments=[str(note)]), transport_for(server)
    (small, small_error), (sent, sent_error), (large, _), (default, _), (_, bad), (_, unknown) = php.call_many([
        ("rust_mail_compose", [message, {"max_attachment_bytes": 599}]),
        ("rust_mail_send", [message, transport, {"max_attachment_bytes": 599}]),
        ("rust_mail_compose", [message, {"max_attachment_bytes": 600}]),
        ("rust_mail_compose", [message, None]),
        ("rust_mail_compose", [message, {"max_attachment_bytes": -1}]),
        ("rust_mail_compose", [message, {"connections": 2}]),
    ])
    assert small is None and sent is None
    assert small_error["message"] == sent_error["message"], (small_error, sent_error)
    assert small_error["message"].startswith(f"$message['attachments'][0] '{note}' is 600 bytes"), small_error
    # At the cap, and with the default (25 MiB), the file is in the message.
    attached = [attachments_of(email.message_from_string(m["raw"], policy=email.policy.default)) for m in (large, default)]
    assert attached == [{"note.txt": ("text/plain", b"n" * 600)}] * 2, attached
    assert bad["message"] == "$options['max_attachment_bytes'] must be a number of bytes (0 or more), got -1"
    assert unknown["message"].startswith("$options['connections'] is not a known key"), unknown
    assert server.messages == []
