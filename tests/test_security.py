"""Security regressions of rust_mail_send(), each against the real extension in the real PHP CLI:
files the caller names (ca_file, attachments) and PHP's open_basedir, SMTP smuggling through bare
CR and LF, servers that try to exhaust memory or time, and logins without TLS to a remote peer."""
import json
import re
import subprocess
from pathlib import Path

import pytest

from harness.diag_servers import NetNamespace
from harness.hostile import (HostileServer, close_in_data, endless_long_lines, endless_reply, greeting_junk,
                             many_long_replies, megabyte_ehlo, megabyte_line, one_byte_a_second)
from harness.mail import (PASSWORD, USER, assert_failed, assert_no_secret, assert_sent, compose, secret_forms, send,
                          transport_for)
from harness.php import HARNESS_DIR

TESTS_DIR = Path(__file__).resolve().parent


def throws(php, message, transport):
    """Calls rust_mail_send, which must throw a RustMailException; returns its message."""
    result, exception = php.call("rust_mail_send", message, transport)
    assert result is None and exception is not None, f"expected an exception, got {result!r}"
    assert exception["class"] == "RustMailException", exception
    return exception["message"]


# PHP: the process's peak resident memory (VmHWM), in bytes.
VM_HWM = """
function vm_hwm() {
    preg_match('/^VmHWM:\\s+(\\d+) kB/m', file_get_contents('/proc/self/status'), $m);
    return 1024 * (int) $m[1];
}
"""


# ---------------------------------------------------------------- files the caller names

def test_ca_file_that_is_a_device_is_refused_before_connecting(php, smtp_server):
    server = smtp_server(tls="starttls")
    error = throws(php, compose(), transport_for(server, security="starttls", ca_file="/dev/zero"))
    assert error == "$transport['ca_file'] '/dev/zero' is not a regular file"
    assert server.connections == 0


def test_ca_file_over_one_mib_is_refused(php, smtp_server, tmp_path):
    server = smtp_server(tls="starttls")
    big = tmp_path / "big.pem"
    big.write_bytes(b"x" * (1024 * 1024 + 1))
    error = throws(php, compose(), transport_for(server, security="starttls", ca_file=str(big)))
    assert error == f"$transport['ca_file'] '{big}' is 1048577 bytes, more than the 1048576 allowed"
    assert server.connections == 0


def test_attachment_that_is_a_device_is_refused(php, smtp_server):
    server = smtp_server()
    error = throws(php, compose(attachments=["/dev/zero"]), transport_for(server))
    assert error == "$message['attachments'][0] '/dev/zero' is not a regular file"
    assert server.connections == 0


ATTACHMENT_CAP = VM_HWM + """
$out = [];
foreach (%s as [$fn, $args]) {
    $before = vm_hwm();
    try {
        $result = $fn(...$args);
        $out[] = ['result' => $fn === 'rust_mail_send' ? $result['ok'] : array_column($result, 'ok'), 'exception' => null];
    } catch (Throwable $e) {
        $out[] = ['result' => null, 'exception' => harness_exception($e)];
    }
    $out[count($out) - 1]['grew'] = vm_hwm() - $before;
}
harness_print($out);
"""


def test_attachments_read_from_files_are_capped_before_they_are_read(php, smtp_server, tmp_path):
    """25 MiB by default for the files one message attaches: a file over it is refused by its size, before any
    connection and unread (the PHP process's peak memory does not grow by it); $options['max_attachment_bytes']
    sets the cap for one call of rust_mail_send() or rust_mail_send_many()."""
    server = smtp_server()
    big, note = tmp_path / "backup.tar", tmp_path / "note.txt"
    with open(big, "wb") as sparse:
        sparse.truncate(25 * 1024 * 1024 + 1)
    note.write_bytes(b"x" * 600)
    transport = transport_for(server)
    calls = [
        ("rust_mail_send", [compose(subject="big", attachments=[str(note), str(big)]), transport]),
        ("rust_mail_send", [compose(subject="two notes", attachments=[str(note), str(note)]), transport,
                            {"max_attachment_bytes": 1000}]),
        ("rust_mail_send", [compose(subject="notes allowed", attachments=[str(note), str(note)]), transport,
                            {"max_attachment_bytes": 1200}]),
        ("rust_mail_send_many", [[compose(subject="in a batch", attachments=[str(note)]), compose(subject="plain")],
                                 transport, {"max_attachment_bytes": 599}]),
        ("rust_mail_send", [compose(), transport, {"max_attachment_bytes": -1}]),
    ]
    out = php.run(ATTACHMENT_CAP % php.php_literal(calls)).json()
    refused = out[0]["exception"]
    assert refused["class"] == "RustMailException", out[0]
    assert refused["message"].startswith(
        f"$message['attachments'][1] '{big}' is 26214401 bytes, and the files attached before it 600: more than the "
        "26214400 bytes a message may attach from files ($options['max_attachment_bytes']"), refused
    assert out[0]["grew"] < 8 * 1024 * 1024, f"the refused file was read: peak memory grew by {out[0]['grew']} bytes"
    assert out[1]["exception"]["message"].startswith(
        f"$message['attachments'][1] '{note}' is 600 bytes, and the files attached before it 600: more than the 1000 bytes"), out[1]
    assert out[2] == {"result": True, "exception": None, "grew": out[2]["grew"]}, out[2]
    # In a batch the refusal is that message's own invalid_input result; the other message goes.
    assert out[3]["result"] == [False, True], out[3]
    assert out[4]["exception"]["message"] == "$options['max_attachment_bytes'] must be a number of bytes (0 or more), got -1"
    assert sorted(m.message["Subject"] for m in server.messages) == ["notes allowed", "plain"]


@pytest.fixture
def basedir(tmp_path):
    """A directory open_basedir allows (with the harness's own PHP files), one beside it that
    it does not, and a PHP runner with that open_basedir."""
    inside, outside = tmp_path / "inside", tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    return inside, outside, f"{HARNESS_DIR}:{inside}"


def test_open_basedir_allows_an_attachment_inside_it(php, smtp_server, basedir):
    inside, _, open_basedir = basedir
    (inside / "note.txt").write_text("allowed\n")
    server = smtp_server()
    assert_sent(send(php.with_ini(open_basedir=open_basedir), compose(attachments=[str(inside / "note.txt")]),
                     transport_for(server)))
    assert len(server.messages) == 1


@pytest.mark.parametrize("via_symlink", [False, True], ids=["path-outside", "symlink-inside-to-outside"])
def test_open_basedir_refuses_an_attachment_outside_it(php, smtp_server, basedir, via_symlink):
    inside, outside, open_basedir = basedir
    secret = outside / "secret.txt"
    secret.write_text("not for mail\n")
    path = secret
    if via_symlink:
        path = inside / "link.txt"
        path.symlink_to(secret)
    server = smtp_server()
    error = throws(php.with_ini(open_basedir=open_basedir), compose(attachments=[str(path)]), transport_for(server))
    assert error == (f"$message['attachments'][0] '{path}' is outside open_basedir: "
                     "PHP's open_basedir setting does not allow it")
    assert server.connections == 0 and server.messages == []


def test_open_basedir_refuses_a_ca_file_outside_it(php, smtp_server, certs, basedir):
    _, _, open_basedir = basedir
    server = smtp_server(tls="starttls")
    error = throws(php.with_ini(open_basedir=open_basedir), compose(),
                   transport_for(server, security="starttls", ca_file=certs.ca))
    assert error == f"$transport['ca_file'] '{certs.ca}' is outside open_basedir: PHP's open_basedir setting does not allow it"
    assert server.connections == 0 and server.messages == []


# ---------------------------------------------------------------- SMTP smuggling

# Each ends DATA early on some receiver that takes a bare CR or bare LF as a line end.
SMUGGLING_ENDINGS = ["\n.\n", "\r.\r", "\r\n.\r", "\n.\r\n", "\r.\r\n", "\r\n.\n", "\n.\r", "\r.\n"]
SMUGGLED = ("MAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n"
            "From: ceo@example.com\r\nSubject: smuggled\r\n\r\nwire the money\r\n.\r\n")
BARE_LINE_END = re.compile(rb"\r(?!\n)|(?<!\r)\n")


def body_lines(raw):
    return raw.split(b"\r\n\r\n", 1)[1].split(b"\r\n")


def assert_one_message_with_the_smuggled_lines_as_body(server):
    """The server got one message from a@ to b@, only CRLF line ends, the dot line arrived as a line holding "." and
    the smuggled session as ordinary body lines."""
    [received] = server.messages
    assert received.mail_from == "a@example.com" and received.rcpt_tos == ["b@example.com"]
    assert BARE_LINE_END.search(received.raw) is None, received.raw
    lines = body_lines(received.raw)
    assert lines[:3] == [b"Hello", b".", b"MAIL FROM:<evil@example.com>"], lines
    assert b"wire the money" in lines and lines[-2:] == [b".", b""], lines


@pytest.mark.parametrize("ending", SMUGGLING_ENDINGS, ids=[e.encode().hex() for e in SMUGGLING_ENDINGS])
def test_raw_message_cannot_smuggle_a_second_message(php, smtp_server, ending):
    server = smtp_server()
    raw = f"From: a@example.com\r\nTo: b@example.com\r\nSubject: one\r\n\r\nHello{ending}{SMUGGLED}".encode()
    assert_sent(send(php, {"raw": raw, "envelope": {"from": "a@example.com", "to": ["b@example.com"]}},
                     transport_for(server)))
    assert_one_message_with_the_smuggled_lines_as_body(server)


@pytest.mark.parametrize("part", ["text", "html"])
def test_composed_body_cannot_smuggle_a_second_message(php, smtp_server, part):
    server = smtp_server()
    body = "Hello" + "".join(ending + SMUGGLED for ending in SMUGGLING_ENDINGS)
    assert_sent(send(php, compose(**{"text": None, part: body}), transport_for(server)))
    [received] = server.messages
    assert received.rcpt_tos == ["rcpt@example.com"]
    assert BARE_LINE_END.search(received.raw) is None, received.raw
    content = received.message.get_content()
    assert content.count("MAIL FROM:<evil@example.com>") == len(SMUGGLING_ENDINGS), content
    assert content.count("wire the money") == len(SMUGGLING_ENDINGS), content


# ---------------------------------------------------------------- envelope addresses

# RFC 5321 allows this quoted part, but a server ends the address at the first '>' and reads the rest of the line as
# parameters: MAIL FROM would carry a NOTIFY (RFC 3461) the caller never wrote.
INJECTED = '"a> NOTIFY=NEVER"@example.com'


def test_an_envelope_address_that_would_add_parameters_is_refused_before_connecting(php, smtp_server):
    server = smtp_server()
    raw = {"raw": b"Subject: x\r\n\r\nx\r\n", "envelope": {"from": f"<{INJECTED}>", "to": ["rcpt@example.com"]}}
    message = throws(php, raw, transport_for(server))
    assert message.startswith(f"$message['envelope']['from'] '{INJECTED}' cannot be sent in MAIL FROM or RCPT TO"), message
    assert "has a space and '>'" in message, message
    assert server.connections == 0
    # A recipient given as address => name, in a batch: that message's own error; the other one is sent.
    messages = [compose(subject="injected", bcc={INJECTED: "Bob"}), compose(subject="fine")]
    results, exception = php.call("rust_mail_send_many", messages, transport_for(server))
    assert exception is None, exception
    error = results[0]["error"]
    assert (error["kind"], error["stage"]) == ("invalid_input", "input"), error
    assert error["message"].startswith(f"$message['bcc'] '{INJECTED}' cannot be sent"), error["message"]
    assert_sent(results[1])
    assert [m.message["Subject"] for m in server.messages] == ["fine"]
    assert not [line for line in server.client_lines() if "NOTIFY" in line or "a>" in line], server.client_lines()


# ---------------------------------------------------------------- hostile servers

SEND_TIMEOUT = 3
MAX_GROWTH = 64 * 1024 * 1024   # bytes of resident memory a call may add, at its peak

MEASURED_SEND = VM_HWM + """
$before = vm_hwm();
$started = microtime(true);
$result = rust_mail_send(%s, %s);
harness_print([
    'result' => $result,
    'seconds' => microtime(true) - $started,
    'hwm_growth' => vm_hwm() - $before,
    'php_peak' => memory_get_peak_usage(),
    'transcript_bytes' => array_sum(array_map(fn($e) => strlen($e['line']), $result['transcript'])),
]);
"""


def measured_send(php, message, transport):
    """rust_mail_send in a fresh php, with its duration and the memory it took at its peak."""
    return php.run(MEASURED_SEND % (php.php_literal(message), php.php_literal(transport))).json()


HOSTILE = {
    "endless multi-line reply": (endless_reply, "protocol", "a reply of more than 1000 lines"),
    "endless long lines": (endless_long_lines, "protocol", "a reply of more than 64 KiB"),
    "greeting line of megabytes": (megabyte_line, "protocol", "a reply line longer than 16 KiB"),
    "EHLO reply of megabytes": (megabyte_ehlo, "protocol", "a reply of more than 64 KiB"),
    "junk before the greeting": (greeting_junk, "protocol", "the server's answer is not SMTP"),
    "one byte a second": (one_byte_a_second, "timeout", "did not answer with its greeting before the timeout"),
    "close in the middle of DATA": (close_in_data, "protocol", "the server closed the connection"),
}


@pytest.mark.parametrize("behaviour, kind, says", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_server_ends_within_the_timeout_in_bounded_memory(php, behaviour, kind, says):
    server = HostileServer(behaviour)
    try:
        measured = measured_send(php, compose(), transport_for(server, timeout=SEND_TIMEOUT))
    finally:
        server.stop()
    result = measured["result"]
    error = assert_failed(result, kind)
    assert says in error["message"], error
    assert measured["seconds"] < SEND_TIMEOUT + 0.5, measured["seconds"]
    assert measured["hwm_growth"] < MAX_GROWTH, measured["hwm_growth"]
    assert measured["transcript_bytes"] <= 256 * 1024 + 200, measured["transcript_bytes"]


def test_many_long_replies_keep_a_truncated_transcript(php):
    """Every reply is under the per-reply limit, so the send succeeds; the transcript stops at 256 KiB
    and says how much it left out."""
    server = HostileServer(many_long_replies)
    recipients = [f"r{i}@example.com" for i in range(10)]
    try:
        measured = measured_send(php, compose(to=recipients), transport_for(server, timeout=SEND_TIMEOUT))
    finally:
        server.stop()
    assert_sent(measured["result"])
    transcript = measured["result"]["transcript"]
    markers = [e["line"] for e in transcript if e["line"].startswith("[transcript truncated")]
    assert len(markers) == 1, markers
    assert re.fullmatch(r"\[transcript truncated at 256 KiB: \d+ later lines \(\d+ bytes\) left out\]", markers[0])
    assert 200 * 1024 < measured["transcript_bytes"] <= 256 * 1024 + 200, measured["transcript_bytes"]
    assert measured["hwm_growth"] < MAX_GROWTH, measured["hwm_growth"]


# ---------------------------------------------------------------- login without TLS

def test_allow_insecure_auth_works_on_loopback(php, smtp_server):
    server = smtp_server(auth={"user": USER, "password": PASSWORD})
    result = send(php, compose(), transport_for(server, auth="plain", username=USER, password=PASSWORD,
                                                allow_insecure_auth=True))
    assert_sent(result)
    assert [a.success for a in server.auth_attempts] == [True]


class RemoteServerNamespace:
    """Two namespaces joined by a veth pair: the client's at CLIENT_ADDRESS and the server's at
    SERVER_ADDRESS, an address that is not loopback and that exists only between the two."""
    CLIENT_ADDRESS, SERVER_ADDRESS = "10.213.77.1", "10.213.77.2"

    def __init__(self):
        self.client, self.server = NetNamespace(), NetNamespace()
        self._process = None
        try:
            link = f"rmv{self.client.name[-6:]}"
            subprocess.run(["ip", "-n", self.client.name, "link", "add", f"{link}a", "type", "veth",
                            "peer", "name", f"{link}b", "netns", self.server.name], check=True)
            for namespace, device, address in ((self.client, f"{link}a", self.CLIENT_ADDRESS),
                                               (self.server, f"{link}b", self.SERVER_ADDRESS)):
                namespace.exec("ip", "addr", "add", f"{address}/30", "dev", device)
                namespace.exec("ip", "link", "set", device, "up")
        except Exception:
            self.destroy()
            raise

    def start_smtp_server(self, **config):
        """A harness SmtpTestServer listening on SERVER_ADDRESS inside the server's namespace."""
        self._process = subprocess.Popen(
            ["ip", "netns", "exec", self.server.name, "/usr/bin/python3", "-m", "harness.serve_smtp",
             self.SERVER_ADDRESS, json.dumps(config)],
            cwd=TESTS_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        return int(self._process.stdout.readline())

    def server_saw(self):
        """Stops the server; returns what it saw (client lines, messages, AUTH attempts)."""
        out, _ = self._process.communicate(timeout=10)
        self._process = None
        return json.loads(out)

    def destroy(self):
        if self._process is not None:
            self._process.kill()
            self._process.wait(5)
        self.client.destroy()
        self.server.destroy()


@pytest.fixture
def remote():
    namespaces = RemoteServerNamespace()
    yield namespaces
    namespaces.destroy()


def test_allow_insecure_auth_is_refused_for_a_peer_off_loopback(php, remote):
    port = remote.start_smtp_server(auth={"user": USER, "password": PASSWORD})
    transport = {"host": remote.SERVER_ADDRESS, "port": port, "security": "opportunistic", "timeout": 5,
                 "auth": "plain", "username": USER, "password": PASSWORD, "allow_insecure_auth": True}
    result = send(remote.client.php(php), compose(), transport)
    error = assert_failed(result, "auth")
    assert error["message"] == (
        f"refusing to send the password without TLS to {remote.SERVER_ADDRESS}:{port}: use security 'starttls' "
        "or 'tls' (allow_insecure_auth applies only to a server on loopback, 127.0.0.0/8 or ::1)")
    assert_no_secret(result, USER, PASSWORD)
    seen = remote.server_saw()
    assert any(line.upper().startswith("EHLO") for line in seen["client_lines"]), seen
    assert not any(line.upper().startswith("AUTH") for line in seen["client_lines"]), seen
    assert seen["auth_attempts"] == [] and seen["messages"] == 0
    sent = "\n".join(seen["client_lines"])
    assert not any(form in sent for form in secret_forms(USER, PASSWORD)), seen
