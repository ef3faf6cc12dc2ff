"""Benchmark (not a test): consecutive sends to Postfix's smtp-sink from one php process.

    RUST_MAIL_SO=target/release/librust_mail.so /usr/bin/python3 tests/bench/bench_send.py [COUNT [DELAY_MS]]

Compares rust_mail_send() pooled and with pool=false against the baseline a
WordPress site has today: PHPMailer (Debian's wordpress copy) over SMTP with
SMTPKeepAlive off, i.e. one connection per message; and PHPMailer with
SMTPKeepAlive on, its best case. All measured in this run.

With DELAY_MS, every packet crosses a proxy that delays it DELAY_MS each way
(a server 2 x DELAY_MS round trip away), where round trips, not CPU, decide:
smtp-sink offers PIPELINING, which rust_mail_send uses and PHPMailer does not.
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.php import PhpRunner, extension_path  # noqa: E402
from harness.delayproxy import DelayProxy  # noqa: E402
from harness.sink import SmtpSink  # noqa: E402

PHPMAILER_DIR = "/usr/share/wordpress/wp-includes/PHPMailer"
SUBJECT = "benchmark"
BODY = "A short benchmark message.\n" * 20

RUST_LOOP = """
$message = {message};
$transport = {transport};
$started = hrtime(true);
for ($i = 0; $i < {count}; $i++) {{
    $result = rust_mail_send($message, $transport);
    if (!$result['ok']) {{ fwrite(STDERR, json_encode($result['error'])); exit(1); }}
}}
harness_print(['seconds' => (hrtime(true) - $started) / 1e9]);
"""

# One PHPMailer object for all messages, as a keep-alive connection needs (WordPress keeps its own in $phpmailer).
PHPMAILER_LOOP = """
foreach (['Exception', 'PHPMailer', 'SMTP'] as $file) {{ require '{dir}/' . $file . '.php'; }}
$mail = new \\PHPMailer\\PHPMailer\\PHPMailer(true);
$mail->isSMTP();
$mail->Host = '{host}';
$mail->Port = {port};
$mail->SMTPAuth = false;
$mail->SMTPAutoTLS = false;
$mail->SMTPKeepAlive = {keepalive};
$mail->setFrom('bench@example.com', 'Bench');
$mail->Subject = '{subject}';
$mail->Body = {body};
$started = hrtime(true);
for ($i = 0; $i < {count}; $i++) {{
    $mail->clearAddresses();
    $mail->addAddress('sink@example.com');
    $mail->send();
}}
harness_print(['seconds' => (hrtime(true) - $started) / 1e9]);
"""


def measured(sink, count, run_loop):
    """(ms per message, connections opened), checking smtp-sink really accepted every message."""
    before = sink.counts()
    seconds = run_loop().json()["seconds"]
    time.sleep(0.3)  # smtp-sink's counters lag its replies slightly
    after = sink.counts()
    accepted = after["mesg"] - before["mesg"]
    if accepted != count:
        raise RuntimeError(f"smtp-sink accepted {accepted} of {count} messages")
    return seconds * 1000 / count, after["sess"] - before["sess"]


def bench_rust(php, sink, target, count, pool):
    message = {"from": "Bench <bench@example.com>", "to": "sink@example.com", "subject": SUBJECT, "text": BODY}
    transport = {"host": target.host, "port": target.port, "security": "none", "timeout": 30, "pool": pool}
    code = RUST_LOOP.format(message=php.php_literal(message), transport=php.php_literal(transport), count=count)
    return measured(sink, count, lambda: php.run(code, timeout=600))


def bench_phpmailer(php, sink, target, count, keepalive):
    code = PHPMAILER_LOOP.format(dir=PHPMAILER_DIR, host=target.host, port=target.port, count=count,
                                 subject=SUBJECT, body=php.php_literal(BODY), keepalive=str(keepalive).lower())
    return measured(sink, count, lambda: php.run(code, timeout=600))


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    delay_ms = float(sys.argv[2]) if len(sys.argv) > 2 else 0
    php = PhpRunner(extension_path())
    sink = SmtpSink()
    proxy = DelayProxy(sink.host, sink.port, delay_ms / 1000) if delay_ms else None
    target = proxy or sink
    try:
        results = {
            "PHPMailer, SMTPKeepAlive off (baseline)": bench_phpmailer(php, sink, target, count, keepalive=False),
            "PHPMailer, SMTPKeepAlive on": bench_phpmailer(php, sink, target, count, keepalive=True),
            "rust_mail_send, pool=true": bench_rust(php, sink, target, count, pool=True),
            "rust_mail_send, pool=false": bench_rust(php, sink, target, count, pool=False),
        }
    finally:
        if proxy:
            proxy.stop()
        sink.stop()
    baseline = next(iter(results.values()))[0]
    where = f"through a proxy adding {delay_ms:g} ms each way" if delay_ms else "on 127.0.0.1"
    print(f"{count} consecutive sends to smtp-sink {where}, one php process each")
    for name, (ms, connections) in results.items():
        print(f"  {name:42s} {ms:8.2f} ms/message  {baseline / ms:7.2f}x the baseline's speed  "
              f"({connections} connections)")


if __name__ == "__main__":
    main()
