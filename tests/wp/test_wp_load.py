"""PHP-FPM under load: wrk requests a WordPress page that calls wp_mail() (mu-plugins/load-page.php), each request
with a unique id, through the stack's nginx and its PHP-FPM pool (pm static, 4 workers), for RUST_MAIL_LOAD_SECONDS
(20 by default; README.md's "Hardening runs" gives the long run). Every request must succeed, no worker may crash,
every mail must arrive exactly once, and the workers' memory must stay flat from the middle of the run to its end."""
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

# In the soak tier (pytest -m soak): PHP-FPM under load for RUST_MAIL_LOAD_SECONDS.
pytestmark = pytest.mark.soak

SECONDS = int(os.environ.get("RUST_MAIL_LOAD_SECONDS", "20"))
CONNECTIONS = 4   # one per FPM worker: they are all kept busy
WRK_SCRIPT = Path(__file__).resolve().parent / "load.lua"
MAX_WORKER_GROWTH_KIB = 4 * 1024
SUBJECT_ID = re.compile(r"^rust_mail_load (\S+)$")


def fpm_workers(wp):
    master = (wp.dir / "run" / "php-fpm.pid").read_text().strip()
    return sorted(int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split())


def rss_kib(pid):
    return int(re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M).group(1))


def read_answers(path):
    """(ids answered "sent", failed answers, ids requested) from the file load.lua writes."""
    sent, failed, issued = [], [], set()
    for line in path.read_text().splitlines():
        kind, rest = line.split(" ", 1)
        if kind == "sent":
            sent.append(rest)
        elif kind == "failed":
            failed.append(rest)
        else:
            prefix, count = rest.split()
            issued.update(f"{prefix}-{n}" for n in range(1, int(count) + 1))
    return sent, failed, issued


def received_ids(server, at_least):
    """Ids in the subjects of the captured mails, once mails have stopped arriving (requests still in flight when
    wrk stopped finish after it)."""
    deadline = time.monotonic() + 30
    count = server.count()
    while time.monotonic() < deadline:
        time.sleep(1)
        settled, count = count, server.count()
        if count == settled and count >= at_least:
            break
    return [SUBJECT_ID.match(m.message["Subject"]).group(1) for m in server.messages()]


def test_wp_mail_under_load_from_fpm_workers(wp, capture, tmp_path, capsys):
    server = capture()
    wp.set_settings(port=server.port)
    fpm_log = wp.dir / "logs" / "php-fpm.log"
    log_start = fpm_log.stat().st_size
    workers = fpm_workers(wp)
    assert len(workers) == 4

    answers_file = tmp_path / "answers.txt"
    wrk = subprocess.Popen(
        ["wrk", "--latency", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{SECONDS}s", "--timeout", "30s",
         "-s", str(WRK_SCRIPT), wp.url],
        env={**os.environ, "RUST_MAIL_LOAD_IDS": str(answers_file)}, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(SECONDS / 2)
        rss_middle = {pid: rss_kib(pid) for pid in workers}
        report, _ = wrk.communicate(timeout=SECONDS + 60)
    finally:
        if wrk.poll() is None:
            wrk.kill()
            wrk.wait()
    rss_end = {pid: rss_kib(pid) for pid in workers}
    assert wrk.returncode == 0, report

    sent, failed, issued = read_answers(answers_file)
    requests_per_second = re.search(r"Requests/sec:\s+([\d.]+)", report).group(1)
    p99 = re.search(r"^\s+99%\s+(\S+)", report, re.M).group(1)
    with capsys.disabled():
        print(f"\nwrk {SECONDS} s, {CONNECTIONS} connections: {len(sent)} mails sent, {requests_per_second} requests/s, "
              f"p99 {p99}; FPM worker VmRSS KiB middle {sorted(rss_middle.values())} end {sorted(rss_end.values())}")

    assert sent, report
    assert failed == [], failed[:5]
    assert "Non-2xx" not in report and "Socket errors" not in report, report

    new_log = fpm_log.read_text()[log_start:]
    assert "exited on signal" not in new_log and "SIGSEGV" not in new_log, new_log
    assert fpm_workers(wp) == workers, "a worker was replaced during the run"

    received = received_ids(server, at_least=len(sent))
    assert len(received) == len(set(received)), "a mail arrived twice"
    in_flight = issued - set(sent)
    assert set(sent) <= set(received), f"mails of successful requests missing: {sorted(set(sent) - set(received))[:5]}"
    # Only a request wrk stopped waiting for may have sent a mail without being counted as a success.
    assert set(received) - set(sent) <= in_flight and len(set(received) - set(sent)) <= CONNECTIONS

    growth = {pid: rss_end[pid] - rss_middle[pid] for pid in workers}
    assert max(growth.values()) < MAX_WORKER_GROWTH_KIB, f"worker VmRSS growth KiB: {growth}"
