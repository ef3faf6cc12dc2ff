"""The extension's security fixes, asked of both engines (the `engine` fixture: the rust_mail extension, and PHPMailer's
SMTP without it) with the same hostile input and the same expected outcome: a ca_file that is a device, too large or
outside open_basedir; a server whose reply never ends; a login without TLS to a server whose name starts with "127."
but which is not on loopback; bare CR and LF in a message (SMTP smuggling)."""
import base64
import json
import shutil
from pathlib import Path

import pytest

from harness.hostile import HostileServer, endless_long_lines, endless_reply, megabyte_ehlo, megabyte_line
from harness.mail import PASSWORD, USER, secret_forms
from test_security import (SMUGGLED, SMUGGLING_ENDINGS, RemoteServerNamespace,
                           assert_one_message_with_the_smuggled_lines_as_body)
from harness.wpstack import php_string

TIMEOUT = 3


def wp_mail(wp, subject, before="", namespace=None):
    """wp_mail() once, in its own PHP process (after the PHP in `before`): what it returned, how long it took, and the
    log entry it left."""
    outcome = wp.php(
        f"{before}\n$started = microtime(true);\n"
        f"$sent = wp_mail('someone@example.com', {php_string(subject)}, 'Body of the mail');\n"
        "out(array('sent' => $sent, 'seconds' => microtime(true) - $started));", namespace=namespace)
    return outcome, wp.log_rows()[-1]


def failure(row):
    return row["status"], row["error_kind"], row["error_message"]


# ---------------------------------------------------------------- ca_file: the extension's rules for files it reads

def test_a_ca_file_that_is_a_device_is_refused_before_connecting(wp, engine, smtp_server):
    """OpenSSL would read /dev/zero until memory runs out: refused as the extension refuses it."""
    server = smtp_server(tls="starttls")
    wp.set_settings(host="localhost", port=server.port, security="starttls", ca_file="/dev/zero", timeout=TIMEOUT)
    outcome, row = wp_mail(wp, "CA file /dev/zero")
    assert outcome["sent"] is False
    assert failure(row) == ("failed", "invalid_input", "$transport['ca_file'] '/dev/zero' is not a regular file")
    assert server.connections == 0


def test_a_ca_file_over_one_mib_is_refused_before_connecting(wp, engine, smtp_server):
    server = smtp_server(tls="starttls")
    big = wp.dir / "big-ca.pem"
    big.write_bytes(b"x" * (1024 * 1024 + 1))
    wp.set_settings(host="localhost", port=server.port, security="starttls", ca_file=str(big), timeout=TIMEOUT)
    outcome, row = wp_mail(wp, "CA file of 1 MiB and a byte")
    assert outcome["sent"] is False
    assert failure(row) == ("failed", "invalid_input",
                            f"$transport['ca_file'] '{big}' is 1048577 bytes, more than the 1048576 allowed")
    assert server.connections == 0


def test_a_ca_file_outside_open_basedir_is_refused(wp, engine, smtp_server, certs):
    """open_basedir (narrowed at run time, as a host's pool configuration would set it) allows the site and one
    directory: the site's CA there carries the mail, the same CA in a directory beside it is refused unread."""
    inside, outside = wp.dir / "basedir-inside", wp.dir / "basedir-outside"
    for directory in (inside, outside):
        directory.mkdir(exist_ok=True)
        shutil.copy(certs.ca, directory / "ca.pem")
    open_basedir = f"ini_set('open_basedir', {php_string(f'{wp.wp}:{inside}')});"
    server = smtp_server(tls="starttls")
    settings = dict(host="localhost", port=server.port, security="starttls", timeout=TIMEOUT)

    wp.set_settings(ca_file=str(inside / "ca.pem"), **settings)
    outcome, row = wp_mail(wp, "CA file inside open_basedir", before=open_basedir)
    assert outcome["sent"] is True and row["status"] == "sent", failure(row)
    assert [m.message["Subject"] for m in server.messages] == ["CA file inside open_basedir"]

    ca_outside = outside / "ca.pem"
    wp.set_settings(ca_file=str(ca_outside), **settings)
    connections = server.connections
    outcome, row = wp_mail(wp, "CA file outside open_basedir", before=open_basedir)
    assert outcome["sent"] is False
    assert failure(row) == ("failed", "invalid_input", f"$transport['ca_file'] '{ca_outside}' is outside open_basedir: "
                                                       "PHP's open_basedir setting does not allow it")
    assert server.connections == connections and len(server.messages) == 1


# ---------------------------------------------------------------- replies without end

# PHP's memory limit for the send: what the hostile server tests allow a call to add (tests/test_security.py).
MEMORY_LIMIT = "ini_set('memory_limit', '64M');"

HOSTILE = {
    "endless multi-line reply": (endless_reply, "the server sent a reply of more than 1000 lines, the most this client reads"),
    "endless long lines": (endless_long_lines, "the server sent a reply of more than 64 KiB, the most this client reads"),
    "greeting line of megabytes": (megabyte_line, "the server sent a reply line longer than 16 KiB, the most this client reads"),
    "EHLO reply of megabytes": (megabyte_ehlo, "the server sent a reply of more than 64 KiB, the most this client reads"),
}


@pytest.mark.parametrize("behaviour, says", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_reply_without_end_fails_in_bounded_memory(wp, engine, behaviour, says):
    """The reply is refused at the extension's bounds, as a protocol failure that says which bound; the PHP process
    lives on within a 64 MiB memory limit and well within the timeout."""
    server = HostileServer(behaviour)
    try:
        wp.set_settings(port=server.port, timeout=TIMEOUT)
        outcome, row = wp_mail(wp, "To a hostile server", before=MEMORY_LIMIT)
    finally:
        server.stop()
    assert outcome["sent"] is False
    assert failure(row) == ("failed", "protocol", says)
    assert outcome["seconds"] < TIMEOUT, outcome


# ---------------------------------------------------------------- login without TLS

ATTACKER = "127.attacker.example"


@pytest.fixture
def remote():
    """A server off loopback (tests/test_security.py), which PHP in the client's namespace knows as ATTACKER."""
    namespaces = RemoteServerNamespace()
    # `ip netns exec` puts the files of /etc/netns/NAME in place of those of /etc for what it runs.
    etc = Path("/etc/netns") / namespaces.client.name
    try:
        etc.mkdir(parents=True)
        (etc / "hosts").write_text(f"127.0.0.1 localhost\n{RemoteServerNamespace.SERVER_ADDRESS} {ATTACKER}\n")
        yield namespaces
    finally:
        shutil.rmtree(etc, ignore_errors=True)
        namespaces.destroy()


def test_a_login_without_tls_goes_only_to_a_peer_on_loopback(wp, engine, remote):
    """allow_insecure_auth, and a server whose name starts with "127." but whose address is not on loopback: the
    password is not sent, whatever the name says; the error names the address connected to."""
    port = remote.start_smtp_server(auth={"user": USER, "password": PASSWORD})
    wp.set_settings(host=ATTACKER, port=port, security="opportunistic", auth="plain", username=USER,
                    allow_insecure_auth=True, password=PASSWORD, timeout=TIMEOUT)
    outcome, row = wp_mail(wp, "Login in clear", namespace=remote.client.name)
    seen = remote.server_saw()
    assert outcome["sent"] is False
    assert failure(row) == ("failed", "auth", (
        f"refusing to send the password without TLS to {remote.SERVER_ADDRESS}:{port}: use security 'starttls' or "
        "'tls' (allow_insecure_auth applies only to a server on loopback, 127.0.0.0/8 or ::1)"))
    assert row["error_cause"] == "auth_unavailable"
    assert any(line.upper().startswith("EHLO") for line in seen["client_lines"]), seen
    assert seen["auth_attempts"] == [] and seen["messages"] == 0
    assert not any(line.upper().startswith("AUTH") for line in seen["client_lines"]), seen
    sent = "\n".join(seen["client_lines"])
    assert not any(form in sent for form in secret_forms(USER, PASSWORD)), seen
    assert PASSWORD not in json.dumps(row)


# ---------------------------------------------------------------- SMTP smuggling

@pytest.mark.parametrize("ending", SMUGGLING_ENDINGS, ids=[e.encode().hex() for e in SMUGGLING_ENDINGS])
def test_bare_cr_and_lf_cannot_smuggle_a_second_message(wp, engine, smtp_server, ending):
    """A message with a dot line ended by a bare CR or LF, and a whole SMTP transaction after it, through the engine:
    the server receives one message, every line of it ended by CRLF, the dot line stuffed, no command after it."""
    server = smtp_server()
    raw = f"From: a@example.com\r\nTo: b@example.com\r\nSubject: one\r\n\r\nHello{ending}{SMUGGLED}".encode()
    result = wp.php(
        f"$raw = base64_decode('{base64.b64encode(raw).decode()}');\n"
        "out(RustMail_Transport_Registry::send_raw($raw, array('from' => 'a@example.com', 'to' => array('b@example.com')), "
        f"array('host' => '127.0.0.1', 'port' => {server.port}, 'security' => 'none', 'timeout' => {TIMEOUT})));")
    assert result["ok"] is True, result["error"]

    assert_one_message_with_the_smuggled_lines_as_body(server)
    # On the wire (lines as the server split them at CRLF): no bare CR or LF in any line of DATA, the dot lines
    # stuffed, and the message's end the only line that is a dot alone, with nothing but QUIT after it.
    wire = server.client_lines()
    data = wire[wire.index("DATA") + 1:wire.index(".")]
    assert not any("\r" in line or "\n" in line for line in data), data
    assert data[data.index("Hello") + 1] == "..", data
    assert wire[wire.index(".") + 1:] in ([], ["QUIT"]), wire
