"""Benchmark (not a test): how fast the outbox drains a backlog, one connection against parallel ones, in one run.

    RUST_MAIL_SO=target/release/librust_mail.so /usr/bin/python3 tests/bench/bench_drain.py [COUNT]

COUNT (400) mails are queued and held (RUST_MAIL_TEST_HOLD), then drained by the CLI drain (cli/drain.php, as the
system's cron runs it) to smtp-sink behind a delay proxy (a server 20 ms away), with 1 connection (the baseline:
every message after the other over one pooled connection), then with 4 (rust_mail_send_many(), the default).
Prints mails a second and the ratio; every mail is counted at smtp-sink.
"""
import subprocess
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from harness.delayproxy import DelayProxy  # noqa: E402
from harness.php import extension_path  # noqa: E402
from harness.sink import SmtpSink  # noqa: E402
from harness.wpstack import WpStack  # noqa: E402


def drain_rate(stack, sink, count, connections):
    stack.set_constants({"RUST_MAIL_TEST_HOLD": True, "RUST_MAIL_TEST_CONNECTIONS": connections})
    stack.php("global $wpdb; $wpdb->query('TRUNCATE TABLE ' . RustMail_Log_Store::table()); out(true);")
    stack.php(f"for ($i = 0; $i < {count}; $i++) {{ wp_mail(\"r$i@example.com\", \"Backlog $i\", 'x'); }} out(true);")
    before = sink.counts()["mesg"]
    started = time.perf_counter()
    while sink.counts()["mesg"] - before < count and time.perf_counter() - started < 600:
        subprocess.run([str(stack.dir / "bin" / "php"), str(stack.wp / "wp-content/plugins/rust-mail/cli/drain.php"),
                        str(stack.wp), stack.host], check=True, capture_output=True, timeout=600)
    seconds = time.perf_counter() - started
    assert sink.counts()["mesg"] - before == count, "smtp-sink did not get every mail once"
    return count / seconds


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    stack = WpStack(extension_path()).up()
    sink = SmtpSink()
    proxy = DelayProxy(sink.host, sink.port, 0.010)
    try:
        stack.set_settings(port=proxy.port, delivery="queued")
        one = drain_rate(stack, sink, count, 1)
        four = drain_rate(stack, sink, count, 4)
        print(f"Draining {count} queued mails with cli/drain.php to smtp-sink 20 ms away (delay proxy)")
        print("| connections | mails/s | ratio |\n|---|---|---|")
        print(f"| 1 (one after the other) | {one:,.1f} | 1.0x |")
        print(f"| 4 (rust_mail_send_many) | {four:,.1f} | {four / one:.1f}x |")
    finally:
        proxy.stop()
        sink.stop()
        stack.purge()


if __name__ == "__main__":
    main()
