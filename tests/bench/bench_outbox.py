"""Benchmark (not a test): what the outbox costs a page, and how fast it drains. Figures for the outbox issue's note.

    RUST_MAIL_SO=target/release/librust_mail.so /usr/bin/python3 tests/bench/bench_outbox.py [REQUESTS [COUNT]]

1. Page response time of a WordPress page that calls wp_mail() (tests/wp/mu-plugins/load-page.php), through nginx
   and PHP-FPM, against an SMTP server 20 ms away (a delay proxy, 10 ms each way) with STARTTLS and AUTH PLAIN:
   stock WordPress (PHPMailer, a new connection per mail) as the baseline, then the plugin in immediate and in queued
   mode; REQUESTS (200) sequential requests each, median and p99, and each ratio to the baseline. Every mail is
   counted at the server.
2. Throughput: COUNT (5,000) mails queued by one PHP process (nothing sent after the response) and drained by the
   CLI drain to smtp-sink on loopback, first one after the other, then with the drain running while the mails are
   queued (as cron and other requests drain while a site sends); end to end mails a second, against the same COUNT
   sent in immediate mode by one PHP process, measured in the same run.
"""
import threading
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from harness.certs import CertificateSet  # noqa: E402
from harness.delayproxy import DelayProxy  # noqa: E402
from harness.php import extension_path  # noqa: E402
from harness.sink import SmtpSink  # noqa: E402
from harness.smtpserver import ServerConfig, SmtpTestServer  # noqa: E402
from harness.wpstack import WpStack  # noqa: E402

USER, PASSWORD = "bench", "bench-password"


def page_times(stack, mode, requests, query=""):
    times = []
    for n in range(requests + 10):
        started = time.perf_counter()
        with urllib.request.urlopen(f"{stack.url}/?rust_mail_load={mode}-{n}{query}", timeout=60) as response:
            body = response.read().decode()
        if n >= 10:  # the first ten warm the workers (and their pooled connections)
            times.append((time.perf_counter() - started) * 1000)
        assert body.startswith("sent"), body
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def received(server, mode):
    return sum(1 for m in server.messages if m.message["Subject"].startswith(f"rust_mail_load {mode}-"))


def wait_for(server, mode, count, seconds=60):
    deadline = time.time() + seconds
    while received(server, mode) < count and time.time() < deadline:
        time.sleep(0.2)
    return received(server, mode)


def page_benchmark(stack, certs, requests):
    server = SmtpTestServer(ServerConfig(tls="starttls", auth={"user": USER, "password": PASSWORD},
                                         pipelining=True), certs).start()
    proxy = DelayProxy(server.host, server.port, 0.010)
    ca_file = stack.dir / "bench-ca.pem"
    shutil.copy(certs.ca, ca_file)
    ca_file.chmod(0o644)
    rows = []
    try:
        stack.set_settings(port=proxy.port)
        page_median, page_p99 = page_times(stack, "none", requests, "&no_mail=1")
        # "queued-cron": queued, but sent by the CLI drain afterwards instead of after each response, to tell the
        # page's own cost from the CPU the previous response's send takes on a small machine.
        for mode in ["stock", "immediate", "queued", "queued-cron"]:
            if mode == "stock":
                stack.set_constants({"RUST_MAIL_TEST_BASELINE_PORT": proxy.port, "RUST_MAIL_TEST_BASELINE_USER": USER,
                                     "RUST_MAIL_TEST_BASELINE_PASSWORD": PASSWORD})
            else:
                stack.set_constants({"RUST_MAIL_TEST_HOLD": mode == "queued-cron"})
                stack.set_settings(port=proxy.port, security="starttls", auth="plain", username=USER,
                                   password=PASSWORD, ca_file=str(ca_file), delivery=mode.split("-")[0])
            median, p99 = page_times(stack, mode, requests)
            if mode == "queued-cron":
                cli_drain(stack)
            rows.append((mode, median, p99, wait_for(server, mode, requests + 10), requests + 10))
    finally:
        proxy.stop()
        server.stop()
    stock = rows[0]
    print(f"\nPage that calls wp_mail(), {requests} requests, server 20 ms away, STARTTLS + AUTH PLAIN")
    print(f"(the same page without wp_mail(): median {page_median:.1f} ms, p99 {page_p99:.1f} ms)")
    print("| delivery | median ms | p99 ms | added to the page, median / p99 ms | median vs stock | mails sent / received |")
    print("|---|---|---|---|---|---|")
    for mode, median, p99, got, sent in rows:
        print(f"| {mode} | {median:.1f} | {p99:.1f} | {median - page_median:.1f} / {p99 - page_p99:.1f} "
              f"| {median / stock[1]:.3f} | {sent} / {got} |")


def php_seconds(stack, code):
    return stack.php(f"$t = hrtime(true);\n{code}\nout((hrtime(true) - $t) / 1e9);")


def unsent(stack):
    return stack.php("global $wpdb; out((int) $wpdb->get_var('SELECT COUNT(*) FROM ' . RustMail_Log_Store::table() . \" WHERE status <> 'sent'\"));")


def cli_drain(stack):
    subprocess.run([str(stack.dir / "bin" / "php"), str(stack.wp / "wp-content/plugins/rust-mail/cli/drain.php"),
                    str(stack.wp), stack.host], check=True, capture_output=True, timeout=600)


def throughput_benchmark(stack, count):
    sink = SmtpSink()
    mail_loop = f"for ($i = 0; $i < {count}; $i++) {{ wp_mail(\"r$i@example.com\", \"Throughput $i\", 'x'); }}"
    try:
        stack.clear_constants()
        stack.set_settings(port=sink.port, delivery="immediate")
        immediate = php_seconds(stack, mail_loop)
        stack.set_settings(port=sink.port, delivery="queued")
        stack.set_constants({"RUST_MAIL_TEST_HOLD": True})
        stack.php("global $wpdb; $wpdb->query('TRUNCATE TABLE ' . RustMail_Log_Store::table()); out(true);")
        queued = php_seconds(stack, mail_loop)
        started = time.perf_counter()
        cli_drain(stack)
        drained = time.perf_counter() - started
        left = unsent(stack)

        stack.php("global $wpdb; $wpdb->query('TRUNCATE TABLE ' . RustMail_Log_Store::table()); out(true);")
        started = time.perf_counter()
        storing = threading.Thread(target=php_seconds, args=(stack, mail_loop))
        storing.start()
        while storing.is_alive() or unsent(stack):
            cli_drain(stack)
        together = time.perf_counter() - started
        left += unsent(stack)
    finally:
        sink.stop()
    in_turn = queued + drained
    print(f"\nThroughput, {count} mails to smtp-sink on loopback ({left} not sent)")
    print("| path | seconds | mails/s | vs immediate |")
    print("|---|---|---|---|")
    print(f"| immediate, one PHP process | {immediate:.2f} | {count / immediate:.0f} | 1.000 |")
    print(f"| queued: store in one PHP process | {queued:.2f} | {count / queued:.0f} | {immediate / queued:.3f} |")
    print(f"| queued: drain by the CLI | {drained:.2f} | {count / drained:.0f} | {immediate / drained:.3f} |")
    print(f"| queued, stored then drained | {in_turn:.2f} | {count / in_turn:.0f} | {immediate / in_turn:.3f} |")
    print(f"| queued, drained while stored | {together:.2f} | {count / together:.0f} | {immediate / together:.3f} |")


def main():
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    stack = WpStack(extension_path()).up()
    (stack.dir / "certs").mkdir()
    certs = CertificateSet(stack.dir / "certs")
    try:
        page_benchmark(stack, certs, requests)
        throughput_benchmark(stack, count)
    finally:
        stack.purge()


if __name__ == "__main__":
    main()
