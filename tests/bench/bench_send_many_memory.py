"""Peak memory of one rust_mail_send_many() call as the batch grows (issue 23): a PHP process sends N messages of
2 KB to smtp-sink on loopback over 4 connections, and its VmHWM (peak resident set, /proc/self/status) is read
before the call (input array built, a warm-up batch already sent) and after it. The input is array_fill() of one
message, so PHP holds it once however large N is: what grows is the extension's own memory and the result array
it returns (measured apart with memory_get_usage()).

    RUST_MAIL_SO=target/release/librust_mail.so /usr/bin/python3 tests/bench/bench_send_many_memory.py [counts...]
"""
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from harness.php import PhpRunner, extension_path  # noqa: E402
from harness.sink import SmtpSink  # noqa: E402

COUNTS = [1000, 10000]
MODES = ["composed", "raw"]
TRANSCRIPTS = ["none", "failed", "all"]

BATCH = r"""
$count = %(count)d; $mode = '%(mode)s'; $transcripts = '%(transcripts)s';
$transport = ['host' => '127.0.0.1', 'port' => %(port)d, 'security' => 'none', 'timeout' => 60];
$line = str_repeat('All work and no play makes a benchmark. ', 2) . "\n";
$body = substr(str_repeat($line, intdiv(2048, strlen($line)) + 1), 0, 2048);
$message = ['from' => 'Bench <bench@example.com>', 'to' => 'sink@example.com', 'subject' => 'benchmark', 'text' => $body];
if ($mode === 'raw') {
    $message = ['raw' => "From: Bench <bench@example.com>\r\nTo: sink@example.com\r\nSubject: benchmark\r\n"
                         . "Content-Type: text/plain; charset=UTF-8\r\n\r\n" . str_replace("\n", "\r\n", $body),
                'envelope' => ['from' => 'bench@example.com', 'to' => ['sink@example.com']]];
}
function peak_kib() {
    preg_match('/VmHWM:\s+(\d+)/', file_get_contents('/proc/self/status'), $m);
    return (int) $m[1];
}
$options = ['connections' => 4, 'transcripts' => $transcripts, 'max_messages' => $count];
// The runtime, the pool and the connections are made by a first small batch, outside the measure.
rust_mail_send_many(array_fill(0, 16, $message), $transport, $options);
$messages = array_fill(0, $count, $message);
gc_collect_cycles();
$before = peak_kib(); $heap = memory_get_usage();
$t0 = hrtime(true);
$results = rust_mail_send_many($messages, $transport, $options);
$wall = (hrtime(true) - $t0) / 1e9;
$after = peak_kib();
$failed = count(array_filter($results, fn ($r) => !$r['ok']));
harness_print(['before_kib' => $before, 'after_kib' => $after, 'results_bytes' => memory_get_usage() - $heap,
               'failed' => $failed, 'wall' => $wall]);
"""


def measure(php, port, count, mode, transcripts):
    out = php.run(BATCH % {"count": count, "mode": mode, "transcripts": transcripts, "port": port}, timeout=600).json()
    assert out["failed"] == 0, out
    growth = (out["after_kib"] - out["before_kib"]) * 1024
    return {"count": count, "mode": mode, "transcripts": transcripts, "growth_bytes": growth,
            "per_message": growth / count, "results_per_message": out["results_bytes"] / count,
            "mails_s": count / out["wall"]}


def main():
    counts = [int(c) for c in sys.argv[1:]] or COUNTS
    php, sink = PhpRunner(extension_path()), SmtpSink()
    try:
        print("| messages | message | transcripts | peak RSS growth KiB | per message B | of it, results in PHP B | mails/s |")
        print("|---|---|---|---|---|---|---|")
        for mode in MODES:
            for transcripts in TRANSCRIPTS:
                for count in counts:
                    r = measure(php, sink.port, count, mode, transcripts)
                    print(f"| {count:,} | {mode} | {transcripts} | {r['growth_bytes'] / 1024:,.0f} | "
                          f"{r['per_message']:,.0f} | {r['results_per_message']:,.0f} | {r['mails_s']:,.0f} |", flush=True)
    finally:
        sink.stop()


if __name__ == "__main__":
    main()
