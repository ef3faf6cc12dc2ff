"""Integration tests of rust_mail_send(): the real extension in the real PHP CLI,
talking to real SMTP servers on loopback. Each test asserts what the server
received (or refused to receive) and what the PHP caller gets back."""
import re

import pytest

from harness.mail import (CREDENTIALS, PASSWORD, REDACTED, TOKEN, USER, as_map, assert_failed,
                          assert_no_secret, assert_sent, attachments_of, compose, describe, send, send_sequence,
                          tls_transport, transport_for)

BINARY = bytes(range(256)) * 64  # every byte value, CR/LF/NUL included


def only_message(server):
    assert len(server.messages) == 1, f"server received {len(server.messages)} messages"
    return server.messages[0]


def addresses(header):
    return [a.addr_spec for a in header.addresses]


# ---------------------------------------------------------------- composing

def test_plain_text_delivery(php, smtp_server):
    server = smtp_server()
    result = send(php, compose(text="Hello there\nsecond line"), transport_for(server))
    assert_sent(result)
    received = only_message(server)
    assert received.mail_from == "sender@example.com"
    assert received.rcpt_tos == ["rcpt@example.com"]
    msg = received.message
    assert msg["From"].addresses[0].display_name == "Sender"
    assert addresses(msg["From"]) == ["sender@example.com"]
    assert addresses(msg["To"]) == ["rcpt@example.com"]
    assert msg["Subject"] == "Hello"
    assert msg["Date"] is not None
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert msg.get_content().rstrip("\n") == "Hello there\nsecond line"
    assert result["message_id"] and result["message_id"].strip("<>") == msg["Message-ID"].strip("<>")
    assert result["accepted"] == ["rcpt@example.com"]
    assert as_map(result["rejected"]) == {}
    assert result["code"] == 250
    assert result["reused_connection"] is False


def test_result_transcript_and_timings(php, smtp_server):
    server = smtp_server()
    result = send(php, compose(), transport_for(server))
    assert_sent(result)
    transcript = result["transcript"]
    assert all(set(entry) >= {"ms", "dir", "line"} for entry in transcript)
    assert all(entry["dir"] in ("client", "server", "info") for entry in transcript)
    assert all(isinstance(entry["ms"], (int, float)) for entry in transcript)
    server_lines = [e["line"] for e in transcript if e["dir"] == "server"]
    client_lines = [e["line"] for e in transcript if e["dir"] == "client"]
    assert server_lines[0].startswith("220 mail.test.local")
    assert any(line.upper().startswith("MAIL FROM:<SENDER@EXAMPLE.COM>") for line in client_lines)
    assert any(line.startswith("250 2.0.0 Ok: queued as 1") for line in server_lines)
    timings = result["timings"]
    assert set(timings) >= {"connect", "tls", "auth", "send", "total"}
    assert all(isinstance(v, (int, float)) and v >= 0 for v in timings.values())
    assert timings["total"] >= timings["connect"]


def test_text_and_html_are_multipart_alternative(php, smtp_server):
    server = smtp_server()
    text = "Plain version with ümlauts and a long line " + "x" * 120
    html = "<p>HTML version with <b>ümlauts</b></p>"
    assert_sent(send(php, compose(text=text, html=html), transport_for(server)))
    msg = only_message(server).message
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg.get_body(("plain",)).get_content().rstrip("\n") == text
    assert msg.get_body(("html",)).get_content().rstrip("\n") == html


def test_html_only(php, smtp_server):
    server = smtp_server()
    assert_sent(send(php, compose(text=None, html="<h1>Only HTML</h1>"), transport_for(server)))
    msg = only_message(server).message
    assert msg.get_content_type() == "text/html"
    assert msg.get_content().rstrip("\n") == "<h1>Only HTML</h1>"


@pytest.fixture
def files(tmp_path):
    report = tmp_path / "report.pdf"
    report.write_bytes(BINARY)
    notes = tmp_path / "notes.txt"
    notes.write_bytes("Notizen: Grüße\r\n".encode())
    return report, notes


def test_attachments_as_list_of_paths(php, smtp_server, files):
    server = smtp_server()
    report, notes = files
    assert_sent(send(php, compose(attachments=[str(report), str(notes)]), transport_for(server)))
    msg = only_message(server).message
    assert msg.get_content_type() == "multipart/mixed"
    assert msg.get_body(("plain",)).get_content().rstrip("\n") == "Hello there"
    found = attachments_of(msg)
    assert set(found) == {"report.pdf", "notes.txt"}
    assert found["report.pdf"][1] == BINARY
    assert found["notes.txt"][1].replace(b"\r\n", b"\n") == "Notizen: Grüße\n".encode()


def test_attachments_as_name_to_path_map(php, smtp_server, files):
    server = smtp_server()
    report, _ = files
    assert_sent(send(php, compose(attachments={"Quarterly Report.pdf": str(report)}), transport_for(server)))
    found = attachments_of(only_message(server).message)
    assert list(found) == ["Quarterly Report.pdf"]
    assert found["Quarterly Report.pdf"][1] == BINARY


def test_attachment_entries_with_path_and_in_memory_content(php, smtp_server, files):
    server = smtp_server()
    report, _ = files
    entries = [{"path": str(report)},
               {"content": BINARY[:1000], "name": "data.bin", "type": "application/x-rust-mail-test"}]
    assert_sent(send(php, compose(attachments=entries), transport_for(server)))
    found = attachments_of(only_message(server).message)
    assert found["report.pdf"][1] == BINARY
    assert found["data.bin"] == ("application/x-rust-mail-test", BINARY[:1000])


def structure(part):
    """A parsed message's MIME tree as nested (content type, [children]) pairs, leaves as bare content types."""
    if part.is_multipart():
        return (part.get_content_type(), [structure(child) for child in part.iter_parts()])
    return part.get_content_type()


def test_inline_image_sits_beside_the_html_in_multipart_related(php, smtp_server):
    server = smtp_server()
    logo = BINARY[:3000]
    message = compose(text="Our logo", html='<p><img src="cid:logo@shop.example"></p>', attachments=[
        {"content": logo, "type": "image/png", "cid": "logo@shop.example"},
        {"content": b"%PDF-1.4", "name": "invoice.pdf"},
    ])
    assert_sent(send(php, message, transport_for(server)))
    msg = only_message(server).message
    assert structure(msg) == ("multipart/mixed", [
        ("multipart/alternative", ["text/plain", ("multipart/related", ["text/html", "image/png"])]),
        "application/pdf",
    ])
    related = next(part for part in msg.walk() if part.get_content_type() == "multipart/related")
    html, image = related.iter_parts()
    assert 'src="cid:logo@shop.example"' in html.get_content()
    assert image["Content-ID"] == "<logo@shop.example>" and image.get_content_disposition() == "inline"
    assert image.get_payload(decode=True) == logo
    assert list(attachments_of(msg)) == ["invoice.pdf"], "the inline image is not listed as an attachment"


def test_inline_image_with_html_only_and_a_path(php, smtp_server, files):
    server = smtp_server()
    report, _ = files
    message = compose(text=None, html='<img src="cid:chart">', attachments=[{"path": str(report), "inline": True, "cid": "chart"}])
    assert_sent(send(php, message, transport_for(server)))
    msg = only_message(server).message
    assert structure(msg) == ("multipart/related", ["text/html", "application/pdf"])
    image = list(msg.iter_parts())[1]
    assert image["Content-ID"] == "<chart>" and image.get_filename() == "report.pdf"


def test_any_type_goes_through_as_given(php, smtp_server):
    server = smtp_server()
    invitation = "BEGIN:VCALENDAR\nMETHOD:REQUEST\nEND:VCALENDAR\n"
    calendar_type = "text/calendar; method=REQUEST; charset=UTF-8"
    assert_sent(send(php, compose(attachments=[{"content": invitation, "name": "invite.ics", "type": calendar_type}]),
                     transport_for(server)))
    part = next(part for part in only_message(server).message.walk() if part.get_content_type() == "text/calendar")
    assert part.get_param("method") == "REQUEST" and part.get_content_charset() == "utf-8"
    assert part.get_payload(decode=True).replace(b"\r\n", b"\n") == invitation.encode()


def test_cc_and_bcc(php, smtp_server):
    server = smtp_server()
    message = compose(to="to@example.com", cc=["c1@example.com", "C Two <c2@example.com>"], bcc="hidden@example.com")
    result = send(php, message, transport_for(server))
    assert_sent(result)
    received = only_message(server)
    everyone = {"to@example.com", "c1@example.com", "c2@example.com", "hidden@example.com"}
    assert set(received.rcpt_tos) == everyone
    assert set(result["accepted"]) == everyone
    assert addresses(received.message["Cc"]) == ["c1@example.com", "c2@example.com"]
    assert received.message["Bcc"] is None
    assert b"hidden@example.com" not in received.raw


@pytest.mark.parametrize("reply_to", ["One <r1@example.com>, r2@example.com", ["One <r1@example.com>", "r2@example.com"]],
                         ids=["string", "list"])
def test_reply_to(php, smtp_server, reply_to):
    server = smtp_server()
    assert_sent(send(php, compose(reply_to=reply_to), transport_for(server)))
    msg = only_message(server).message
    assert addresses(msg["Reply-To"]) == ["r1@example.com", "r2@example.com"]
    assert msg["Reply-To"].addresses[0].display_name == "One"


@pytest.mark.parametrize("headers", [["X-Campaign: spring", "X-Priority: 1"], {"X-Campaign": "spring", "X-Priority": "1"}],
                         ids=["list", "map"])
def test_custom_headers(php, smtp_server, headers):
    server = smtp_server()
    assert_sent(send(php, compose(headers=headers), transport_for(server)))
    msg = only_message(server).message
    assert msg["X-Campaign"] == "spring"
    assert msg["X-Priority"] == "1"


def test_repeated_custom_header_keeps_every_value_in_order(php, smtp_server):
    server = smtp_server()
    assert_sent(send(php, compose(headers=["X-List: one", "X-Other: x", "X-List: two"]), transport_for(server)))
    msg = only_message(server).message
    assert msg.get_all("X-List") == ["one", "two"]
    assert msg["X-Other"] == "x"


def test_custom_date_header_is_honoured(php, smtp_server):
    server = smtp_server()
    date = "Tue, 1 Jul 2025 10:52:37 +0200"
    assert_sent(send(php, compose(headers={"Date": date}), transport_for(server)))
    received = only_message(server)
    assert len(received.message.get_all("Date")) == 1
    assert f"\r\nDate: {date}\r\n".encode() in received.raw


def test_custom_date_header_that_is_no_date_is_refused(php, smtp_server):
    server = smtp_server()
    result, exception = php.call("rust_mail_send", compose(headers=["Date: next Tuesday"]), transport_for(server))
    assert result is None and exception["class"] == "RustMailException"
    assert exception["message"].startswith("$message['headers']['Date'] 'next Tuesday' is not an RFC 5322 date"), exception
    assert server.connections == 0


def test_text_attachments_reach_the_server_with_crlf_line_ends_only(php, smtp_server, tmp_path):
    server = smtp_server()
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"from a file\nsecond line\n")
    entries = [{"content": "l1\nl2\n", "name": "a.txt"}, str(notes)]
    assert_sent(send(php, compose(text="body\nline\n", attachments=entries), transport_for(server)))
    received = only_message(server)
    assert re.search(rb"(?<!\r)\n", received.raw) is None, "a bare LF reached the server"
    assert re.search(rb"\r(?!\n)", received.raw) is None, "a bare CR reached the server"
    found = attachments_of(received.message)
    assert found["a.txt"][1].replace(b"\r\n", b"\n") == b"l1\nl2\n"
    assert found["notes.txt"][1].replace(b"\r\n", b"\n") == b"from a file\nsecond line\n"


@pytest.mark.parametrize("key", ["to", "cc", "bcc", "reply_to"])
def test_address_to_name_form(php, smtp_server, key):
    server = smtp_server()
    fields = {key: {"bob@example.com": "Bob Smith", "carol@example.com": ""}}
    if key != "to":
        fields["to"] = "rcpt@example.com"
    assert_sent(send(php, compose(**fields), transport_for(server)))
    received = only_message(server)
    if key == "reply_to":
        assert received.rcpt_tos == ["rcpt@example.com"]
    else:
        assert {"bob@example.com", "carol@example.com"} <= set(received.rcpt_tos)
    if key != "bcc":
        header = received.message[key.replace("_", "-").title()]
        assert addresses(header) == ["bob@example.com", "carol@example.com"]
        assert header.addresses[0].display_name == "Bob Smith"
    else:
        assert b"Bob Smith" not in received.raw


def test_name_to_address_form_is_refused_with_a_hint(php, smtp_server):
    server = smtp_server()
    result, exception = php.call("rust_mail_send", compose(cc={"Bob Smith": "bob@example.com"}), transport_for(server))
    assert result is None and exception["class"] == "RustMailException"
    assert exception["message"] == ("$message['cc'] has a name as a key and an address as its value "
                                    "('Bob Smith' => 'bob@example.com'): swap them, the key is the address: "
                                    "['bob@example.com' => 'Bob Smith']")
    assert server.connections == 0


def test_non_ascii_subject_and_display_names(php, smtp_server):
    server = smtp_server()
    subject = "Grüße aus Köln — 日本語のテスト " + " ".join(["long"] * 20)  # long enough to be folded
    message = compose(**{"from": "Jörg Müller <joerg@example.com>", "to": "Zoë Ångström <zoe@example.com>",
                         "subject": subject})
    assert_sent(send(php, message, transport_for(server)))
    received = only_message(server)
    msg = received.message
    assert msg["Subject"] == subject
    assert msg["From"].addresses[0].display_name == "Jörg Müller"
    assert msg["To"].addresses[0].display_name == "Zoë Ångström"
    # The server did not offer SMTPUTF8, so the header section must be plain ASCII (RFC 2047 words).
    header_section = received.raw.split(b"\r\n\r\n", 1)[0]
    assert header_section.isascii()


def test_non_ascii_domain_goes_as_idna_in_the_envelope_and_the_headers(php, smtp_server):
    server = smtp_server()  # no SMTPUTF8: an IDNA domain needs none
    message = compose(**{"from": "Shop <shop@bücher.example>", "to": "Anna <anna@müller.example>", "cc": ["team@日本.example"]})
    assert_sent(send(php, message, transport_for(server)))
    received = only_message(server)
    assert received.mail_from == "shop@xn--bcher-kva.example"
    assert received.rcpt_tos == ["anna@xn--mller-kva.example", "team@xn--wgv71a.example"]
    assert addresses(received.message["To"]) == ["anna@xn--mller-kva.example"]
    assert addresses(received.message["From"]) == ["shop@xn--bcher-kva.example"]
    assert received.raw.split(b"\r\n\r\n", 1)[0].isascii()


def test_non_ascii_local_part_needs_smtputf8_and_only_that_recipient_is_refused_without_it(php, smtp_server):
    # In bcc: an address in To, Cc or Reply-To makes the headers 8-bit, and the whole message is refused
    # (test_rfc5322.py).
    plain, utf8 = smtp_server(), smtp_server(smtputf8=True)
    message = compose(to="anna@example.com", bcc="jörg@example.com")
    result = send(php, message, transport_for(plain))
    assert result["ok"] is True and result["accepted"] == ["anna@example.com"]
    assert list(result["rejected"]) == ["jörg@example.com"] and "SMTPUTF8" in result["rejected"]["jörg@example.com"]
    assert only_message(plain).rcpt_tos == ["anna@example.com"], "the address the server cannot take is never offered"
    on_the_wire = "jörg".encode().decode("latin-1")  # how the session log shows the UTF-8 bytes
    assert not any(line.startswith("C: RCPT") and on_the_wire in line for line in plain.session_log), plain.session_log
    # With SMTPUTF8 offered, both get the mail, and MAIL FROM says SMTPUTF8.
    assert_sent(send(php, message, transport_for(utf8)))
    assert only_message(utf8).rcpt_tos == ["anna@example.com", "jörg@example.com"]
    assert any(line.startswith("C: MAIL FROM:") and " SMTPUTF8" in line for line in utf8.session_log), utf8.session_log


def test_only_non_ascii_local_parts_without_smtputf8_is_a_clear_failure(php, smtp_server):
    server = smtp_server()
    for message, kind in [(compose(to="jörg@example.com"), "recipient_rejected"),
                          (compose(**{"from": "jörg@example.com"}), "sender_rejected")]:
        result = send(php, message, transport_for(server))
        assert_failed(result, kind)
        assert result["error"]["cause"] == "address_needs_smtputf8", result["error"]
        assert "SMTPUTF8" in result["error"]["message"] and "nothing was sent" in result["error"]["message"]
        assert any("SMTPUTF8" in advice for advice in result["error"]["advice"])
    assert server.messages == [] and not any(line.startswith(("C: MAIL", "C: RCPT")) for line in server.session_log)


def test_an_invalid_internationalised_domain_is_refused_naming_it(php, smtp_server):
    server = smtp_server()
    # U+2488 (a digit with a full stop) is disallowed in IDNA (UTS #46).
    result, exception = php.call("rust_mail_send", compose(to="anna@\u2488x.example"), transport_for(server))
    assert result is None and server.connections == 0
    assert exception["message"].startswith("$message['to']: 'anna@\u2488x.example' has a domain that is not a valid "
                                           "internationalised domain name (IDNA)"), exception


def test_iso_8859_1_body_passes_through_byte_exact(php, smtp_server):
    server = smtp_server()
    latin1 = b"Gr\xfc\xdfe aus K\xf6ln, \xe0 bient\xf4t"
    assert_sent(send(php, compose(text=latin1, charset="ISO-8859-1"), transport_for(server)))
    msg = only_message(server).message
    assert msg.get_content_charset().lower() == "iso-8859-1"
    assert msg.get_payload(decode=True).rstrip(b"\n") == latin1


def test_raw_message_with_envelope_is_byte_exact(php, smtp_server):
    server = smtp_server()
    raw = (b"From: Header Sender <header@example.com>\r\nTo: list@example.com\r\nSubject: raw mode\r\n"
           b"Message-ID: <raw-1@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\n"
           b"line one\r\n.a line starting with a dot\r\n..two dots\r\n.\r\nGr\xc3\xbc\xc3\x9fe\r\n")
    envelope = {"from": "bounce@example.com", "to": ["x@example.com", "y@example.com"]}
    result = send(php, {"raw": raw, "envelope": envelope}, transport_for(server))
    assert_sent(result)
    received = only_message(server)
    assert received.mail_from == "bounce@example.com"
    assert received.rcpt_tos == ["x@example.com", "y@example.com"]
    assert received.raw == raw


# ---------------------------------------------------------------- TLS

def test_starttls_with_test_ca(php, smtp_server, certs):
    server = smtp_server(tls="starttls")
    result = send(php, compose(), tls_transport(server, certs))
    assert_sent(result)
    assert only_message(server).tls is True
    assert server.log_index("C: STARTTLS") < server.log_index("-- TLS") < server.log_index("C: MAIL FROM")


@pytest.mark.parametrize("server_tls, transport, encrypted", [
    ("starttls", {"host": "localhost"}, True),
    ("implicit", {"security": "tls"}, True),
    ("starttls", {"security": "opportunistic"}, True),
    ("none", {"security": "opportunistic"}, False),
], ids=["starttls-to-localhost-by-name", "implicit-tls", "opportunistic-offered", "opportunistic-not-offered"])
def test_tls_modes_deliver_encrypted_exactly_when_expected(php, smtp_server, certs, server_tls, transport, encrypted):
    server = smtp_server(tls=server_tls)
    assert_sent(send(php, compose(), tls_transport(server, certs, **transport)))
    assert only_message(server).tls is encrypted


@pytest.mark.parametrize("tls, cert", [("starttls", "wrongname"), ("starttls", "selfsigned"), ("starttls", "expired"),
                                       ("implicit", "wrongname"), ("implicit", "expired")])
def test_untrusted_certificate_is_a_tls_error(php, smtp_server, certs, tls, cert):
    server = smtp_server(tls=tls, cert=cert)
    security = "starttls" if tls == "starttls" else "tls"
    result = send(php, compose(), tls_transport(server, certs, security=security))
    assert_failed(result, "tls")
    assert server.messages == []
    assert server.log_index("C: MAIL FROM") is None


def test_verify_peer_false_accepts_self_signed(php, smtp_server, certs):
    server = smtp_server(tls="starttls", cert="selfsigned")
    assert_sent(send(php, compose(), transport_for(server, security="starttls", verify_peer=False)))
    assert only_message(server).tls is True


def test_starttls_required_but_not_offered(php, smtp_server, certs):
    server = smtp_server(tls="none")
    result = send(php, compose(), tls_transport(server, certs, security="starttls"))
    assert_failed(result, "tls")
    assert server.log_index("C: MAIL FROM") is None
    assert server.messages == []


def test_tls_min_version_13_refuses_tls12_server(php, smtp_server, certs):
    server = smtp_server(tls="implicit", tls_max_version="1.2")
    result = send(php, compose(), tls_transport(server, certs, security="tls", tls_min_version="1.3"))
    assert_failed(result, "tls")
    assert server.messages == []


# ---------------------------------------------------------------- AUTH

AUTH_SECRETS = {"plain": PASSWORD, "login": PASSWORD, "xoauth2": TOKEN}


@pytest.mark.parametrize("mechanism", ["plain", "login", "xoauth2"])
def test_auth_after_starttls(php, smtp_server, certs, mechanism):
    server = smtp_server(tls="starttls", auth=CREDENTIALS, auth_mechanisms=[mechanism.upper()], auth_require_tls=True)
    secret = AUTH_SECRETS[mechanism]
    result = send(php, compose(), tls_transport(server, certs, auth=mechanism, username=USER, password=secret))
    assert_sent(result)
    assert [(a.mechanism, a.user, a.success) for a in server.auth_attempts] == [(mechanism.upper(), USER, True)]
    assert only_message(server).auth_user == USER
    assert server.log_index("-- TLS") < server.log_index("C: AUTH")
    assert_no_secret(result, USER, secret)


@pytest.mark.parametrize("mechanism", ["plain", "login", "xoauth2"])
def test_transcript_redacts_auth_payloads(php, smtp_server, certs, mechanism):
    server = smtp_server(tls="starttls", auth=CREDENTIALS, auth_mechanisms=[mechanism.upper()])
    result = send(php, compose(), tls_transport(server, certs, auth=mechanism, username=USER, password=AUTH_SECRETS[mechanism]))
    assert_sent(result)
    client_lines = [e["line"] for e in result["transcript"] if e["dir"] == "client"]
    auth_at = next(i for i, line in enumerate(client_lines) if line.upper().startswith("AUTH"))
    mail_at = next(i for i, line in enumerate(client_lines) if line.upper().startswith("MAIL"))
    auth_exchange = client_lines[auth_at:mail_at]
    assert any(REDACTED in line for line in auth_exchange), auth_exchange
    # Whatever the client sent during AUTH is either the bare command or the marker.
    for line in auth_exchange:
        assert line.upper() in ("AUTH " + mechanism.upper(), "") or REDACTED in line, line
    assert_no_secret(result, USER, AUTH_SECRETS[mechanism])


def test_auth_auto_picks_an_offered_mechanism(php, smtp_server, certs):
    server = smtp_server(tls="starttls", auth=CREDENTIALS, auth_mechanisms=["LOGIN"])
    result = send(php, compose(), tls_transport(server, certs, auth="auto", username=USER, password=PASSWORD))
    assert_sent(result)
    assert [(a.mechanism, a.success) for a in server.auth_attempts] == [("LOGIN", True)]


def test_wrong_password_is_an_auth_error(php, smtp_server, certs):
    server = smtp_server(tls="starttls", auth={"user": USER, "password": "the-right-one"})
    result = send(php, compose(), tls_transport(server, certs, auth="plain", username=USER, password=PASSWORD))
    error = assert_failed(result, "auth")
    assert error["transient"] is False
    assert result["code"] == 535
    assert [a.success for a in server.auth_attempts] == [False]
    assert server.messages == [] and server.log_index("C: MAIL FROM") is None
    assert_no_secret(result, USER, PASSWORD)


def test_xoauth2_rejected_token_like_exchange_online(php, smtp_server, certs):
    server = smtp_server(tls="starttls", auth={"user": USER, "token": "the-valid-token"})
    result = send(php, compose(), tls_transport(server, certs, auth="xoauth2", username=USER, password=TOKEN))
    assert_failed(result, "auth")
    assert result["code"] == 535
    assert result["enhanced_code"] == "5.7.3"
    # The client answered the JSON challenge with an empty line and got the final 535.
    assert "S: 535 5.7.3 Authentication unsuccessful [test server]" in server.session_log
    assert [a.success for a in server.auth_attempts] == [False]
    assert server.messages == []
    assert_no_secret(result, USER, TOKEN)


def test_tenant_smtp_auth_disabled_reply_is_reported(php, smtp_server, certs):
    reply = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant"
    server = smtp_server(tls="starttls", auth=CREDENTIALS, replies={"auth": reply})
    result = send(php, compose(), tls_transport(server, certs, auth="login", username=USER, password=PASSWORD))
    assert_failed(result, "auth")
    assert result["code"] == 535
    assert result["enhanced_code"] == "5.7.139"
    assert "SmtpClientAuthentication is disabled" in result["reply"]
    assert_no_secret(result, USER, PASSWORD)


def test_no_credentials_in_clear_without_tls(php, smtp_server):
    server = smtp_server(tls="none", auth=CREDENTIALS)  # offers AUTH PLAIN LOGIN on a plain connection
    result = send(php, compose(), transport_for(server, auth="plain", username=USER, password=PASSWORD))
    assert result["ok"] is False, describe(result)
    assert result["error"]["kind"] == "auth" and result["error"]["cause"] == "auth_unavailable", describe(result)
    assert "clear text" in result["error"]["message"] or "without TLS" in result["error"]["message"], describe(result)
    assert "AUTH" not in server.commands()
    assert server.auth_attempts == [] and server.messages == []
    assert_no_secret(result, USER, PASSWORD)


def test_allow_insecure_auth_sends_credentials_in_clear(php, smtp_server):
    server = smtp_server(tls="none", auth=CREDENTIALS)
    result = send(php, compose(), transport_for(server, auth="plain", username=USER, password=PASSWORD,
                                                allow_insecure_auth=True))
    assert_sent(result)
    assert [(a.mechanism, a.success) for a in server.auth_attempts] == [("PLAIN", True)]
    assert only_message(server).auth_user == USER
    assert_no_secret(result, USER, PASSWORD)


# ---------------------------------------------------------------- server replies

def test_one_rejected_recipient_others_delivered(php, smtp_server):
    server = smtp_server(replies={"rcpt:bad@example.com": "550 5.1.1 User unknown"})
    message = compose(to=["good1@example.com", "bad@example.com"], cc="good2@example.com")
    result = send(php, message, transport_for(server))
    assert_sent(result)
    assert sorted(result["accepted"]) == ["good1@example.com", "good2@example.com"]
    rejected = as_map(result["rejected"])
    assert list(rejected) == ["bad@example.com"]
    assert "550" in rejected["bad@example.com"] and "5.1.1 User unknown" in rejected["bad@example.com"]
    assert sorted(only_message(server).rcpt_tos) == ["good1@example.com", "good2@example.com"]


def test_all_recipients_rejected(php, smtp_server):
    server = smtp_server(replies={"rcpt": "550 5.1.1 User unknown"})
    result = send(php, compose(to=["a@example.com", "b@example.com"]), transport_for(server))
    assert_failed(result, "recipient_rejected")
    assert sorted(as_map(result["rejected"])) == ["a@example.com", "b@example.com"]
    assert server.messages == []


@pytest.mark.parametrize("reply, code, enhanced, transient", [
    ("451 4.7.500 Server busy. Please try again later", 451, "4.7.500", True),
    ("550 5.7.60 SendAsDenied; sender@example.com not allowed to send as this sender", 550, "5.7.60", False),
])
def test_sender_rejected(php, smtp_server, reply, code, enhanced, transient):
    server = smtp_server(replies={"mail": reply})
    result = send(php, compose(), transport_for(server))
    error = assert_failed(result, "sender_rejected")
    assert error["transient"] is transient
    assert result["code"] == code
    assert result["enhanced_code"] == enhanced
    assert reply.split(" ", 2)[2] in result["reply"]  # the text; code and enhanced code have own fields
    assert server.messages == []


@pytest.mark.parametrize("reply, transient", [("451 4.3.0 try later", True), ("554 5.6.0 Message rejected", False)])
def test_data_rejected(php, smtp_server, reply, transient):
    server = smtp_server(replies={"data": reply})
    result = send(php, compose(), transport_for(server))
    error = assert_failed(result, "data_rejected")
    assert error["transient"] is transient
    assert result["code"] == int(reply[:3])
    assert server.log_index("C: DATA") is not None


# ---------------------------------------------------------------- network failures

def test_silent_server_times_out_within_the_budget(php, silent_server):
    result = send(php, compose(), transport_for(silent_server, timeout=2))
    assert result["ok"] is False, describe(result)
    assert result["error"]["kind"] in ("timeout", "connect_timeout"), describe(result)
    # The php process came back on its own (send() parsed its JSON) and in time.
    assert php.last_elapsed < 3.5, f"took {php.last_elapsed:.1f}s"


def test_connection_refused(php, closed_port):
    result = send(php, compose(), {"host": "127.0.0.1", "port": closed_port, "security": "none", "timeout": 5})
    assert_failed(result, "connect_refused")
    assert php.last_elapsed < 3


# ---------------------------------------------------------------- programming errors

BAD_CALLS = {
    "header name with CRLF": ({"headers": {"X-Bad\r\nBcc": "evil@example.com"}}, {}, "header"),
    "header value with CRLF": ({"headers": ["X-Note: fine\r\nBcc: evil@example.com"]}, {}, "header"),
    "header value with NUL": ({"headers": {"X-Note": "a\0b"}}, {}, "header"),
    "subject with CRLF": ({"subject": "Hi\r\nBcc: evil@example.com"}, {}, "subject"),
    "subject with LF": ({"subject": "Hi\nBcc: evil@example.com"}, {}, "subject"),
    "to with CRLF": ({"to": "rcpt@example.com\r\nBcc: evil@example.com"}, {}, "to"),
    "from with NUL": ({"from": "sender@example.com\0"}, {}, "from"),
    "cc with CR": ({"cc": ["ok@example.com", "x@example.com\rBcc: evil@example.com"]}, {}, "cc"),
    "unreadable attachment": ({"attachments": ["/nonexistent/rust-mail/missing.pdf"]}, {}, "attachments"),
    "attachments of wrong type": ({"attachments": 42}, {}, "attachments"),
    "inline part without html": ({"attachments": [{"content": "x", "cid": "logo"}]}, {}, "html"),
    "inline without a cid": ({"html": "<p>", "attachments": [{"content": "x", "name": "a.png", "inline": True}]}, {}, "cid"),
    "cid with inline false": ({"html": "<p>", "attachments": [{"content": "x", "name": "a.png", "inline": False, "cid": "a"}]}, {}, "cid"),
    "cid written as a URL": ({"html": "<p>", "attachments": [{"content": "x", "cid": "cid:logo"}]}, {}, "cid"),
    "cid with CRLF": ({"html": "<p>", "attachments": [{"content": "x", "cid": "logo\r\nBcc: evil@example.com"}]}, {}, "cid"),
    "cid given twice": ({"html": "<p>", "attachments": [{"content": "x", "cid": "logo"}, {"content": "y", "cid": "logo"}]}, {}, "cid"),
    "to of wrong type": ({"to": 42}, {}, "to"),
    "port of wrong type": ({}, {"port": "twenty-five"}, "port"),
    "timeout of wrong type": ({}, {"timeout": "soon"}, "timeout"),
    "unknown security": ({}, {"security": "ssl-please"}, "security"),
    "missing host": ({}, {"host": None}, "host"),
    "missing from": ({"from": None}, {}, "from"),
}


@pytest.mark.parametrize("message_fields, transport_fields, field", BAD_CALLS.values(), ids=BAD_CALLS.keys())
def test_programming_errors_throw_naming_the_field(php, smtp_server, message_fields, transport_fields, field):
    server = smtp_server()
    message = compose(**message_fields)
    transport = transport_for(server, **transport_fields)
    result, exception = php.call("rust_mail_send", message, transport)
    assert result is None
    assert exception is not None
    assert exception["class"] == "RustMailException"
    assert "Exception" in exception["parents"]
    assert re.search(rf"\b{field}s?\b", exception["message"], re.IGNORECASE), exception["message"]
    assert server.connections == 0, "nothing may be sent before the arguments are valid"


# ---------------------------------------------------------------- pooling

def numbered(count, transport, pause=0):
    """`count` numbered messages, with `pause` seconds between consecutive sends."""
    return [(compose(subject=f"message {i}"), transport, pause if i else 0) for i in range(count)]


def subjects(server):
    return [m.message["Subject"] for m in server.messages]


def test_pool_reuses_one_connection(php, smtp_server):
    server = smtp_server()
    results = send_sequence(php, numbered(3, transport_for(server)))
    assert server.connections == 1
    assert [r["reused_connection"] for r in results] == [False, True, True]
    assert subjects(server) == ["message 0", "message 1", "message 2"]


def test_pool_false_opens_a_connection_per_send(php, smtp_server):
    server = smtp_server()
    results = send_sequence(php, numbered(3, transport_for(server, pool=False)))
    assert server.connections == 3
    assert [r["reused_connection"] for r in results] == [False, False, False]
    assert subjects(server) == ["message 0", "message 1", "message 2"]


def test_pooled_connection_authenticates_once(php, smtp_server, certs):
    server = smtp_server(tls="starttls", auth=CREDENTIALS)
    transport = tls_transport(server, certs, auth="plain", username=USER, password=PASSWORD)
    results = send_sequence(php, numbered(2, transport))
    assert server.connections == 1
    assert [a.success for a in server.auth_attempts] == [True]
    assert [m.auth_user for m in server.messages] == [USER, USER]
    for result in results:
        assert_no_secret(result, USER, PASSWORD)


def test_pool_keeps_servers_apart(php, smtp_server):
    first, second = smtp_server(), smtp_server()
    steps = [(compose(subject="to first"), transport_for(first), 0),
             (compose(subject="to second"), transport_for(second), 0),
             (compose(subject="first again"), transport_for(first), 0)]
    results = send_sequence(php, steps)
    assert subjects(first) == ["to first", "first again"]
    assert subjects(second) == ["to second"]
    assert (first.connections, second.connections) == (1, 1)
    assert results[2]["reused_connection"] is True


def test_pooled_connection_closed_by_server_is_replaced(php, smtp_server):
    server = smtp_server(idle_timeout=0.5)  # drops the pooled connection while PHP sleeps
    results = send_sequence(php, numbered(2, transport_for(server), pause=1.5))
    assert subjects(server) == ["message 0", "message 1"]
    assert server.connections == 2
    assert results[1]["reused_connection"] is False


def test_pool_close_says_quit_on_every_idle_connection_and_counts_them(php, smtp_server):
    first, second = smtp_server(), smtp_server()
    code = f"""
    $send = fn ($transport) => rust_mail_send({php.php_literal(compose())}, $transport)['ok'];
    $sent = [$send({php.php_literal(transport_for(first))}), $send({php.php_literal(transport_for(second))})];
    $closed = [rust_mail_pool_close(), rust_mail_pool_close()];
    $after = rust_mail_send({php.php_literal(compose(subject="after the close"))}, {php.php_literal(transport_for(first))});
    harness_print([$sent, $closed, $after['reused_connection']]);
    """
    sent, closed, reused_after = php.run(code).json()
    assert sent == [True, True] and closed == [2, 0], "two idle connections closed, then none left"
    for server in (first, second):
        first_session = server.session_log[:server.session_log.index("-- connection 2 opened")] if server is first else server.session_log
        assert "C: QUIT" in first_session, first_session
    assert reused_after is False and first.connections == 2, "the next send opens a new connection"
    assert subjects(first) == ["Hello", "after the close"]


def test_pool_idle_timeout_ini_closes_a_connection_idle_longer_than_it(php, smtp_server):
    server = smtp_server()
    code = f"""
    $send = fn () => rust_mail_send({php.php_literal(compose())}, {php.php_literal(transport_for(server))})['reused_connection'];
    ini_set('rust_mail.pool_idle_timeout', '1');
    $reused = [$send()];
    usleep(1500000);
    $reused[] = $send();  // idle 1.5 s: past the timeout, a new connection
    ini_set('rust_mail.pool_idle_timeout', '30');
    usleep(1500000);
    $reused[] = $send();  // idle 1.5 s: within it, reused
    harness_print($reused);
    """
    assert php.run(code).json() == [False, False, True]
    assert server.connections == 2 and len(server.messages) == 3


def test_forked_child_never_uses_its_parents_pooled_connection(php, smtp_server):
    """As under PHP-FPM or pcntl_fork(): the child opens its own connection; the parent's stays usable."""
    server = smtp_server()
    messages = [compose(subject=s) for s in ("parent before fork", "child", "parent after fork")]
    code = f"""
    [$before, $child, $after] = {php.php_literal(messages)};
    $transport = {php.php_literal(transport_for(server))};
    $results = ['before' => rust_mail_send($before, $transport)];
    $pipe = tempnam(sys_get_temp_dir(), 'fork');
    $pid = pcntl_fork();
    if ($pid === 0) {{
        file_put_contents($pipe, json_encode(rust_mail_send($child, $transport)));
        exit(0);
    }}
    pcntl_waitpid($pid, $status);
    $results['child'] = json_decode(file_get_contents($pipe), true);
    unlink($pipe);
    $results['after'] = rust_mail_send($after, $transport);
    harness_print($results);
    """
    results = php.run(code).json()
    for result in results.values():
        assert_sent(result)
    assert results["child"]["reused_connection"] is False
    assert results["after"]["reused_connection"] is True
    assert sorted(subjects(server)) == sorted(["parent before fork", "child", "parent after fork"])
    assert server.connections == 2


def client_group_after(result, command):
    """The client lines sent in a row, with no server line between them, first after `command`'s reply."""
    lines = [(e["dir"], e["line"]) for e in result["transcript"] if e["dir"] != "info"]
    sent = max(i for i, (direction, line) in enumerate(lines) if direction == "client" and line.startswith(command))
    first = next(i for i in range(sent + 1, len(lines)) if lines[i][0] == "client")
    group = []
    for direction, line in lines[first:]:
        if direction == "server":
            break
        group.append(line)
    return group


def test_pipelining_sends_the_envelope_in_one_flight(php, smtp_server):
    server = smtp_server(pipelining=True, replies={"rcpt:gone@example.com": "550 5.1.1 <gone@example.com>: User unknown"})
    result = send(php, compose(to=["a@example.com", "gone@example.com", "b@example.com"]), transport_for(server))
    assert_sent(result)
    assert client_group_after(result, "EHLO") == [
        f"MAIL FROM:<sender@example.com> SIZE={len(only_message(server).raw)}", "RCPT TO:<a@example.com>", "RCPT TO:<gone@example.com>",
        "RCPT TO:<b@example.com>", "DATA"]
    assert result["accepted"] == ["a@example.com", "b@example.com"]
    assert as_map(result["rejected"]) == {"gone@example.com": "550 5.1.1 <gone@example.com>: User unknown"}
    assert only_message(server).rcpt_tos == ["a@example.com", "b@example.com"]


def test_without_pipelining_each_command_waits_for_its_reply(php, smtp_server):
    server = smtp_server()
    result = send(php, compose(), transport_for(server))
    assert_sent(result)
    assert client_group_after(result, "EHLO") == [f"MAIL FROM:<sender@example.com> SIZE={len(only_message(server).raw)}"]


@pytest.mark.parametrize("replies, kind", [
    ({"mail": "550 5.7.1 Sender rejected"}, "sender_rejected"),
    ({"rcpt": "550 5.1.1 User unknown"}, "recipient_rejected"),
])
def test_pipelined_refusal_leaves_the_pooled_connection_in_step(php, smtp_server, replies, kind):
    """A refused pipelined envelope also gets its queued DATA refused; every reply must be read, or the next
    send on the pooled connection would read the previous one's leftovers as its own."""
    server = smtp_server(pipelining=True, replies=replies)
    code = f"""
    $transport = {php.php_literal(transport_for(server))};
    $message = {php.php_literal(compose())};
    harness_print([rust_mail_send($message, $transport), rust_mail_send($message, $transport)]);
    """
    first, second = php.run(code).json()
    for result in (first, second):
        assert_failed(result, kind)
        assert result["reply"] == first["reply"] and result["code"] == 550, describe(result)
    assert second["reused_connection"] is True
    assert server.connections == 1
    assert server.messages == []
