"""php/examples/send.php and diagnose.php, run from a shell as a developer would, against real servers."""
import pytest

from harness.mail import CREDENTIALS, PASSWORD, USER
from harness.php import run_example


def run_send_example(*args):
    return run_example("send.php", *args, env={"SMTP_PASSWORD": PASSWORD})


def test_send_example_delivers_and_prints_the_transcript(smtp_server):
    server = smtp_server(auth=CREDENTIALS)
    run = run_send_example("--host=127.0.0.1", f"--port={server.port}", "--security=none",
                           f"--username={USER}", "--password-env=SMTP_PASSWORD",
                           "--from=me@example.com", "--to=you@example.com", "--subject=Example run")
    # Credentials without TLS are refused, and the example says so in words.
    assert run.returncode == 1, run.stdout + run.stderr
    assert "not sent (auth)" in run.stdout and "without TLS" in run.stdout, run.stdout
    assert PASSWORD not in run.stdout + run.stderr
    assert server.messages == []

    run = run_send_example("--host=127.0.0.1", f"--port={server.port}",
                           "--from=me@example.com", "--to=you@example.com", "--subject=Example run")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "client MAIL FROM:<me@example.com>" in run.stdout
    assert "sent <" in run.stdout and "to you@example.com" in run.stdout
    [message] = server.messages
    assert message.rcpt_tos == ["you@example.com"]
    assert message.message["Subject"] == "Example run"


def test_send_example_reports_bad_input_without_a_trace(smtp_server):
    run = run_send_example("--host=127.0.0.1", "--port=1", "--from=not an address", "--to=you@example.com")
    assert run.returncode == 2
    assert run.stderr.startswith("invalid input: $message['from'] is not a valid address"), run.stderr


def run_diagnose_example(*args):
    return run_example("diagnose.php", *args, env={"SMTP_PASSWORD": PASSWORD})


def test_diagnose_example_logs_in_with_the_extensions_defaults(smtp_server, certs):
    """No --security, no --auth: a --username means auth 'auto' and the port's default security (opportunistic,
    here on a non-standard port) takes STARTTLS when offered, so the example logs in and sends."""
    server = smtp_server(tls="starttls", auth=CREDENTIALS, auth_require_tls=True)
    run = run_diagnose_example("--host=127.0.0.1", f"--port={server.port}", f"--username={USER}",
                               "--password-env=SMTP_PASSWORD", f"--ca-file={certs.ca}", f"--from={USER}",
                               "--to=you@example.com", "--send-test", "--timeout=20")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Verdict: ok" in run.stdout.splitlines(), run.stdout
    assert [(a.user, a.success) for a in server.auth_attempts] == [(USER, True)], server.session_log
    [message] = server.messages
    assert message.tls and message.auth_user == USER
    assert PASSWORD not in run.stdout + run.stderr


def test_diagnose_example_without_security_does_not_force_starttls(smtp_server):
    """A plain server without STARTTLS on loopback: the default (opportunistic) sends in the clear, where a
    hard-coded starttls would report starttls_unavailable."""
    server = smtp_server()
    run = run_diagnose_example("--host=127.0.0.1", f"--port={server.port}", "--from=me@example.com",
                               "--to=you@example.com", "--send-test", "--timeout=20")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Verdict: ok" in run.stdout.splitlines(), run.stdout
    assert "STARTTLS" not in server.commands()
    assert len(server.messages) == 1 and server.auth_attempts == []


@pytest.mark.parametrize("script, documents", [
    ("diagnose.php", ["--host=", "--security=", "--auth=", "--ca-file=", "--help"]),
    ("send.php", ["--host=", "--from=", "--to=", "--subject=", "--ca-file=", "--password-env=", "--help"]),
])
def test_help_prints_the_usage_on_stdout_and_exits_0(script, documents):
    run = run_example(script, "--help")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stderr == ""
    assert run.stdout.startswith("usage: "), run.stdout
    for option in documents:
        assert option in run.stdout, (option, run.stdout)


@pytest.mark.parametrize("script", ["diagnose.php", "send.php"])
def test_bad_usage_goes_to_stderr_with_exit_2(script):
    run = run_example(script, "--port=25")
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stdout == "" and "--host" in run.stderr and "usage: " in run.stderr, run.stderr


def test_send_example_trusts_the_ca_file_it_is_given(smtp_server, certs):
    server = smtp_server(tls="starttls")
    common = ("--host=127.0.0.1", f"--port={server.port}", "--security=starttls", "--from=me@example.com",
              "--to=you@example.com", "--subject=Over TLS")
    # Without it the test CA is not trusted: the certificate is refused and nothing is sent.
    run = run_send_example(*common)
    assert run.returncode == 1 and "not sent (tls" in run.stdout, run.stdout + run.stderr
    assert server.messages == []

    run = run_send_example(*common, f"--ca-file={certs.ca}")
    assert run.returncode == 0, run.stdout + run.stderr
    [message] = server.messages
    assert message.tls is True and message.message["Subject"] == "Over TLS"
