"""DKIM signing (RFC 6376, rsa-sha256 and ed25519-sha256, relaxed/relaxed): keys made here with openssl, their public
halves published on a real DNS server (dnsmasq on loopback), each message sent through a real Postfix that queues it
and relays it on, and the message as the final server received it verified by an independent verifier, dkimpy
(Debian's python3-dkim), which looks the key up on that dnsmasq."""
import base64
import re
import subprocess
import time

import dns.resolver
import dkim
import pytest

from harness.diag_servers import Dnsmasq
from harness.mail import assert_sent, describe, transport_for
from test_api import api, auth, only_request  # noqa: F401 (fixtures: the HTTPS API contract servers)

DOMAIN = "mail.example"  # under dnsmasq's --local=/example/
SELECTORS = {"rsa": "rsa2048", "ed25519": "ed1"}
FROM = f"Sender <sender@{DOMAIN}>"


def openssl(*args):
    return subprocess.run(["openssl", *args], check=True, capture_output=True).stdout


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """{algorithm: (PEM private key as text, path of its file, p= value)} for an RSA 2048 and an Ed25519 key."""
    made = {}
    for algorithm, options in {"rsa": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                               "ed25519": ["-algorithm", "ed25519"]}.items():
        path = tmp_path_factory.mktemp("dkim") / f"{algorithm}.pem"
        openssl("genpkey", *options, "-out", str(path))
        public = openssl("pkey", "-in", str(path), "-pubout", "-outform", "DER")
        # RSA: the SubjectPublicKeyInfo, as openssl writes it; Ed25519: the raw 32-byte key (RFC 8463 section 4.2).
        p = base64.b64encode(public if algorithm == "rsa" else public[-32:]).decode()
        made[algorithm] = (path.read_text(), str(path), p)
    return made


@pytest.fixture(scope="module")
def dns_server(keys):
    """dnsmasq serving each key's TXT record at <selector>._domainkey.mail.example. A TXT string holds at most 255
    octets, so the RSA record is split into strings (dnsmasq splits its value on commas), joined again by readers."""
    records = {}
    for algorithm, (_, _, p) in keys.items():
        value = f"v=DKIM1; k={algorithm}; p={p}"
        records[f"{SELECTORS[algorithm]}._domainkey.{DOMAIN}"] = [",".join(value[i:i + 200] for i in range(0, len(value), 200))]
    server = Dnsmasq(txt=records)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lookup(dns_server):
    """dkimpy's dnsfunc, asking the test's dnsmasq only."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = [dns_server.host], dns_server.port

    def txt(name, timeout=5):
        try:
            answer = resolver.resolve(name.decode() if isinstance(name, bytes) else name, "TXT", lifetime=timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        return b"".join(answer[0].strings)
    return txt


def verifies(message, lookup):
    """Whether dkimpy verifies every DKIM-Signature of `message` (bytes), with the keys on the test DNS."""
    signatures = len(re.findall(rb"^DKIM-Signature:", message, re.M | re.I))
    assert signatures >= 1, message[:2000]
    try:
        return all(dkim.DKIM(message).verify(idx=i, dnsfunc=lookup) for i in range(signatures))
    except dkim.DKIMException:  # dkimpy raises on a body hash mismatch instead of returning False
        return False


def dkim_option(keys, algorithm, from_file=False):
    pem, path, _ = keys[algorithm]
    return {"domain": DOMAIN, "selector": SELECTORS[algorithm], "private_key": path if from_file else pem}


def message(**fields):
    composed = {"from": FROM, "to": "rcpt@example.com", "subject": "Signed", "text": "Hello there\n"}
    composed.update(fields)
    return composed


def received_after(upstream, count=1):
    """The messages the final server got from Postfix's queue, once `count` are there."""
    deadline = time.monotonic() + 20
    while len(upstream.messages) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(upstream.messages) >= count, "Postfix did not relay the message"
    return upstream.messages


def through_postfix(php, postfix, upstream, sent, transport_fields=None):
    """Sends `sent` (one message) through a queueing Postfix; returns (result, the bytes the final server got)."""
    server = postfix(queue=True)
    result, exception = php.call("rust_mail_send", sent, transport_for(server, **(transport_fields or {})))
    assert exception is None, exception
    assert_sent(result)
    return result, received_after(upstream)[0].raw


@pytest.mark.parametrize("algorithm", ["rsa", "ed25519"])
@pytest.mark.parametrize("given_on", ["message", "transport"])
def test_a_plain_message_verifies_after_postfix(php, postfix, upstream, keys, lookup, algorithm, given_on):
    option = dkim_option(keys, algorithm)
    if given_on == "message":
        result, raw = through_postfix(php, postfix, upstream, message(dkim=option))
    else:
        result, raw = through_postfix(php, postfix, upstream, message(), {"dkim": option})
    assert verifies(raw, lookup), raw.decode(errors="replace")
    header = dkim.util.parse_tag_value(re.search(rb"^DKIM-Signature:(.*?)\r\n(?![ \t])", raw, re.M | re.S).group(1))
    expected = {"rsa": b"rsa-sha256", "ed25519": b"ed25519-sha256"}[algorithm]
    assert (header[b"a"], header[b"c"], header[b"d"], header[b"s"]) == (expected, b"relaxed/relaxed", DOMAIN.encode(),
                                                                          SELECTORS[algorithm].encode())
    signed = [h.strip().lower() for h in header[b"h"].split(b":")]
    assert {b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type"} <= set(signed)
    # Postfix added its Received: header on the way; it is not signed, and the signature holds.
    assert raw.startswith(b"Received:") and b"received" not in signed


def test_a_message_with_attachments_verifies(php, postfix, upstream, keys, lookup):
    attachments = [{"content": bytes(range(256)) * 40, "name": "data.bin"},
                   {"content": "line one\nline two\n.\n", "name": "notes.txt"}]
    _, raw = through_postfix(php, postfix, upstream, message(html="<p>Hi</p>", attachments=attachments,
                                                             dkim=dkim_option(keys, "rsa")))
    assert b"multipart/mixed" in raw and b'filename="data.bin"' in raw
    assert verifies(raw, lookup)


def test_long_folded_headers_verify(php, postfix, upstream, keys, lookup):
    recipients = [f"Person {i} <person{i}@example.com>" for i in range(60)]
    fields = message(to=recipients, subject="A long subject " * 30, reply_to="replies@example.com",
                     headers={"List-Unsubscribe": "<https://example.com/unsubscribe?" + "x" * 1200 + ">",
                              "X-Campaign": "word " * 200},
                     dkim=dkim_option(keys, "ed25519"))
    server = postfix(queue=True)
    result, exception = php.call("rust_mail_send", fields, transport_for(server))
    assert exception is None and result["ok"], exception or describe(result)
    raw = received_after(upstream)[0].raw
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert re.search(rb"^To: .*\r\n[ \t]", head, re.M), "the To header is folded"
    assert max(len(line) for line in head.split(b"\r\n")) <= 998
    assert verifies(raw, lookup)


def test_8bit_text_verifies(php, postfix, upstream, keys, lookup):
    fields = message(subject="Grüße aus Köln — ✓", text="Grüße, Jürgen!\nÇa va? 日本語\n", dkim=dkim_option(keys, "rsa"))
    _, raw = through_postfix(php, postfix, upstream, fields)
    assert verifies(raw, lookup)


def test_a_raw_8bit_message_with_bare_line_feeds_is_signed_as_sent(php, postfix, upstream, keys, lookup):
    """A raw message with its own `dkim` is signed over the bytes sent: its LF line ends become CRLF first."""
    raw = (f"From: {FROM}\nTo: rcpt@example.com\nSubject: raw\nDate: Mon, 7 Dec 2026 10:00:00 +0000\n"
           f"Message-ID: <raw-1@{DOMAIN}>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
           "Content-Transfer-Encoding: 8bit\n\nGrüße\n.leading dot\n").encode()
    sent = {"raw": raw, "envelope": {"from": f"sender@{DOMAIN}", "to": ["rcpt@example.com"]},
            "dkim": dkim_option(keys, "ed25519")}
    _, received = through_postfix(php, postfix, upstream, sent)
    assert b"\r\n.leading dot\r\n" in received
    assert verifies(received, lookup)


def test_compose_returns_the_signed_bytes_that_are_sent(php, smtp_server, keys, lookup):
    """compose()'s raw is signed and is what the server gets, byte for byte; sent back through a transport with a
    key of its own, it is not signed a second time."""
    server = smtp_server()
    transport = transport_for(server, dkim=dkim_option(keys, "rsa", from_file=True))
    code = f"""
    $composed = rust_mail_compose({php.php_literal(message(dkim=dkim_option(keys, "ed25519")))});
    harness_print([$composed, rust_mail_send($composed, {php.php_literal(transport)})]);
    """
    composed, result = php.run(code).json()
    assert_sent(result)
    raw = composed["raw"].encode() if isinstance(composed["raw"], str) else composed["raw"]
    assert server.messages[0].raw == raw
    assert raw.count(b"DKIM-Signature:") == 1 and b"a=ed25519-sha256" in raw
    assert verifies(raw, lookup)


def test_a_tampered_message_fails_verification(php, postfix, upstream, keys, lookup):
    _, raw = through_postfix(php, postfix, upstream, message(text="Pay 100 EUR to account 1234\n",
                                                             dkim=dkim_option(keys, "rsa")))
    assert verifies(raw, lookup)
    assert b"100 EUR" in raw
    assert not verifies(raw.replace(b"100 EUR", b"900 EUR"), lookup)
    assert not verifies(raw.replace(b"Subject: Signed", b"Subject: Signet"), lookup)
    # A header the signature lists as absent, added on the way.
    assert not verifies(raw.replace(b"\r\n\r\n", b"\r\nReply-To: thief@example.net\r\n\r\n", 1), lookup)


def test_send_many_signs_each_message_with_the_transports_key_or_its_own(php, smtp_server, keys, lookup):
    server = smtp_server()
    messages = [message(subject="one"), message(subject="two", dkim=dkim_option(keys, "ed25519"))]
    result, exception = php.call("rust_mail_send_many", messages, transport_for(server, dkim=dkim_option(keys, "rsa")))
    assert exception is None, exception
    assert all(r["ok"] for r in result), result
    by_subject = {m.message["Subject"]: m.raw for m in server.messages}
    assert b"a=rsa-sha256" in by_subject["one"] and b"a=ed25519-sha256" in by_subject["two"]
    assert all(raw.count(b"DKIM-Signature:") == 1 and verifies(raw, lookup) for raw in by_subject.values())


@pytest.mark.parametrize("kind", ["ses", "mailgun"])
def test_an_https_api_that_takes_the_mime_gets_it_signed(php, api, keys, lookup, kind):
    sending_domain = {"domains": (DOMAIN,)} if kind == "mailgun" else {}
    target = api(kind, transport={"dkim": dkim_option(keys, "ed25519")}, **sending_domain)
    result, exception = php.call("rust_mail_send", message(), target.transport)
    assert exception is None and result["ok"], exception or describe(result)
    mime = only_request(target.server).mime
    assert mime.startswith(b"DKIM-Signature:") and verifies(mime, lookup)


def key_lines(pem):
    """The base64 lines of a PEM key: any of them in a text would be part of the key."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


@pytest.mark.parametrize("change, refusal", [
    ({"domain": "bad domain"}, "$message['dkim']['domain'] 'bad domain' is not a domain name"),
    ({"domain": None}, "$message['dkim']['domain'] is required"),
    ({"selector": "s;x=1"}, "$message['dkim']['selector'] 's;x=1' is not a selector"),
    ({"selector": "s\r\nBcc: x@example.com"}, "$message['dkim']['selector'] (a value of"),
    ({"private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"},
     "$message['dkim']['private_key'] "),
    ({"private_key": "/nonexistent/dkim.pem"}, "$message['dkim']['private_key'] is not a PEM key, and as a path"),
    ({"private_key": "relative.pem"}, "$message['dkim']['private_key'] is not a PEM key, and as a path it is not absolute"),
    ({"private_key": None}, "$message['dkim']['private_key'] is required"),
    ({"algorithm": "rsa"}, "$message['dkim']['algorithm'] is not a known key"),
])
def test_a_bad_dkim_option_is_refused_naming_the_key(php, smtp_server, keys, change, refusal):
    server = smtp_server()
    option = {k: v for k, v in {**dkim_option(keys, "rsa"), **change}.items() if v is not None}
    result, exception = php.call("rust_mail_send", message(dkim=option), transport_for(server))
    assert result is None and exception["message"].startswith(refusal), exception
    assert server.connections == 0


def test_a_small_rsa_key_and_an_ec_key_are_refused(php, tmp_path):
    small, ec = tmp_path / "small.pem", tmp_path / "ec.pem"
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:512", "-out", str(small))
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-pkeyopt", "ec_param_enc:named_curve",
            "-out", str(ec))
    for path, refusal in [(small, "is an RSA key of 512 bits"), (ec, "is neither an RSA nor an Ed25519 key")]:
        option = {"domain": DOMAIN, "selector": "s", "private_key": path.read_text()}
        result, exception = php.call("rust_mail_compose", message(dkim=option))
        assert result is None and refusal in exception["message"], exception
        assert not any(line in exception["message"] for line in key_lines(path.read_text()))


def test_the_key_is_never_in_a_result_a_transcript_or_an_exception(php, smtp_server, keys):
    pem, path, _ = keys["rsa"]
    server = smtp_server()
    transport = transport_for(server, dkim=dkim_option(keys, "rsa"))
    calls = [
        ("rust_mail_send", [message(), transport]),
        ("rust_mail_send_many", [[message(), message(dkim={**dkim_option(keys, "rsa"), "selector": "bad selector"})],
                                 transport]),
        ("rust_mail_compose", [message(dkim=dkim_option(keys, "rsa"))]),
        # The key put under the wrong name, a key not wanted there, a raw message without a From header.
        ("rust_mail_send", [message(dkim={**dkim_option(keys, "rsa"), "domain": pem}), transport]),
        ("rust_mail_send", [message(dkim={**dkim_option(keys, "rsa"), "private": pem}), transport]),
        ("rust_mail_send", [message(dkim={**dkim_option(keys, "rsa"), "private_key": "".join(key_lines(pem))}), transport]),
        ("rust_mail_send", [{"raw": "Subject: x\r\n\r\nx\r\n", "envelope": {"from": "a@example.com", "to": ["b@example.com"]}},
                            transport]),
        ("rust_mail_diagnose", [transport]),
    ]
    answers = php.call_many(calls)
    texts = repr(answers)
    assert not any(line in texts for line in key_lines(pem)), texts
    sent, many, composed, wrong_name, unknown, bare, no_from, _ = answers
    assert sent[0]["ok"] and sent[0]["transcript"], sent
    assert many[0][0]["ok"] and many[0][1]["error"]["kind"] == "invalid_input", many
    assert "$message['dkim']['selector'] 'bad selector'" in many[0][1]["error"]["message"]
    assert composed[1] is None and b"DKIM-Signature:" in (composed[0]["raw"].encode() if isinstance(composed[0]["raw"], str)
                                                          else composed[0]["raw"])
    assert wrong_name[1]["message"].startswith("$message['dkim']['domain'] (a value of"), wrong_name
    assert unknown[1]["message"].startswith("$message['dkim']['private'] is not a known key"), unknown
    assert bare[1]["message"].startswith("$message['dkim']['private_key'] is not a PEM key"), bare
    assert no_from[1]["message"].startswith("$transport['dkim'] cannot sign the message: the message has no From header"), no_from
