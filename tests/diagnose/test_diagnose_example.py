"""php/examples/diagnose.php, run from a shell as a developer would, against real servers."""
import re
import subprocess

from harness.diag_support import FROM, STEP_NAMES, TO
from harness.mail import CREDENTIALS, PASSWORD, USER
from harness.php import EXAMPLES, run_example as run_php_example


def run_example(*args):
    return run_php_example("diagnose.php", *args, env={"SMTP_PASSWORD": PASSWORD})


def step_rows(stdout):
    """{step: (status, column where the status starts)} from the printed table."""
    rows = {}
    for line in stdout.splitlines():
        match = re.match(r"^(\w+)(\s+)(OK|WARN|FAIL|SKIP)\s", line)
        if match and match.group(1) in STEP_NAMES:
            rows[match.group(1)] = (match.group(3), match.start(3))
    return rows


def test_example_prints_an_aligned_table_and_the_verdict(certs, smtp_server):
    server = smtp_server(tls="starttls", auth=CREDENTIALS, auth_require_tls=True)
    run = run_example("--host=127.0.0.1", f"--port={server.port}", "--security=starttls", "--auth=login",
                      f"--username={USER}", "--password-env=SMTP_PASSWORD", f"--ca-file={certs.ca}",
                      f"--from={FROM}", f"--to={TO}", "--send-test", "--timeout=20")
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert re.match(r"^STEP\s+STATUS\s+TIME\s+DETAIL$", lines[0]), run.stdout
    rows = step_rows(run.stdout)
    assert list(rows) == STEP_NAMES, run.stdout
    # With a login the From domain's records are not checked (only for direct send and relays).
    assert rows.pop("sender_dns")[0] == "SKIP", run.stdout
    assert {status for status, _ in rows.values()} == {"OK"}, run.stdout
    assert len({column for _, column in step_rows(run.stdout).values()} | {lines[0].index("STATUS")}) == 1, "columns are aligned"
    assert "Verdict: ok" in lines, run.stdout
    assert any(line.startswith("Summary: ") for line in lines), run.stdout
    assert PASSWORD not in run.stdout + run.stderr
    assert len(server.messages) == 1


def test_example_reports_a_failure_with_advice_and_exit_status(smtp_server, closed_port):
    closed = closed_port
    run = run_example("--host=127.0.0.1", f"--port={closed}", "--security=none", "--scan-ports=%d" % closed,
                      "--timeout=5")
    assert run.returncode == 1, run.stdout + run.stderr
    rows = step_rows(run.stdout)
    assert rows["tcp"][0] == "FAIL" and rows["send"][0] == "SKIP", run.stdout
    assert re.search(rf"^{closed}\s+refused\s+-$", run.stdout, re.M), run.stdout
    assert "Verdict: connection_refused" in run.stdout
    assert re.search(rf"^  - .*port {closed}", run.stdout, re.M), run.stdout


def test_example_without_extension_or_host_explains_usage():
    run = subprocess.run(["php", "-n", str(EXAMPLES / "diagnose.php"), "--host=x"], capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and "extension is not loaded" in run.stderr
    run = run_example("--port=25")
    assert run.returncode == 2 and "--host" in run.stderr
