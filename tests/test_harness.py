"""Self-tests of the harness: the fixtures are driven by independent clients
(python's smtplib, swaks, the plain PHP CLI) and what they record is checked."""
import base64
import errno
import json
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from harness import fastcgi
from harness.fpm import PhpFpm
from harness.php import PhpRunner
from harness.ports import spawn_listening, start_on_a_port
from harness.sink import find_smtp_sink
from harness.smtpserver import XOAUTH2_ERROR

MESSAGE = (b"From: Sender <sender@example.com>\r\nTo: rcpt@example.com\r\nSubject: harness\r\n\r\n"
           b"first line\r\n.leading dot survives\r\n")
CREDS = {"user": "alice", "password": "S3ntinel-Pa55", "token": "tok-S3ntinel"}


def client_context(certs):
    return ssl.create_default_context(cafile=certs.ca)


def xoauth2(user, token):
    return base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode()


def test_plain_delivery_is_recorded(smtp_server):
    server = smtp_server()
    with smtplib.SMTP(server.host, server.port) as client:
        client.sendmail("sender@example.com", ["rcpt@example.com", "two@example.com"], MESSAGE)
    [received] = server.messages
    assert received.mail_from == "sender@example.com"
    assert received.rcpt_tos == ["rcpt@example.com", "two@example.com"]
    assert received.raw == MESSAGE
    assert received.message["Subject"] == "harness"
    assert received.message.get_content() == "first line\n.leading dot survives\n"
    assert received.tls is False and received.auth_user is None
    assert server.connections == 1
    assert "MAIL" in server.commands() and "AUTH" not in server.commands()


def test_banner_and_no_auth_advertised_by_default(smtp_server):
    server = smtp_server(banner="relay.example.net ESMTP Hello")
    with smtplib.SMTP(server.host, server.port) as client:
        code, ehlo = client.ehlo("me")
        assert code == 250
        assert not client.has_extn("auth")
        assert not client.has_extn("starttls")
    assert "S: 220 relay.example.net ESMTP Hello" in server.session_log


def test_starttls_verified_by_test_ca_and_logged(smtp_server, certs):
    server = smtp_server(tls="starttls")
    with smtplib.SMTP(server.host, server.port) as client:
        client.starttls(context=client_context(certs))
        client.sendmail("sender@example.com", ["rcpt@example.com"], MESSAGE)
    assert server.messages[0].tls is True
    assert server.log_index("C: STARTTLS") < server.log_index("-- TLS") < server.log_index("C: MAIL FROM:")


def test_implicit_tls(smtp_server, certs):
    server = smtp_server(tls="implicit")
    with smtplib.SMTP_SSL(server.host, server.port, context=client_context(certs)) as client:
        client.sendmail("sender@example.com", ["rcpt@example.com"], MESSAGE)
    assert server.messages[0].tls is True
    assert server.session_log[1] == "-- TLS established"


@pytest.mark.parametrize("name, reason", [
    ("expired", "certificate has expired"),
    ("wrongname", "mismatch"),
    ("selfsigned", "self-signed certificate"),
])
def test_bad_certificates_fail_verification(smtp_server, certs, name, reason):
    server = smtp_server(tls="implicit", cert=name)
    with pytest.raises(ssl.SSLCertVerificationError, match=reason):
        smtplib.SMTP_SSL(server.host, server.port, context=client_context(certs), timeout=5)


def test_tls_max_version_refuses_tls13_only_client(smtp_server, certs):
    server = smtp_server(tls="implicit", tls_max_version="1.2")
    context = client_context(certs)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    with pytest.raises(ssl.SSLError):
        smtplib.SMTP_SSL(server.host, server.port, context=context, timeout=5)


def test_require_starttls_refuses_mail_in_clear(smtp_server):
    server = smtp_server(tls="starttls", require_starttls=True)
    with smtplib.SMTP(server.host, server.port) as client:
        client.ehlo("me")
        code, _ = client.mail("sender@example.com")
        assert code == 530
    assert server.messages == []


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_password_auth_after_starttls(smtp_server, certs, mechanism):
    server = smtp_server(tls="starttls", auth=CREDS, auth_mechanisms=[mechanism], auth_require_tls=True)
    with smtplib.SMTP(server.host, server.port) as client:
        client.ehlo("me")
        assert not client.has_extn("auth"), "AUTH must not be offered before TLS"
        client.starttls(context=client_context(certs))
        client.ehlo("me")
        assert client.esmtp_features["auth"].split() == [mechanism]
        client.login("alice", CREDS["password"])
        client.sendmail("sender@example.com", ["rcpt@example.com"], MESSAGE)
    assert [(a.mechanism, a.user, a.success) for a in server.auth_attempts] == [(mechanism, "alice", True)]
    assert server.messages[0].auth_user == "alice"


def test_wrong_password_and_scripted_auth_reply(smtp_server):
    server = smtp_server(auth=CREDS, auth_mechanisms=["PLAIN"])
    with smtplib.SMTP(server.host, server.port) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
            client.login("alice", "wrong")
    assert wrong.value.smtp_code == 535
    assert server.auth_attempts[0].success is False

    scripted = smtp_server(auth=CREDS, replies={"auth": "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant"})
    with smtplib.SMTP(scripted.host, scripted.port) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as disabled:
            client.login("alice", CREDS["password"])
    assert b"5.7.139" in disabled.value.smtp_error
    assert scripted.auth_attempts[0].success is False


def test_xoauth2_success_and_microsoft_style_failure(smtp_server):
    server = smtp_server(auth=CREDS, auth_mechanisms=["XOAUTH2"])
    with smtplib.SMTP(server.host, server.port) as client:
        client.ehlo("me")
        code, challenge = client.docmd("AUTH", "XOAUTH2 " + xoauth2("alice", "bad-token"))
        assert code == 334 and json.loads(base64.b64decode(challenge)) == XOAUTH2_ERROR
        code, reply = client.docmd("")
        assert code == 535 and reply.startswith(b"5.7.3")
        code, _ = client.docmd("AUTH", "XOAUTH2 " + xoauth2("alice", CREDS["token"]))
        assert code == 235
    assert [(a.user, a.success) for a in server.auth_attempts][-2:] == [("alice", False), ("alice", True)]


def test_scripted_envelope_and_data_replies(smtp_server):
    server = smtp_server(replies={"rcpt:bad@example.com": "550 5.1.1 User unknown", "data": "451 4.3.0 try later"})
    with smtplib.SMTP(server.host, server.port) as client:
        client.ehlo("me")
        client.mail("sender@example.com")
        assert client.rcpt("bad@example.com") == (550, b"5.1.1 User unknown")
        assert client.rcpt("good@example.com")[0] == 250
        assert client.data(MESSAGE) == (451, b"4.3.0 try later")
    assert server.messages == []

    refusing = smtp_server(replies={"mail": "550 5.7.60 SendAsDenied"})
    with smtplib.SMTP(refusing.host, refusing.port) as client:
        client.ehlo("me")
        assert client.mail("sender@example.com") == (550, b"5.7.60 SendAsDenied")


def test_connection_count_and_close_connections(smtp_server):
    server = smtp_server()
    with smtplib.SMTP(server.host, server.port) as client:
        client.sendmail("a@example.com", ["b@example.com"], MESSAGE)
        client.sendmail("a@example.com", ["b@example.com"], MESSAGE)
        assert server.connections == 1
        server.close_connections()
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.noop()
    with smtplib.SMTP(server.host, server.port) as client:
        client.noop()
    assert server.connections == 2
    assert len(server.messages) == 2


def test_idle_timeout_drops_connection(smtp_server):
    server = smtp_server(idle_timeout=0.5)
    with smtplib.SMTP(server.host, server.port) as client:
        client.noop()
        time.sleep(1.0)
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.noop()


def test_silent_server_never_greets(silent_server):
    with socket.create_connection((silent_server.host, silent_server.port), 2) as sock:
        sock.settimeout(0.5)
        with pytest.raises(socket.timeout):
            sock.recv(1)


def test_smtp_sink_accepts_and_counts_mail(smtp_sink):
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port) as client:
        assert client.sendmail("a@example.com", ["b@example.com"], MESSAGE) == {}
        assert client.sendmail("a@example.com", ["b@example.com"], MESSAGE) == {}
    expected = {"sess": 1, "quit": 1, "mesg": 2}
    deadline = time.monotonic() + 10
    while smtp_sink.counts() != expected and time.monotonic() < deadline:  # counters lag the replies, more so on a busy machine
        time.sleep(0.05)
    assert smtp_sink.counts() == expected


def start_smtp_sink(attempts, host="127.0.0.1"):
    """A start(port) for start_on_a_port: smtp-sink told to listen on host:`port`. Each port it is given goes to
    `attempts`."""
    def start(port):
        attempts.append(port)
        return spawn_listening([find_smtp_sink(), "-u", "nobody", f"{host}:{port}", "10"], host, port,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return start


def test_daemon_told_a_taken_port_is_started_again_on_another():
    # Another process listens on the port first: smtp-sink cannot bind it (while a connect there would succeed).
    with socket.create_server(("127.0.0.1", 0)) as taken:
        taken_port = taken.getsockname()[1]
        attempts = []
        port, sink = start_on_a_port(start_smtp_sink(attempts), first=taken_port)
        try:
            assert attempts[0] == taken_port and port == attempts[-1] != taken_port, attempts
            assert sink.poll() is None
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
                assert client.ehlo("me")[0] == 250
                assert client.sendmail("a@example.com", ["b@example.com"], MESSAGE) == {}
        finally:
            sink.terminate()
            sink.wait(5)


def test_daemon_failing_for_another_reason_is_not_started_again():
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: no port there can be bound, none is taken.
    attempts = []
    with pytest.raises(RuntimeError, match="exited"):
        start_on_a_port(start_smtp_sink(attempts, host="192.0.2.1"), host="192.0.2.1")
    assert len(attempts) == 1


def test_closed_port_refuses_connects_and_no_server_can_take_it(closed_port):
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", closed_port), 2)
    with pytest.raises(OSError) as taken:
        socket.create_server(("127.0.0.1", closed_port))  # SO_REUSEADDR, as servers set it
    assert taken.value.errno == errno.EADDRINUSE


def test_swaks_starttls_auth_plain(smtp_server, certs):
    server = smtp_server(tls="starttls", auth=CREDS, auth_require_tls=True)
    swaks = subprocess.run(
        ["swaks", "--server", f"{server.host}:{server.port}", "--tls", "--tls-ca-path", certs.ca, "--tls-verify",
         "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", CREDS["password"],
         "--from", "sender@example.com", "--to", "rcpt@example.com", "--header", "Subject: via swaks"],
        capture_output=True, text=True, timeout=30)
    assert swaks.returncode == 0, swaks.stdout + swaks.stderr
    [received] = server.messages
    assert received.message["Subject"] == "via swaks" and received.tls and received.auth_user == "alice"
    commands = server.commands()
    assert commands.index("STARTTLS") < commands.index("AUTH")


def test_phpcall_round_trips_binary_and_exceptions():
    php = PhpRunner(None)  # the bare PHP CLI: proves the JSON bridge without the extension
    assert php.call("strrev", b"\xff\xfeA") == (b"A\xfe\xff", None)
    assert php.call("array_merge", {"k": "v"}, ["x"]) == ({"k": "v", "0": "x"}, None)
    result, exception = php.call("intdiv", 1, 0)
    assert result is None
    assert exception["class"] == "DivisionByZeroError" and "by zero" in exception["message"]
    php.call("usleep", 300_000)
    assert 0.3 <= php.last_elapsed < 5, "last_elapsed is the wall time of the whole PHP call"
    run = php.run('harness_print(["pid" => getmypid() > 0, "bytes" => "\\x80"]);')
    assert run.json() == {"pid": True, "bytes": b"\x80"}
    literal = php.php_literal({"a": b"\x00\xff"})
    assert php.run(f"harness_print({literal});").json() == {"a": b"\x00\xff"}


def test_fastcgi_client_against_fpm_without_extension(tmp_path):
    fpm = PhpFpm(tmp_path, None, workers=2)
    try:
        script = tmp_path / "echo.php"
        script.write_text("<?php header('X-Test: yes'); echo json_encode(['pid' => getmypid(), 'n' => $_GET['n']]);")
        answers = [fastcgi.request(fpm.address, str(script), f"n={n}") for n in range(4)]
        assert [(a.status, a.headers["X-Test"]) for a in answers] == [(200, "yes")] * 4
        assert [json.loads(a.body)["n"] for a in answers] == ["0", "1", "2", "3"]
        assert {json.loads(a.body)["pid"] for a in answers} <= set(fpm.worker_pids())
        assert len(fpm.worker_pids()) == 2
    finally:
        fpm.stop()
