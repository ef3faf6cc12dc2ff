"""Benchmark (not a test): consecutive sends to Postfix's smtp-sink from one php process.

    RUST_MAIL_SO=target/release/librust_mail.so /usr/bin/python3 tests/bench/bench_send.py [COUNT]

Compares rust_mail_send() pooled and with pool=false against the baseline a
WordPress site has today: PHPMailer (Debian's wordpress copy) over SMTP with
SMTPKeepAlive off, i.e. one connection per message. All measured in this run.
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.php import PhpRunner, extension_path  # noqa: E402
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

PHPMAILER_LOOP = """
foreach (['Exception', 'PHPMailer', 'SMTP'] as $file) {{ require '{dir}/' . $file . '.php'; }}
$started = hrtime(true);
for ($i = 0; $i < {count}; $i++) {{
    $mail = new \\PHPMailer\\PHPMailer\\PHPMailer(true);
    $mail->isSMTP();
    $mail->Host = '{host}';
    $mail->Port = {port};
    $mail->SMTPAuth = false;
    $mail->SMTPAutoTLS = false;
    $mail->SMTPKeepAlive = false;
    $mail->setFrom('bench@example.com', 'Bench');
    $mail->addAddress('sink@example.com');
    $mail->Subject = '{subject}';
    $mail->Body = {body};
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


def bench_rust(php, sink, count, pool):
    message = {"from": "Bench <bench@example.com>", "to": "sink@example.com", "subject": SUBJECT, "text": BODY}
    transport = {"host": sink.host, "port": sink.port, "security": "none", "timeout": 30, "pool": pool}
    code = RUST_LOOP.format(message=php.php_literal(message), transport=php.php_literal(transport), count=count)
    return measured(sink, count, lambda: php.run(code, timeout=600))


def bench_phpmailer(php, sink, count):
    code = PHPMAILER_LOOP.format(dir=PHPMAILER_DIR, host=sink.host, port=sink.port, count=count,
                                 subject=SUBJECT, body=php.php_literal(BODY))
    return measured(sink, count, lambda: php.run(code, timeout=600))


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    php = PhpRunner(extension_path())
    sink = SmtpSink()
    try:
        results = {
            "PHPMailer, SMTPKeepAlive off (baseline)": bench_phpmailer(php, sink, count),
            "rust_mail_send, pool=true": bench_rust(php, sink, count, pool=True),
            "rust_mail_send, pool=false": bench_rust(php, sink, count, pool=False),
        }
    finally:
        sink.stop()
    baseline = next(iter(results.values()))[0]
    print(f"{count} consecutive sends to smtp-sink on 127.0.0.1, one php process each")
    for name, (ms, connections) in results.items():
        print(f"  {name:42s} {ms:8.2f} ms/message  {baseline / ms:7.2f}x the baseline's speed  "
              f"({connections} connections)")


if __name__ == "__main__":
    main()
