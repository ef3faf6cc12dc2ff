"""Benchmark (not a test): wp_mail() through the plugin in immediate mode against rust_mail_send() on the same server,
in one run, with a profile of where the plugin's time goes.

    RUST_MAIL_SO=target/release/librust_mail.so /usr/bin/python3 tests/bench/bench_plugin.py [COUNT]

For each server (Postfix's smtp-sink on loopback; a Postfix with STARTTLS and AUTH PLAIN through Dovecot SASL that
queues each message and relays it to the same smtp-sink), one WordPress CLI process sends COUNT (1,000; a third of it
to Postfix) 2 KB mails with rust_mail_send() in a loop (pooled: the extension alone), then the same through
wp_mail() with the plugin (delivery "immediate", a log row per mail), then once more under php-excimer's sampling
profiler (wall clock, 0.2 ms). Prints mails/s, the plugin's share of the extension's rate, and the functions the
profile found the most time in (self, and with their callees). Every mail is counted at smtp-sink.
"""
import collections
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from harness.certs import CertificateSet  # noqa: E402
from harness.php import extension_path  # noqa: E402
from harness.postfix import Dovecot, Postfix  # noqa: E402
from harness.sink import SmtpSink  # noqa: E402
from harness.wpstack import WpStack  # noqa: E402

USER, PASSWORD = "bench", "bench-Pa55word"
TOP = 15

LOOP = r"""
$transport = json_decode(%(transport)s, true);
$count = %(count)d;
$body = str_repeat("All work and no play makes a benchmark.\n", 50);
$message = ['from' => 'Bench <bench@example.com>', 'to' => 'sink@example.com', 'subject' => 'benchmark', 'text' => $body];
$plugin = function () use ($body) {
    if (!wp_mail('sink@example.com', 'benchmark', $body, ['From: Bench <bench@example.com>'])) { exit(2); }
};
for ($i = 0; $i < 20; $i++) { $plugin(); rust_mail_send($message, $transport); }  // warm: connections, caches
$seconds = function ($send) use ($count) {
    $t = hrtime(true);
    for ($i = 0; $i < $count; $i++) { $send(); }
    return (hrtime(true) - $t) / 1e9;
};
$extension = $seconds(function () use ($message, $transport) {
    if (!rust_mail_send($message, $transport)['ok']) { exit(1); }
});
$through_plugin = $seconds($plugin);
$profiler = new ExcimerProfiler();
$profiler->setPeriod(0.0002);
$profiler->setEventType(EXCIMER_REAL);
$profiler->start();
$profiled = $seconds($plugin);
$profiler->stop();
out(['extension' => $extension, 'plugin' => $through_plugin, 'profiled' => $profiled,
     'collapsed' => $profiler->getLog()->formatCollapsed()]);
"""


def top_functions(collapsed):
    """(self, inclusive): the TOP functions by share of the samples, each a list of (share, function)."""
    own, inclusive, total = collections.Counter(), collections.Counter(), 0
    for line in collapsed.splitlines():
        stack, samples = line.rsplit(" ", 1)
        frames, samples = stack.split(";"), int(samples)
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    # Not the benchmark's own script and its loops' closures.
    share = lambda counter: [(n / total, f) for f, n in counter.most_common()
                             if f and not f.endswith(".php") and "/run-" not in f][:TOP]
    return share(own), share(inclusive)


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    certs = CertificateSet(Path(tempfile.mkdtemp(prefix="rust-mail-bench-certs-")))
    stack = WpStack(extension_path()).up()
    sink = SmtpSink()
    dovecot = Dovecot({USER: PASSWORD})
    postfix = Postfix((sink.host, sink.port), certs=certs, sasl=dovecot, queue=True)
    ca_file = stack.dir / "bench-ca.pem"
    shutil.copy(certs.ca, ca_file)
    ca_file.chmod(0o644)
    try:
        for name, port, tls, n in (("loopback, smtp-sink", sink.port, False, count),
                                   ("loopback, Postfix STARTTLS+AUTH", postfix.port, True, max(1, count // 3))):
            transport = {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 120}
            if tls:
                transport.update(security="starttls", username=USER, password=PASSWORD, ca_file=str(ca_file))
                stack.set_settings(port=port, security="starttls", auth="plain", username=USER, password=PASSWORD,
                                   ca_file=str(ca_file), delivery="immediate")
            else:
                stack.set_settings(port=port, delivery="immediate")
            before = sink.counts()["mesg"]
            out = stack.php(LOOP % {"transport": "'" + json.dumps(transport) + "'", "count": n})
            expected, deadline = 3 * n + 40, time.monotonic() + 180
            while sink.counts()["mesg"] - before < expected and time.monotonic() < deadline:
                time.sleep(0.1)
            assert sink.counts()["mesg"] - before == expected, "smtp-sink did not get every mail"
            extension, plugin = n / out["extension"], n / out["plugin"]
            print(f"\n{name}, {n} 2 KB mails each: rust_mail_send() {extension:,.0f}/s; wp_mail() + plugin "
                  f"{plugin:,.0f}/s ({plugin / extension:.0%} of the extension); under the profiler {n / out['profiled']:,.0f}/s")
            own, inclusive = top_functions(out["collapsed"])
            print("| self | function | | with callees | function |\n|---|---|---|---|---|")
            for (a, f), (b, g) in zip(own, inclusive):
                print(f"| {a:.1%} | `{f}` | | {b:.1%} | `{g}` |")
    finally:
        postfix.stop()
        dovecot.stop()
        sink.stop()
        stack.purge()
        shutil.rmtree(certs.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
