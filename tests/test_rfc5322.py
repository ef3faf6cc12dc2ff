"""The headers and bodies rust_mail_send() composes, as RFC 5322 and RFC 2047 want them, read from the bytes a real
SMTP server received: no line over 998 octets, address lists folded between addresses, long unbroken text and
encoded-word lookalikes encoded, and every field read back by an independent parser (Python's `email` package with
policy=default) exactly as it was given, over a few hundred seeded random messages."""
import email
import email.policy
import email.utils
from email.header import decode_header, make_header
import os
import random
import time

import pytest

from harness.mail import assert_sent, compose, send, transport_for

# Seeds per run; RFC5322_SEED=<n> runs that one seed alone (as a failure prints it).
SEEDS = int(os.environ.get("RFC5322_SEEDS", "300"))


def parsed(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def names_and_addresses(raw, field):
    """[(address, name)] of an address field, each name decoded as RFC 2047 section 6.2 says: the whitespace
    between adjacent encoded-words is dropped. Python 3.11's policy=default phrase parser keeps it, even in what
    Python itself writes for a long non-ASCII name, so names are read with the package's RFC 2047 decoder."""
    values = [v.replace("\r\n", "").replace("\n", "") for v in email.message_from_bytes(raw).get_all(field, [])]
    return [(address, str(make_header(decode_header(name)))) for name, address in email.utils.getaddresses(values)]


def long_lines(raw):
    return [(len(line), line[:80]) for line in raw.split(b"\r\n") if len(line) > 998]


def header_lines(raw):
    return raw.split(b"\r\n\r\n")[0].split(b"\r\n")


# ---------------------------------------------------------------- the cases the issue reported, one by one

def send_one(php, smtp_server, message):
    server = smtp_server()
    assert_sent(send(php, message, transport_for(server)))
    (received,) = server.messages
    return received


def test_address_lists_are_folded_between_addresses(php, smtp_server):
    to = [f"user{i}@example.com" for i in range(200)]
    cc = {f"cc{i}@example.com": f"Person {i}" for i in range(60)}
    reply_to = [f"reply{i}@example.com" for i in range(60)]
    received = send_one(php, smtp_server, compose(to=to, cc=cc, reply_to=reply_to))
    assert long_lines(received.raw) == []
    lines = header_lines(received.raw)
    assert all(len(line) <= 78 for line in lines), [line for line in lines if len(line) > 78]
    # Each fold is after an address's comma: the continuation starts with an address.
    to_at = next(i for i, line in enumerate(lines) if line.startswith(b"To: "))
    assert lines[to_at].endswith(b",") and lines[to_at + 1].startswith(b" user")
    message = received.message
    assert [a.addr_spec for a in message["To"].addresses] == to
    assert [(a.display_name, a.addr_spec) for a in message["Cc"].addresses] == [(n, a) for a, n in cc.items()]
    assert [a.addr_spec for a in message["Reply-To"].addresses] == reply_to


def test_long_unbroken_text_is_encoded_and_read_back(php, smtp_server):
    subject = "s" * 5000
    unsubscribe = "<https://example.com/unsubscribe/" + "u" * 1200 + ">"
    name = "N" * 1200
    received = send_one(php, smtp_server, compose(subject=subject, headers={"List-Unsubscribe": unsubscribe,
                                                                             "X-Long": "v" * 3000},
                                                  to={"named@example.com": name}))
    assert long_lines(received.raw) == []
    message = received.message
    assert message["Subject"] == subject
    assert message["List-Unsubscribe"] == unsubscribe
    assert message["X-Long"] == "v" * 3000
    assert names_and_addresses(received.raw, "To") == [("named@example.com", name)]
    # Words that fit a line are sent as they are, however long: a 300-character URL is not encoded.
    url = "<https://example.com/" + "u" * 300 + ">"
    received = send_one(php, smtp_server, compose(headers={"List-Unsubscribe": url}))
    assert f"List-Unsubscribe: {url}\r\n".encode() in received.raw


def test_a_long_run_of_spaces_keeps_every_line_within_998_octets(php, smtp_server):
    """The folding writer puts a run of spaces on one line; a run longer than a fold goes inside an encoded-word
    instead, and every space reads back."""
    subject = "start" + " " * 1500 + "end"
    note = " " * 1200 + "x" + " " * 2000
    received = send_one(php, smtp_server, compose(subject=subject, headers={"X-Note": note}))
    assert long_lines(received.raw) == []
    assert received.message["Subject"] == subject
    assert make_header(decode_header(email.message_from_bytes(received.raw)["X-Note"].replace("\r\n", ""))).__str__() == note


def test_a_header_name_that_cannot_fit_a_line_or_is_not_ftext_is_refused_naming_it(php, smtp_server):
    server = smtp_server()
    long_name = "X-" + "n" * 900
    answers = php.call_many([("rust_mail_send", [compose(headers={name: "v"}), transport_for(server)])
                             for name in (long_name, "X Note", "X-Grüße", "X-" + "n" * 74)])
    (_, too_long), (_, spaced), (_, non_ascii), (fits, _) = answers
    assert too_long["message"] == (
        f"$message['headers']['{long_name}']: the header name is 902 characters, more than 76: a name cannot be "
        "folded, and with its ': ' it must fit the 78 characters RFC 5322 section 2.1.1 wants a line to keep to")
    for refusal, name in ((spaced, "X Note"), (non_ascii, "X-Grüße")):
        assert refusal["message"] == \
            f"$message['headers']['{name}']: the header name must be printable ASCII without ':' or spaces", refusal
    assert_sent(fits)
    assert len(server.messages) == 1 and server.messages[0].message["X-" + "n" * 74] == "v"


def test_encoded_word_lookalikes_survive(php, smtp_server):
    typed = "Price =?utf-8?q?x?= list"
    received = send_one(php, smtp_server, compose(subject=typed, headers={"X-Note": typed},
                                                  to={"r@example.com": "=?utf-8?q?Boss?="}))
    assert b"=?utf-8?q?x?=" not in received.raw
    assert received.message["Subject"] == typed
    assert received.message["X-Note"] == typed
    assert received.message["To"].addresses[0].display_name == "=?utf-8?q?Boss?="


# ---------------------------------------------------------------- seeded random messages

WORDS = ["hello", "Grüße", "日本語", "naïve", "emoji🙂", "a,b", "semi;colon", "(paren)", "quote\"d", "back\\slash",
         "=?utf-8?q?x?=", "=?ISO-8859-1?B?SGk=?=", "x=?y?=z", "100%", "a.b", "-", "tab\there"]


def random_word(rng):
    roll = rng.random()
    if roll < 0.15:
        return rng.choice("abcdefghijXYZ0123456789") * rng.randint(70, 2200)   # long and unbroken
    if roll < 0.20:
        return "".join(rng.choice("äöüßéあ漢🙂") for _ in range(rng.randint(30, 400)))  # long, non-ASCII
    if roll < 0.55:
        return rng.choice(WORDS)
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(rng.randint(1, 12)))


def random_text(rng, words):
    # Mostly one space between words; now and then a run, up to longer than a line.
    text = random_word(rng)
    for _ in range(rng.randint(1, words) - 1):
        text += (" " * rng.choice([2, 3, 80, 1500]) if rng.random() < 0.1 else " ") + random_word(rng)
    return text


def random_name(rng):
    return random_text(rng, 4).replace("\t", " ")


def random_body(rng):
    pieces = []
    for _ in range(rng.randint(0, 30)):
        kind = rng.random()
        if kind < 0.2:
            pieces.append(rng.choice([".", "..", ".dot start", "From me", " "]))
        elif kind < 0.3:
            pieces.append("L" * rng.randint(900, 3000))
        else:
            pieces.append(random_text(rng, 8))
        pieces.append(rng.choice(["\n", "\r\n", "\r"]))
    return "".join(pieces)


def random_message(seed):
    rng = random.Random(seed)
    recipients = rng.randint(1, 90)
    people = [(f"p{seed}.{i}@example.com", random_name(rng) if rng.random() < 0.7 else "") for i in range(recipients)]
    split = rng.randint(1, recipients)
    to, cc = people[:split], people[split:]
    headers = {f"X-Prop-{i}": random_text(rng, 6) for i in range(rng.randint(0, 3))}
    headers["X-Seed"] = str(seed)
    # `from` takes "Name <address>" only: a name of plain words, which need no quoting.
    sender = " ".join(rng.choice(["Zoë", "Sender", "Team", "Ünïcode", "x" * rng.randint(1, 900)]) for _ in range(3))
    return {
        "from": f"{sender} <sender@example.com>",
        "to": {address: name for address, name in to},
        **({"cc": {address: name for address, name in cc}} if cc else {}),
        "subject": random_text(rng, 12),
        "text": random_body(rng),
        "headers": headers,
    }, to, cc


def line_ends(text):
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check(seed, message, to, cc, received):
    problems = []
    if long_lines(received.raw):
        problems.append(f"lines over 998 octets: {long_lines(received.raw)}")
    parsed_message = parsed(received.raw)
    expect = {
        "Subject": message["subject"],
        **message["headers"],
    }
    for name, value in expect.items():
        if str(parsed_message[name]) != value:
            problems.append(f"{name}: {str(parsed_message[name])!r} != {value!r}")
    for field, people in (("To", to), ("Cc", cc), ("From", [("sender@example.com", message["from"].split(" <")[0])])):
        if not people:
            continue
        got = names_and_addresses(received.raw, field)
        if got != people:
            problems.append(f"{field}: {got!r} != {people!r}")
    if sorted(received.rcpt_tos) != sorted(address for address, _ in to + cc):
        problems.append(f"RCPT TO: {received.rcpt_tos}")
    body = parsed_message.get_body(("plain",)).get_content()
    if line_ends(body).rstrip("\n") != line_ends(message["text"]).rstrip("\n"):
        problems.append(f"text: {body[:200]!r}... != {message['text'][:200]!r}...")
    assert not problems, f"seed {seed} (RFC5322_SEED={seed} reruns it):\n" + "\n".join(problems)


def test_seeded_random_messages_read_back_exactly(php, smtp_server):
    if "RFC5322_SEED" in os.environ:
        seeds = [int(os.environ["RFC5322_SEED"])]
    else:
        first = random.SystemRandom().randrange(10**6)
        seeds = list(range(first, first + SEEDS))
    print(f"seeds {seeds[0]}..{seeds[-1]}")
    cases = {seed: random_message(seed) for seed in seeds}
    server = smtp_server()
    transport = transport_for(server)
    code = f"""
    $results = [];
    foreach ({php.php_literal([cases[seed][0] for seed in seeds])} as $message) {{
        $result = rust_mail_send($message, {php.php_literal(transport)});
        $results[] = [$message['headers']['X-Seed'], $result['ok'], $result['error']['message'] ?? null];
    }}
    harness_print($results);
    """
    results = php.run(code, timeout=600).json()
    failed = [(seed, error) for seed, ok, error in results if not ok]
    assert not failed, f"not sent (RFC5322_SEED reruns one): {failed[:5]}"
    by_seed = {int(parsed(m.raw)["X-Seed"]): m for m in server.messages}
    for seed in seeds:
        message, to, cc = cases[seed]
        check(seed, message, to, cc, by_seed[seed])


# ---------------------------------------------------------------- SIZE (RFC 1870)

@pytest.mark.parametrize("chunking", [False, True], ids=["DATA", "BDAT"])
def test_a_message_over_the_servers_size_is_refused_before_sending(php, smtp_server, chunking):
    server = smtp_server(size_limit=100_000, chunking=chunking)
    big = compose(attachments=[{"content": b"\x00" * 90_000, "name": "big.bin"}])   # 120,000 bytes of base64
    result = send(php, big, transport_for(server))
    assert result["ok"] is False, result
    error = result["error"]
    assert (error["kind"], error["cause"], error["stage"], error["transient"]) == \
        ("data_rejected", "message_too_large", "mail", False), error
    assert "more than the 100000 bytes the server takes" in error["message"], error
    assert any("100000 bytes" in advice for advice in error["advice"]), error
    # Nothing of the transaction reached the server: no MAIL FROM, no message.
    assert not any(c.startswith(("MAIL", "DATA", "BDAT")) for c in server.commands()), server.commands()
    assert server.messages == []
    # A message under the limit goes.
    assert_sent(send(php, compose(attachments=[{"content": b"\x00" * 50_000, "name": "small.bin"}]),
                     transport_for(server)))
    assert len(server.messages) == 1


@pytest.mark.parametrize("chunking", [False, True], ids=["DATA", "BDAT"])
def test_mail_from_declares_the_size_of_the_message(php, smtp_server, chunking):
    """RFC 1870 section 3: SIZE= on MAIL FROM, to a server that offers SIZE, is the message's octets with CRLF line
    ends, without DATA's dot-stuffing and final dot: the bytes the server keeps, over DATA and BDAT alike. The
    diagnose walk declares the size of its test message the same way."""
    from harness.diag_support import diagnose
    server = smtp_server(chunking=chunking)
    # Dot lines (stuffed over DATA, so the wire carries more than the size) and bare LFs (made CRLF).
    assert_sent(send(php, compose(text=".dot\n..two\nline\n" * 40), transport_for(server)))
    (received,) = server.messages
    mail = [line for line in server.client_lines() if line.startswith("MAIL")]
    assert mail == [f"MAIL FROM:<sender@example.com> SIZE={len(received.raw)}"], server.session_log
    assert any(line.startswith("BDAT") for line in server.client_lines()) == chunking, server.session_log
    walker = smtp_server()
    diagnosis = diagnose(php, transport_for(walker), {"timeout": 10, "from": "sender@example.com",
                                                      "to": ["anna@example.com"], "send_test": True})
    assert diagnosis.status("send") == "ok", diagnosis
    (test_message,) = walker.messages
    assert [line for line in walker.client_lines() if line.startswith("MAIL")] == [
        f"MAIL FROM:<sender@example.com> SIZE={len(test_message.raw)}"], walker.session_log
    # Without send_test, no message follows the envelope: no SIZE.
    quiet = smtp_server()
    diagnose(php, transport_for(quiet), {"timeout": 10, "from": "sender@example.com", "to": ["anna@example.com"]})
    assert [line for line in quiet.client_lines() if line.startswith("MAIL")] == ["MAIL FROM:<sender@example.com>"]


# ---------------------------------------------------------------- recipients

def test_duplicate_recipients_get_one_rcpt(php, smtp_server):
    """A mailbox named twice (in to, cc or bcc, its domain in any case) gets one RCPT TO; the part before the '@'
    is compared exactly (RFC 5321 section 2.4 leaves its case to the server), so X@ and x@ both go."""
    server = smtp_server()
    message = compose(to=["x@example.com", "x@example.com", "y@Example.COM"], cc=["X@example.com", "y@example.com"],
                      bcc="x@EXAMPLE.com")
    result = send(php, message, transport_for(server))
    assert_sent(result)
    (received,) = server.messages
    assert received.rcpt_tos == ["x@example.com", "y@Example.COM", "X@example.com"]
    assert result["accepted"] == ["x@example.com", "y@Example.COM", "X@example.com"]
    # The headers say what the caller wrote.
    assert [a.addr_spec for a in received.message["To"].addresses] == ["x@example.com", "x@example.com",
                                                                       "y@Example.COM"]
    raw = {"raw": b"Subject: x\r\n\r\nx\r\n", "envelope": {"from": "a@example.com",
                                                         "to": ["b@example.com", "b@EXAMPLE.com", "B@example.com"]}}
    assert_sent(send(php, raw, transport_for(server)))
    assert server.messages[1].rcpt_tos == ["b@example.com", "B@example.com"]


# ---------------------------------------------------------------- Message-ID

def test_message_id_gets_its_angle_brackets(php, smtp_server):
    server = smtp_server()
    for given in ["abc-1@example.com", "<abc-2@example.com>", " abc-3@example.com "]:
        result = send(php, compose(headers={"Message-ID": given}), transport_for(server))
        assert_sent(result)
        bare = given.strip().strip("<>")
        assert result["message_id"] == f"<{bare}>"
        assert f"\r\nMessage-ID: <{bare}>\r\n".encode() in server.messages[-1].raw
    for bad in ["no-at-sign", "two words@example.com", "<a@b> <c@d>", "@example.com"]:
        result, exception = php.call("rust_mail_send", compose(headers={"Message-ID": bad}), transport_for(server))
        assert result is None and exception["class"] == "RustMailException", (bad, result)
        assert exception["message"].startswith(f"$message['headers']['Message-ID'] '{bad}' is not a message id"), \
            exception
    assert len(server.messages) == 3


# ---------------------------------------------------------------- rust_mail_explain() on every send result

def test_explain_takes_a_send_many_invalid_input_result(php, smtp_server):
    server = smtp_server()
    messages = {"good": compose(subject="goes"), "bad": compose(to="not an address")}
    code = f"""
    $transport = {php.php_literal(transport_for(server))};
    $results = rust_mail_send_many({php.php_literal(messages)}, $transport);
    harness_print(['results' => $results, 'why' => rust_mail_explain($results['bad'], $transport)]);
    """
    out = php.run(code).json()
    assert out["results"]["good"]["ok"] is True and out["results"]["bad"]["error"]["kind"] == "invalid_input"
    why = out["why"]
    assert why["cause"] == "invalid_input", why
    assert why["summary"].startswith("$message['to'] is not a valid address ('not an address')"), why
    assert why["advice"] == out["results"]["bad"]["error"]["advice"], why
    # Only the good message went.
    assert [m.message["Subject"] for m in server.messages] == ["goes"]


# ---------------------------------------------------------------- SMTPUTF8 (RFC 6531)

def test_a_non_ascii_address_in_a_header_is_refused_by_a_server_without_smtputf8(php, smtp_server):
    """RFC 6531 section 3.4: raw UTF-8 headers must not go to a server without SMTPUTF8. Such an address in To is
    refused clearly and nothing is sent; in bcc only that recipient is left out; a server that offers SMTPUTF8 gets
    the message as it is."""
    plain, utf8 = smtp_server(), smtp_server(smtputf8=True)
    message = compose(to=["jürgen@example.com", "anna@example.com"])
    result = send(php, message, transport_for(plain))
    assert result["ok"] is False, result
    error = result["error"]
    assert (error["kind"], error["cause"], error["stage"]) == ("data_rejected", "address_needs_smtputf8", "mail"), error
    assert error["message"].startswith("the message's To header has non-ASCII characters"), error
    assert "nothing was sent" in error["message"] and "bcc" in error["message"], error
    assert plain.messages == [] and "MAIL" not in plain.commands()
    # In bcc, the address is in no header: only it is left out, and the headers the server gets are ASCII.
    assert_sent(send(php, compose(to="anna@example.com", bcc="jürgen@example.com"), transport_for(plain)))
    (received,) = plain.messages
    assert received.rcpt_tos == ["anna@example.com"] and received.raw.split(b"\r\n\r\n")[0].isascii()
    assert_sent(send(php, message, transport_for(utf8)))
    assert "\r\nTo: jürgen@example.com, anna@example.com\r\n".encode() in utf8.messages[0].raw


def test_diagnose_agrees_with_send_on_smtputf8(php, smtp_server):
    from harness.diag_support import diagnose
    server = smtp_server()
    transport = transport_for(server)
    diagnosis = diagnose(php, transport, {"timeout": 10, "from": "sender@example.com",
                                          "to": ["anna@example.com", "jürgen@example.com"], "send_test": True})
    assert diagnosis.cause == "address_needs_smtputf8", diagnosis
    assert diagnosis.status("envelope") == "fail" and "jürgen@example.com" in diagnosis.step("envelope")["detail"]
    # The walk offered the server no 8-bit address (the session log shows UTF-8 bytes as latin-1).
    assert not any("jürgen".encode().decode("latin-1") in line for line in server.session_log), server.session_log
    assert server.messages == []
    result = send(php, compose(to=["anna@example.com", "jürgen@example.com"]), transport)
    assert result["error"]["cause"] == diagnosis.cause


# ---------------------------------------------------------------- text bodies

def text_part_of(received):
    (part,) = [p for p in received.message.walk() if p.get_content_maintype() == "text"]
    return part


def test_a_body_in_another_charset_has_crlf_line_ends_inside_its_encoding(php, smtp_server):
    server = smtp_server()
    text = "Grüße\nzweite Zeile\r\ndritte\n".encode("iso-8859-1")
    assert_sent(send(php, compose(text=text, charset="ISO-8859-1"), transport_for(server)))
    part = text_part_of(server.messages[0])
    assert part.get_content_charset() == "iso-8859-1"
    assert part.get_payload(decode=True) == "Grüße\r\nzweite Zeile\r\ndritte\r\n".encode("iso-8859-1")


@pytest.mark.parametrize("charset", ["UTF-8", "ISO-8859-1"])
def test_a_nul_in_a_body_is_never_sent_raw(php, smtp_server, charset):
    server = smtp_server()
    assert_sent(send(php, compose(text=b"before\x00after\n", charset=charset), transport_for(server)))
    received = server.messages[0]
    assert b"\x00" not in received.raw
    part = text_part_of(received)
    assert part["Content-Transfer-Encoding"] in ("quoted-printable", "base64"), part["Content-Transfer-Encoding"]
    # (A quoted-printable part ends in the line end of its last line.)
    assert part.get_payload(decode=True).replace(b"\r\n", b"\n").rstrip(b"\n") == b"before\x00after"


def test_a_nul_in_an_attachment_is_never_sent_raw(php, smtp_server):
    server = smtp_server()
    content = b"before\x00after\n"
    assert_sent(send(php, compose(attachments=[{"content": content, "name": "notes.txt"}]), transport_for(server)))
    received = server.messages[0]
    assert b"\x00" not in received.raw
    [part] = [p for p in email.message_from_bytes(received.raw, policy=email.policy.default).walk() if p.get_filename() == "notes.txt"]
    assert part["Content-Transfer-Encoding"] == "base64" and part.get_payload(decode=True) == content


# ---------------------------------------------------------------- pooled connections at the end of a script

def test_pooled_connections_say_quit_when_a_cli_script_ends(php, smtp_server):
    first, second = smtp_server(), smtp_server()
    code = f"""
    foreach ([{php.php_literal(transport_for(first))}, {php.php_literal(transport_for(second))}] as $transport) {{
        rust_mail_send({php.php_literal(compose())}, $transport);
        rust_mail_send({php.php_literal(compose())}, $transport);
    }}
    harness_print('sent');
    """
    assert php.run(code).json() == "sent"
    for server in (first, second):
        assert len(server.messages) == 2 and server.connections == 1
        deadline = time.monotonic() + 5
        while "QUIT" not in server.commands() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.commands()[-1] == "QUIT", server.session_log


# ---------------------------------------------------------------- refusals that name the right thing

BAD_ADDRESSES = {
    "bob@" + "d" * 64 + ".example.com": "the domain's label '" + "d" * 64 + "' is 64 characters: a label has at most 63",
    "b" * 65 + "@example.com": "the part before the '@' is 65 characters: it has at most 64",
    "x@[127.0.0.1]": "the domain is an address literal ([127.0.0.1]), which is not taken",
    '"john doe"@example.com': "its quoted part before the '@' (\"john doe\") has spaces",
    "a@example.com; b@example.com": "it has a ';': separate addresses with commas",
}
BAD_DATES = ["Fri, 31 Feb 2025 10:52:37 +0200", "29 Feb 2025 10:52 +0000", "Wed, 1 Jul 2025 10:52:37 +0200"]


def test_address_and_date_refusals_name_the_problem(php, smtp_server):
    server = smtp_server()
    transport = transport_for(server)
    calls = [("rust_mail_send", [compose(to=address), transport]) for address in BAD_ADDRESSES]
    calls += [("rust_mail_send", [compose(headers={"Date": date}), transport]) for date in BAD_DATES]
    calls.append(("rust_mail_send", [compose(headers={"Date": "Tue, 1 Jul 2025 10:52:37 +0200"}), transport]))
    answers = php.call_many(calls)
    for (address, problem), (result, exception) in zip(BAD_ADDRESSES.items(), answers):
        assert result is None and exception["class"] == "RustMailException", (address, result)
        message = exception["message"]
        assert message.startswith(f"$message['to'] is not a valid address ('{address}'): {problem}"), message
        assert "characters an address cannot have" not in message and "has spaces:" not in message, message
    for date, (result, exception) in zip(BAD_DATES, answers[len(BAD_ADDRESSES):]):
        assert result is None and exception["message"].startswith(
            f"$message['headers']['Date'] '{date}' is not an RFC 5322 date of a day that exists"), (date, exception)
    # Nothing refused reached the server; the real date went as given.
    result, exception = answers[-1]
    assert exception is None and result["ok"], result
    (received,) = server.messages
    assert b"\r\nDate: Tue, 1 Jul 2025 10:52:37 +0200\r\n" in received.raw
