"""php/examples/send.php, run from a shell as a developer would, against a real server."""
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
