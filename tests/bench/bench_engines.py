"""Benchmark (not a test): wp_mail() on each engine against stock WordPress, in one run, to smtp-sink on loopback.

    RUST_MAIL_SO=target/release/librust_mail.so /usr/bin/python3 tests/bench/bench_engines.py [COUNT]

One PHP process (the site's CLI, wp-load.php first) calls wp_mail() COUNT (200) times for each of: stock WordPress
(PHPMailer, a connection per mail: the baseline), the plugin on the PHPMailer engine (PHP without the extension: one
connection for the request, the message in one write) and the plugin on the extension (pooled, pipelined). Delivery
is immediate, so each wp_mail() waits for the server. Prints mails a second and the ratio to stock; every mail is
counted at smtp-sink.
"""
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from harness.php import extension_path  # noqa: E402
from harness.sink import SmtpSink  # noqa: E402
from harness.wpstack import WpStack  # noqa: E402

LOOP = "$t = microtime(true); for ($i = 0; $i < {count}; $i++) {{ wp_mail('to@example.com', 'Bench ' . $i, 'Body'); }} out(microtime(true) - $t);"


def rate(stack, sink, count, env=None):
    before = sink.counts()["mesg"]
    seconds = stack.php(LOOP.format(count=count), env=env)
    deadline = time.time() + 10
    while sink.counts()["mesg"] - before < count and time.time() < deadline:
        time.sleep(0.05)
    assert sink.counts()["mesg"] - before == count, "smtp-sink did not get every mail"
    return count / seconds


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    stack = WpStack(extension_path()).up()
    sink = SmtpSink()
    try:
        stack.set_settings(port=sink.port)
        rates = {"stock WordPress (PHPMailer, a connection per mail)": rate(stack, sink, count, {"RUST_MAIL_TEST_BASELINE_PORT": str(sink.port)})}
        stack.use_engine("phpmailer")
        rates["plugin, PHPMailer engine (no extension)"] = rate(stack, sink, count)
        stack.use_engine("extension")
        rates["plugin, rust_mail extension"] = rate(stack, sink, count)
        baseline = next(iter(rates.values()))
        print(f"{count} wp_mail() calls in one PHP process to smtp-sink on loopback, immediate delivery")
        print("| engine | mails/s | ratio to stock |\n|---|---|---|")
        for name, value in rates.items():
            print(f"| {name} | {value:,.1f} | {value / baseline:.1f}x |")
    finally:
        sink.stop()
        stack.purge()


if __name__ == "__main__":
    main()
