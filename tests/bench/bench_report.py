"""The benchmark behind `./build.sh bench`: one run, one machine, the same servers; writes bench/results.md and
bench/results.png.

    RUST_MAIL_SO=target/release/librust_mail.so /usr/bin/python3 tests/bench/bench_report.py [--out DIR] [--quick]

Senders: stock WordPress wp_mail() (PHPMailer, a new connection per mail, the extension not loaded), wp_mail()
through the plugin (immediate delivery; queued delivery, stored then drained by the CLI drain; the PHPMailer engine,
without the extension), rust_mail_send() in a loop (pooled), rust_mail_send_many() (4 connections), and Postfix's
smtp-source (-d, one and four sessions) as the reference where it can go (no TLS). Then the HTTPS API transports
(Graph and Gmail, harness/api_servers.py, 20 ms away), and every row against the previous committed results.
Servers: Postfix's smtp-sink on loopback; a private Postfix with STARTTLS and AUTH through Dovecot SASL (it queues
each message, then relays it to the same smtp-sink); each also behind a delay proxy adding 10 ms each
way (a 20 ms round trip). Sizes 2 KB, 100 KB, 10 MB. Every PHP sender runs in a WordPress CLI process (wp-load.php
first, outside the timed loop), so peak RSS compares like with like. Every message is counted at smtp-sink.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
sys.path.insert(0, str(TESTS))

from harness.certs import CertificateSet  # noqa: E402
from harness.delayproxy import DelayProxy  # noqa: E402
from harness.php import extension_path  # noqa: E402
from harness.postfix import Dovecot, Postfix  # noqa: E402
from harness.sink import SmtpSink, find_smtp_sink  # noqa: E402
from harness.wpstack import WpStack  # noqa: E402

USER, PASSWORD = "bench", "bench-Pa55word"
SIZES = {"2 KB": 2 * 1024, "100 KB": 100 * 1024, "10 MB": 10 * 1024 * 1024}
PLUGIN, QUEUED, PHPMAILER = "wp_mail() + plugin", "wp_mail() + plugin, queued", "wp_mail() + plugin, PHPMailer engine"
SENDERS = ["stock wp_mail()", PLUGIN, QUEUED, PHPMAILER, "rust_mail_send()", "rust_mail_send_many()",
           "rust_mail_send_many(), raw", "smtp-source -d", "smtp-source -d -s 4"]
STOCK = SENDERS[0]
SCENARIOS = ["loopback, smtp-sink", "loopback, Postfix STARTTLS+AUTH", "20 ms RTT, smtp-sink",
             "20 ms RTT, Postfix STARTTLS+AUTH"]

# Messages per cell, in the order of SENDERS: (size, 20 ms away?) -> counts. Scaled so that each cell takes seconds,
# not minutes, and the default run stays under ten minutes: slow senders get fewer mails, 10 MB cells a handful.
# Enough mails that a one-off cost does not stand for a per-mail one where a goal is judged: the drain process's
# start in the queued rows (5,000 mails, as a backlog), the connection's set-up (6 round trips, 120 ms) in
# rust_mail_send()'s 20 ms row (300 mails).
COUNTS = {
    ("2 KB", False): (100, 1000, 5000, 200, 2000, 5000, 5000, 2000, 5000),
    ("100 KB", False): (50, 200, 200, 100, 500, 1000, 1000, 500, 1000),
    ("10 MB", False): (3, 5, 5, 3, 5, 8, 8, 5, 8),
    ("2 KB", True): (20, 150, 200, 30, 300, 400, 400, 100, 400),
    ("100 KB", True): (10, 30, 100, 15, 50, 200, 200, 50, 200),
    ("10 MB", True): (2, 3, 3, 2, 3, 4, 4, 3, 4),
}
# The HTTPS API transports, 20 ms away: (api, sender, messages).
API_CELLS = [(api, sender, count) for api in ("graph", "gmail")
             for sender, count in (("rust_mail_send()", 100), ("rust_mail_send_many()", 400))]
MAILBOX = "bench@contoso.example"
WORSE = 0.8  # a row whose mails/s fell below this share of the previous run's is marked
GROWTH_COUNTS = [100, 1000, 10000]

# One PHP loop for every PHP sender; prints wall time, per-mail latencies, CPU and peak RSS.
PHP_LOOP = r"""
$mode = %(mode)s; $count = %(count)d; $size = %(size)d;
$transport = json_decode(%(transport)s, true);
$line = str_repeat('All work and no play makes a benchmark. ', 2) . "\n";
$body = substr(str_repeat($line, intdiv($size, strlen($line)) + 1), 0, $size);
$message = ['from' => 'Bench <bench@example.com>', 'to' => 'sink@example.com', 'subject' => 'benchmark', 'text' => $body];
if ($mode === 'many_raw') {
    // Composed beforehand, as the plugin and an outbox hand messages over.
    $message = ['raw' => "From: Bench <bench@example.com>\r\nTo: sink@example.com\r\nSubject: benchmark\r\n"
                         . "Content-Type: text/plain; charset=UTF-8\r\n\r\n" . str_replace("\n", "\r\n", $body),
                'envelope' => ['from' => 'bench@example.com', 'to' => ['sink@example.com']]];
}
add_action('wp_mail_failed', function ($e) { fwrite(STDERR, 'wp_mail failed: ' . $e->get_error_message() . "\n"); exit(1); });
$fail = function ($r) { fwrite(STDERR, json_encode($r['error']) . "\n"); exit(1); };
$lat = [];
gc_collect_cycles();
$r0 = getrusage(); $t0 = hrtime(true);
if ($mode === 'many' || $mode === 'many_raw') {
    $results = rust_mail_send_many(array_fill(0, $count, $message), $transport, ['connections' => 4, 'max_messages' => $count]);
    foreach ($results as $r) { if (!$r['ok']) { $fail($r); } $lat[] = $r['timings']['total']; }
} else {
    for ($i = 0; $i < $count; $i++) {
        $s = hrtime(true);
        if ($mode === 'send') {
            $r = rust_mail_send($message, $transport);
            if (!$r['ok']) { $fail($r); }
        } elseif (!wp_mail('sink@example.com', 'benchmark', $body, ['From: Bench <bench@example.com>'])) {
            fwrite(STDERR, "wp_mail returned false\n"); exit(1);
        }
        $lat[] = (hrtime(true) - $s) / 1e6;
    }
}
$wall = (hrtime(true) - $t0) / 1e9; $r1 = getrusage();
$cpu = 0;
foreach (['ru_utime', 'ru_stime'] as $k) {
    $cpu += ($r1["$k.tv_sec"] - $r0["$k.tv_sec"]) * 1e6 + ($r1["$k.tv_usec"] - $r0["$k.tv_usec"]);
}
preg_match('/VmHWM:\s+(\d+)/', file_get_contents('/proc/self/status'), $m);
out(['wall' => $wall, 'lat' => $lat, 'cpu_us' => $cpu, 'rss_kib' => (int) $m[1]]);
"""


class Servers:
    """smtp-sink, the Postfix+Dovecot in front of it, and a delay proxy in front of each."""

    def __init__(self, certs):
        self.sink = SmtpSink()
        self.dovecot = Dovecot({USER: PASSWORD})
        self.postfix = Postfix((self.sink.host, self.sink.port), certs=certs, sasl=self.dovecot, queue=True)
        self.proxies = {name: DelayProxy(server.host, server.port, 0.010)
                        for name, server in (("sink", self.sink), ("postfix", self.postfix))}

    def target(self, scenario):
        """(port, tls+auth?) of a scenario."""
        tls = "Postfix" in scenario
        server = self.postfix if tls else self.sink
        if scenario.startswith("20 ms"):
            return self.proxies["postfix" if tls else "sink"].port, tls
        return server.port, tls

    def stop(self):
        for proxy in self.proxies.values():
            proxy.stop()
        self.postfix.stop()
        self.dovecot.stop()
        self.sink.stop()


def summary(wall, count, lat, cpu_us, rss_kib):
    lat = sorted(lat)
    return {
        "count": count, "wall": wall, "mails_s": count / wall if wall else None,
        "median_ms": statistics.median(lat) if lat else None,
        "p99_ms": lat[max(0, int(len(lat) * 0.99 + 0.5) - 1)] if lat else None,
        "cpu_ms": cpu_us / 1000 / count, "rss_mib": rss_kib / 1024,
    }


class Bench:
    def __init__(self, stack, servers, ca_file):
        self.stack, self.servers, self.ca_file = stack, servers, ca_file

    def delivered(self, before, count):
        deadline = time.monotonic() + 180  # Postfix relays from its queue after its 250
        while time.monotonic() < deadline:
            got = self.servers.sink.counts()["mesg"] - before
            if got >= count:
                return
            time.sleep(0.1)
        raise RuntimeError(f"smtp-sink received {got} of {count} messages")

    def transport(self, port, tls):
        transport = {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 120}
        if tls:
            transport.update(security="starttls", username=USER, password=PASSWORD, ca_file=self.ca_file)
        return transport

    def php_sender(self, sender, port, tls, size, count):
        stack = self.stack
        if sender == STOCK:
            constants = {"RUST_MAIL_TEST_BASELINE_PORT": port}
            if tls:
                constants.update(RUST_MAIL_TEST_BASELINE_USER=USER, RUST_MAIL_TEST_BASELINE_PASSWORD=PASSWORD)
            stack.set_constants(constants)
        else:
            # Queued: stored by this process, sent by the CLI drain alone (no WP-Cron request draining beside it).
            stack.set_constants({"RUST_MAIL_TEST_HOLD": True, "DISABLE_WP_CRON": True} if sender == QUEUED else {})
            delivery = {"delivery": "queued" if sender == QUEUED else "immediate"}
            if tls:
                stack.set_settings(port=port, security="starttls", auth="plain", username=USER, password=PASSWORD,
                                   ca_file=self.ca_file, **delivery)
            else:
                stack.set_settings(port=port, **delivery)
        mode = {"rust_mail_send()": "send", "rust_mail_send_many()": "many", "rust_mail_send_many(), raw": "many_raw"}
        code = PHP_LOOP % {"mode": json.dumps(mode.get(sender, "wp")), "count": count, "size": size,
                           "transport": "'" + json.dumps(self.transport(port, tls)).replace("'", "\\'") + "'"}
        before = self.servers.sink.counts()["mesg"]
        out = stack.php(code, extension=sender not in (STOCK, PHPMAILER))
        phases = {}
        if sender == QUEUED:
            # The page's cost is each wp_mail() call (latency); mails/s is end to end: stored, then drained.
            drain = self.drain(before, count)
            phases = {"stored_s": count / out["wall"], "drained_s": count / drain["wall"] if drain["wall"] else None}
            out.update(wall=out["wall"] + drain["wall"], cpu_us=out["cpu_us"] + drain["cpu_us"],
                       rss_kib=max(out["rss_kib"], drain["rss_kib"]))
        self.delivered(before, count)
        return {**summary(out["wall"], count, out["lat"], out["cpu_us"], out["rss_kib"]), **phases}

    def commit_floor(self, port):
        """What the database alone takes to store one queued 2 KB mail: the INSERT the plugin sends for it (its row as
        stored, sealed bytes and all), sent again 2,000 times, each committed on its own, and then deleted. The least
        a stored mail can cost while each is committed before wp_mail() returns."""
        self.stack.set_constants({"RUST_MAIL_TEST_HOLD": True, "DISABLE_WP_CRON": True})
        self.stack.set_settings(port=port, delivery="queued")
        try:
            return self.stack.php(r"""
global $wpdb;
$body = str_repeat("All work and no play makes a benchmark.\n", 50);
wp_mail('sink@example.com', 'benchmark', $body, ['From: Bench <bench@example.com>']);
$table = RustMail_Log_Store::table();
$row = $wpdb->get_row("SELECT * FROM $table WHERE status = 'queued' ORDER BY id DESC LIMIT 1", ARRAY_A);
unset($row['id']);
$insert = "INSERT INTO $table (`" . implode('`,`', array_keys($row)) . "`) VALUES ("
        . implode(',', array_map(['RustMail_Log_Store', 'sql_value'], $row)) . ')';
$t = hrtime(true);
for ($i = 0; $i < 2000; $i++) { $wpdb->query($insert); }
$ms = (hrtime(true) - $t) / 1e6 / 2000;
$wpdb->query("DELETE FROM $table WHERE status = 'queued'");
out($ms);
""")
        finally:
            self.stack.clear_constants()

    def drain(self, before, count):
        """The CLI drain (cli/drain.php, as the system's cron runs it) until smtp-sink has every message: wall time,
        CPU and the largest peak RSS of its runs."""
        stack, wall, cpu, rss = self.stack, 0.0, 0.0, 0
        deadline = time.monotonic() + 600
        while self.servers.sink.counts()["mesg"] - before < count and time.monotonic() < deadline:
            started = time.monotonic()
            process = subprocess.Popen([str(stack.dir / "bin" / "php"), str(stack.wp / "wp-content/plugins/rust-mail/cli/drain.php"),
                                        str(stack.wp), stack.host], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _, status, usage = os.wait4(process.pid, 0)
            wall += time.monotonic() - started
            if os.waitstatus_to_exitcode(status) != 0:
                raise RuntimeError(f"cli/drain.php failed: {process.stderr.read().decode()}")
            cpu += (usage.ru_utime + usage.ru_stime) * 1e6
            rss = max(rss, usage.ru_maxrss)
            settle = time.monotonic() + 1  # smtp-sink's counters lag its replies slightly: not the drain's time
            while self.servers.sink.counts()["mesg"] - before < count and time.monotonic() < settle:
                time.sleep(0.02)
        return {"wall": wall, "cpu_us": cpu, "rss_kib": rss}

    def api_cells(self, certs, quick):
        """Each API_CELLS row: the extension to a contract server (harness/api_servers.py) 20 ms away, with a token
        its OAuth2 server issued; every message counted at the server."""
        from harness.api_servers import GmailServer, GraphServer, sign_in
        from harness.oauth_server import AuthorizationServer
        auth = AuthorizationServer("contoso.onmicrosoft.com", "rust-mail-bench", "bench-client-secret")
        results, servers = {}, []
        try:
            for api, sender, count in API_CELLS:
                count = max(2, count // 10) if quick else count
                if not servers or servers[-1][0] != api:
                    kind = GraphServer if api == "graph" else GmailServer
                    account = {"mailbox": MAILBOX} if api == "graph" else {"account": MAILBOX}
                    server = kind(certs, check_token=auth.check_access_token, permissions=auth.token_permissions,
                                  **account)
                    proxy = DelayProxy(server.host, server.port, 0.010)
                    token = sign_in(auth, "microsoft" if api == "graph" else "google", MAILBOX)
                    servers.append((api, server, proxy, token))
                _, server, proxy, token = servers[-1]
                transport = {"api": api, "api_base": f"https://127.0.0.1:{proxy.port}", "ca_file": self.ca_file,
                             "timeout": 120, "password": token, **({"username": MAILBOX} if api == "graph" else {})}
                code = PHP_LOOP % {"mode": json.dumps("send" if sender == "rust_mail_send()" else "many"),
                                   "count": count, "size": SIZES["2 KB"],
                                   "transport": "'" + json.dumps(transport).replace("'", "\\'") + "'"}
                before = server.accepted
                out = self.stack.php(code)
                if server.accepted - before != count or server.violations:
                    raise RuntimeError(f"{api}: {server.accepted - before} of {count} accepted, {server.violations}")
                results[(api, sender)] = summary(out["wall"], count, out["lat"], out["cpu_us"], out["rss_kib"])
                print(f"2 KB    20 ms RTT, {api:27s} {sender:22s} {count:6d} mails "
                      f"{results[(api, sender)]['mails_s']:10.1f}/s", flush=True)
        finally:
            for _, server, proxy, _ in servers:
                proxy.stop()
                server.stop()
            auth.stop()
        return results

    def smtp_source(self, sender, port, size, count):
        sessions = "4" if sender.endswith("-s 4") else "1"
        before = self.servers.sink.counts()["mesg"]
        started = time.monotonic()
        smtp_source = str(Path(find_smtp_sink()).with_name("smtp-source"))
        process = subprocess.Popen([smtp_source, "-d", "-s", sessions, "-m", str(count), "-l", str(size),
                                    "-f", "bench@example.com", "-t", "sink@example.com", f"127.0.0.1:{port}"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(f"smtp-source failed: {process.stderr.read().decode()}")
        self.delivered(before, count)
        return summary(wall, count, [], (usage.ru_utime + usage.ru_stime) * 1e6, usage.ru_maxrss)

    def cell(self, scenario, size_name, sender, count):
        port, tls = self.servers.target(scenario)
        if sender.startswith("smtp-source"):
            if tls:
                return None  # smtp-source speaks no TLS
            return self.smtp_source(sender, port, SIZES[size_name], count)
        return self.php_sender(sender, port, tls, SIZES[size_name], count)


def fmt(value, digits=1):
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}" if value >= 1 else f"{value:.{max(digits, 2)}f}" if value >= 0.01 else f"{value:.3f}"


def ratio(value, stock, higher_is_better):
    if value is None or stock is None or not value or not stock:
        return "-"
    r = value / stock if higher_is_better else stock / value
    return f"{r:,.1f}x" if r < 100 else f"{r:,.0f}x"


def previous_cells(out_dir):
    """The committed run's results.json, read before this run writes its own: (scenario, size, sender) -> row."""
    path = out_dir / "results.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {(c["scenario"], c["size"], c["sender"]): c for c in data.get("cells", [])}


def comparison(results, api, previous):
    """Rows of the table against the previous run, and the rows whose mails/s fell below WORSE of it."""
    rows, worse = [], []
    current = {(s, z, k): v for (s, z), cells in results.items() for k, v in cells.items() if v}
    current.update({(API_SCENARIO, "2 KB", f"{a} {k}"): v for (a, k), v in api.items()})
    for key, now in current.items():
        before = previous.get(key)
        if not before or not before.get("mails_s") or not now.get("mails_s"):
            continue
        speed = now["mails_s"] / before["mails_s"]
        rss = before["rss_mib"] / now["rss_mib"] if now.get("rss_mib") and before.get("rss_mib") else None
        rows.append((key, before["mails_s"], now["mails_s"], speed, rss))
        if speed < WORSE:
            worse.append(key)
    return rows, worse


API_SCENARIO = "20 ms RTT, HTTPS API"

# rust_mail_send_many()'s memory goal: peak RSS growth per 2 KB message over a batch of this many.
MEMORY_COUNT = 10000
MEMORY_GOAL = 2048


def send_many_memory(port, quick):
    """Peak RSS growth of one rust_mail_send_many() call a 2 KB message (bench_send_many_memory.py's measure, results
    kept small with transcripts 'failed'): composed messages, and raw ones."""
    from bench_send_many_memory import measure
    from harness.php import PhpRunner
    php = PhpRunner(extension_path())
    count = MEMORY_COUNT // 10 if quick else MEMORY_COUNT
    return {mode: measure(php, port, count, mode, "failed") for mode in ("composed", "raw")}


def goal_rows(results, memory, floor_ms):
    """Issue 23's goals, judged on this run: (goal, measured, met, what stands between them when not met)."""
    def cell(scenario, size, sender):
        return results.get((scenario, size), {}).get(sender) or {}

    def speed(scenario, size, sender):
        return cell(scenario, size, sender).get("mails_s") or 0

    def to_stock(sender, key):
        """`sender`'s `key` over stock's, for 10 MB messages, in each scenario."""
        return [(cell(s, "10 MB", sender).get(key) or 0) / (cell(s, "10 MB", STOCK).get(key) or 1) for s in SCENARIOS]

    rows = []
    sink, postfix = "loopback, smtp-sink", "loopback, Postfix STARTTLS+AUTH"
    far = "20 ms RTT, Postfix STARTTLS+AUTH"
    plugin = speed(sink, "2 KB", PLUGIN)
    rows.append(("wp_mail() + plugin, immediate, smtp-sink on loopback: at least 1,000 mails/s",
                 f"{fmt(plugin)}/s", plugin >= 1000,
                 "a log row a mail, written in batches; the rest is WordPress's own wp_mail() and PHPMailer"))
    share = speed(postfix, "2 KB", PLUGIN) / (speed(postfix, "2 KB", "rust_mail_send()") or 1)
    rows.append(("wp_mail() + plugin, immediate, Postfix STARTTLS+AUTH: at least 80% of rust_mail_send()",
                 f"{share:.0%}", share >= 0.8, "the plugin's PHP work a mail (composition, the log row)"))
    worst_rss = {sender: max(to_stock(sender, "rss_mib")) for sender in (PLUGIN, QUEUED)}
    worst_speed = min(to_stock(PLUGIN, "mails_s"))
    rows.append(("10 MB, wp_mail() + plugin, immediate: at least stock's mails/s and at most its peak RSS, in every "
                 "scenario", f"slowest {worst_speed:.2f}x stock's mails/s, largest {worst_rss[PLUGIN]:.2f}x its RSS",
                 worst_speed >= 1 and worst_rss[PLUGIN] <= 1,
                 "copies of the composed message held at once, in PHP and in the extension, while it is sent"))
    # Queued, the page waits for the message to be stored, not sent: its wait is what compares with stock's send.
    worst_wait = max(to_stock(QUEUED, "median_ms"))
    slowest_end = min(to_stock(QUEUED, "mails_s"))
    rows.append(("10 MB, wp_mail() + plugin, queued: the page waits at most as long as stock's wp_mail(), and peak RSS "
                 "(storing or draining) at most stock's, in every scenario",
                 f"longest wait {worst_wait:.2f}x stock's, largest {worst_rss[QUEUED]:.2f}x its RSS (end to end, "
                 f"stored then drained: slowest {slowest_end:.2f}x stock's mails/s)",
                 worst_wait <= 1 and worst_rss[QUEUED] <= 1,
                 "the message is sealed and written in one committed row before wp_mail() returns, and read back "
                 "by the drain"))
    queued = cell(sink, "2 KB", QUEUED)
    outbox = queued.get("mails_s") or 0
    rows.append(("The outbox end to end (5,000 mails stored by one process, then drained by cli/drain.php), "
                 "smtp-sink on loopback: at least 1,000 mails/s",
                 f"{fmt(outbox)}/s (stored at {fmt(queued.get('stored_s'))}/s, drained at "
                 f"{fmt(queued.get('drained_s'))}/s)", outbox >= 1000,
                 "each stored mail is one committed INSERT before wp_mail() returns (the promise that a queued mail "
                 f"survives the page): that INSERT alone, sent again and committed, takes {floor_ms:.3f} ms on this database "
                 f"({1000 / floor_ms:,.0f}/s at most, before any work); the drain adds a claim, an in-flight mark and "
                 "one outcome UPDATE a batch of 50"))
    for mode in ("composed", "raw"):
        m = memory.get(mode)
        if not m:
            continue
        beyond = m["per_message"] - m["results_per_message"]
        met = m["per_message"] <= MEMORY_GOAL if mode == "composed" else beyond <= MEMORY_GOAL / 10
        rows.append((f"rust_mail_send_many(), {m['count']:,} {mode} 2 KB messages, transcripts 'failed': peak RSS "
                     + ("at most 2 KB more a message" if mode == "composed" else
                        "flat beyond the results (under a tenth of a message more a message)"),
                     f"{m['per_message']:,.0f} B a message, of which the results {m['results_per_message']:,.0f} B",
                     met, "the result array PHP is given back, a few hundred bytes a message"))
    single, many = speed(far, "2 KB", "rust_mail_send()"), speed(far, "2 KB", "rust_mail_send_many()")
    rows.append(("rust_mail_send(), 20 ms RTT, Postfix STARTTLS+AUTH: at least 40 mails/s", f"{fmt(single)}/s",
                 single >= 40, "one round trip a mail (PIPELINING and CHUNKING) plus Postfix's own queue-file sync "
                 "before its 250; each call waits for its verdict"))
    rows.append(("rust_mail_send_many() x4, 20 ms RTT, Postfix STARTTLS+AUTH: at least 150 mails/s", f"{fmt(many)}/s",
                 many >= 150, "Postfix's queue-file syncs, four at a time on two cores"))
    raw, source = cell(sink, "2 KB", "rust_mail_send_many(), raw"), cell(sink, "2 KB", "smtp-source -d -s 4")
    rows.append(("rust_mail_send_many() x4 with raw messages, smtp-sink on loopback: at least smtp-source -d -s 4",
                 f"{(raw.get('mails_s') or 0) / (source.get('mails_s') or 1):.2f}x smtp-source "
                 f"({fmt(raw.get('mails_s'))}/s against {fmt(source.get('mails_s'))}/s)",
                 (raw.get("mails_s") or 0) >= (source.get("mails_s") or 0),
                 f"CPU, on two cores shared with smtp-sink: {fmt(raw.get('cpu_ms'), 3)} ms a mail against smtp-source's "
                 f"{fmt(source.get('cpu_ms'), 3)}: each message read from a PHP array and its result built as one, "
                 "where smtp-source writes one fixed text and keeps nothing (smtp-sink offers no CHUNKING: both "
                 "send DATA and wait for its 354, and no second message goes in flight)"))
    return rows


def write_report(out_dir, results, growth, seconds, quick, load, api, previous, memory, floor_ms):
    lines = ["# rust-mail benchmark", "",
             f"Written by `./build.sh bench` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
             f"{os.cpu_count()} CPU cores, in {seconds / 60:.1f} minutes{' (--quick)' if quick else ''}; "
             f"load average {load[0]:.1f} at the start, {load[1]:.1f} at the end"
             + (" (above the core count: other work shared the machine, and the fastest senders lost most). "
                if max(load) > (os.cpu_count() or 1) else ". ") +
             "Every figure comes from this one run against the same servers; every message was counted at smtp-sink.",
             "",
             "- **stock wp_mail()**: Debian's WordPress with PHPMailer's SMTP client, a new connection per mail "
             "(WordPress's default), the extension not loaded. **wp_mail() + plugin**: the rust-mail plugin, "
             "immediate delivery, a log row per mail. **rust_mail_send()**: a loop of calls, pooled connection. "
             "**rust_mail_send_many()**: one call, 4 connections; **, raw**: the same with each message composed "
             "beforehand (`raw` and `envelope`, as the plugin and an outbox hand them over). **smtp-source**: Postfix's load generator "
             "(`-d`: one connection for all its mails; `-s 4`: four sessions), the reference; it speaks no TLS.",
             "- Servers: Postfix's smtp-sink on loopback; a Postfix instance with STARTTLS and AUTH PLAIN through "
             "Dovecot SASL, which queues each message (its 250 comes after the queue file is synced) and relays it "
             "to the same smtp-sink; **20 ms RTT**: through a proxy on loopback adding 10 ms each way.",
             "- Every PHP sender runs in a WordPress CLI process (WordPress loaded before the timed loop). Latency: "
             "per call; for rust_mail_send_many() each message's own send time (`timings.total`). CPU: user + "
             "system time of the process during the loop, per mail. Peak RSS: the process's VmHWM. Ratios: to "
             "stock wp_mail() in the same cell (higher is better for all of them: mails/s up, the rest down).",
             "- Counts are scaled so that the default run takes minutes: slow senders get fewer mails, 10 MB cells "
             "a handful (the count is in each row).",
             "- **wp_mail() + plugin, queued**: queued delivery; latency is each wp_mail() call (what a page pays: the "
             "message stored), mails/s end to end (stored by one PHP process, then drained by `cli/drain.php`), CPU "
             "both processes', peak RSS the larger. **PHPMailer engine**: the plugin on PHP without the extension "
             "(PHPMailer's SMTP client, one connection for the request).", ""]
    goals = goal_rows(results, memory, floor_ms)
    lines += ["## Goals", "",
              f"Issue 23's goals, judged on this run: {sum(1 for g in goals if g[2])} of {len(goals)} met. Where one is "
              "not, what stands between the figure and the goal.", "",
              "| goal | this run | met | what is in the way |", "|---|---|---|---|"]
    lines += [f"| {goal} | {measured} | {'yes' if met else '**no**'} | {'' if met else cause} |"
              for goal, measured, met, cause in goals]
    lines.append("")
    rows, worse = comparison(results, api, previous)
    if previous:
        slower = f"more than {100 - WORSE * 100:.0f}% slower in mails/s"
        named = "; ".join(f"{size} {scenario}, {sender}" for scenario, size, sender in worse[:12])
        lines += ["**Against the previous committed run** (table at the end): "
                  + (f"{len(worse)} of {len(rows)} rows {slower}, marked **worse**: {named}"
                     + (f", and {len(worse) - 12} more" if len(worse) > 12 else "") + "." if worse
                     else f"no row {slower}.")
                  + " Where the reference rows (stock, smtp-source) fell as much, the machine was slower, not the code.",
                  ""]
    for size_name in SIZES:
        lines += [f"## {size_name} messages", ""]
        for scenario in SCENARIOS:
            lines += [f"### {scenario}", "",
                      "| sender | mails | mails/s | vs stock | median ms | p99 ms | vs stock | CPU ms/mail | vs stock "
                      "| peak RSS MiB |", "|---|---|---|---|---|---|---|---|---|---|"]
            cells = results[(scenario, size_name)]
            stock = cells.get(STOCK)
            for sender in SENDERS:
                r = cells.get(sender)
                if r is None:
                    continue
                lines.append(
                    f"| {sender} | {r['count']} | {fmt(r['mails_s'])} | {ratio(r['mails_s'], stock['mails_s'], True)} "
                    f"| {fmt(r['median_ms'], 2)} | {fmt(r['p99_ms'], 2)} "
                    f"| {ratio(r['median_ms'], stock['median_ms'], False)} | {fmt(r['cpu_ms'], 3)} "
                    f"| {ratio(r['cpu_ms'], stock['cpu_ms'], False)} | {fmt(r['rss_mib'])} |")
            lines.append("")
    if api:
        lines += ["## HTTPS API transports", "",
                  "2 KB messages through the extension's `api` transports to the contract servers of the test harness "
                  "(tests/harness/api_servers.py: TLS, keep-alive, the provider's checks, a token from its OAuth2 "
                  "server) behind the same delay proxy (20 ms RTT). rust_mail_send(): a loop, pooled connection; "
                  "rust_mail_send_many(): one call, 4 connections. No stock row: WordPress has no API transport.", "",
                  "| API | sender | mails | mails/s | median ms | p99 ms | CPU ms/mail | peak RSS MiB |",
                  "|---|---|---|---|---|---|---|---|"]
        for (name, sender), r in api.items():
            lines.append(f"| {name} | {sender} | {r['count']} | {fmt(r['mails_s'])} | {fmt(r['median_ms'], 2)} "
                         f"| {fmt(r['p99_ms'], 2)} | {fmt(r['cpu_ms'], 3)} | {fmt(r['rss_mib'])} |")
        lines.append("")
    lines += ["## Cost growth with the number of messages", "",
              "2 KB messages to smtp-sink on loopback. Linear cost: time and CPU per mail stay flat as the count "
              "grows; peak RSS of rust_mail_send() stays flat (rust_mail_send_many() composes each message when a "
              "connection takes it and drops it once sent, but returns every result, each with its transcript by "
              "default: its peak grows with the batch by about that).", "",
              "| sender | mails | mails/s | µs per mail | CPU µs per mail | peak RSS MiB |", "|---|---|---|---|---|---|"]
    for sender, count, r in growth:
        lines.append(f"| {sender} | {count:,} | {fmt(r['mails_s'])} | {fmt(1e6 / r['mails_s'])} "
                     f"| {fmt(r['cpu_ms'] * 1000)} | {fmt(r['rss_mib'])} |")
    if rows:
        lines += ["", "## Against the previous committed run", "",
                  "Each row present in both runs: mails/s before and now, and the ratios (higher is better: now / "
                  f"before for mails/s, before / now for peak RSS). **worse**: mails/s below {WORSE:.0%} of before. "
                  "Both runs' machines may have been busy to different degrees (see their load averages).", "",
                  "| size | scenario | sender | mails/s before | mails/s now | speed ratio | RSS ratio | |",
                  "|---|---|---|---|---|---|---|---|"]
        for (scenario, size, sender), before, now, speed, rss in rows:
            lines.append(f"| {size} | {scenario} | {sender} | {fmt(before)} | {fmt(now)} | {speed:.2f}x "
                         f"| {'-' if rss is None else f'{rss:.2f}x'} | {'**worse**' if speed < WORSE else ''} |")
    lines += ["", "![mails per second](results.png)", ""]
    (out_dir / "results.md").write_text("\n".join(lines))
    (out_dir / "results.json").write_text(json.dumps(
        {"cells": [{"scenario": s, "size": z, "sender": k, **v} for (s, z), cells in results.items()
                   for k, v in cells.items() if v is not None]
         + [{"scenario": API_SCENARIO, "size": "2 KB", "sender": f"{a} {k}", **v} for (a, k), v in api.items()],
         "growth": [{"sender": s, "count": c, **r} for s, c, r in growth]}, indent=1))


def write_chart(out_dir, results, growth):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(SIZES) + 1, figsize=(22, 6))
    colors = ["#888888", "#4c72b0", "#64b5cd", "#937860", "#dd8452", "#c44e52", "#da8bc3", "#55a868", "#8172b3"]
    width = 0.8 / len(SENDERS)
    for ax, size_name in zip(axes, SIZES):
        for i, sender in enumerate(SENDERS):
            xs, ys = [], []
            for j, scenario in enumerate(SCENARIOS):
                r = results[(scenario, size_name)].get(sender)
                if r:
                    xs.append(j + (i - len(SENDERS) / 2 + 0.5) * width)
                    ys.append(r["mails_s"])
            ax.bar(xs, ys, width, label=sender, color=colors[i])
        ax.set_yscale("log")
        ax.set_title(f"{size_name} messages: mails per second (log scale)")
        ax.set_xticks(range(len(SCENARIOS)))
        ax.set_xticklabels([s.replace(", ", "\n") for s in SCENARIOS], fontsize=8)
        ax.grid(axis="y", which="both", alpha=0.3)
    axes[0].legend(fontsize=8, loc="upper right")
    ax = axes[-1]
    for sender in sorted({s for s, _, _ in growth}):
        points = [(c, 1e6 / r["mails_s"]) for s, c, r in growth if s == sender]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=sender)
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_title("cost growth: µs per 2 KB mail, loopback smtp-sink")
    ax.set_xlabel("messages in the run")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_dir / "results.png", dpi=90)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(REPO / "bench"))
    parser.add_argument("--quick", action="store_true", help="a tenth of the counts, growth up to 1,000: a smoke run")
    args = parser.parse_args()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    load_at_start = os.getloadavg()[0]
    certs = CertificateSet(Path(tempfile.mkdtemp(prefix="rust-mail-bench-certs-")))
    stack = WpStack(extension_path()).up()
    servers = Servers(certs)
    ca_file = stack.dir / "bench-ca.pem"
    shutil.copy(certs.ca, ca_file)
    ca_file.chmod(0o644)
    bench = Bench(stack, servers, str(ca_file))
    results, growth, api, memory, floor_ms = {}, [], {}, {}, 0.0
    previous = previous_cells(out_dir)
    try:
        for size_name in SIZES:
            for scenario in SCENARIOS:
                cells = results[(scenario, size_name)] = {}
                for sender in SENDERS:
                    count = COUNTS[(size_name, scenario.startswith("20 ms"))][SENDERS.index(sender)]
                    if args.quick:
                        count = max(2, count // 10)
                    cells[sender] = bench.cell(scenario, size_name, sender, count)
                    if cells[sender]:
                        print(f"{size_name:7s} {scenario:34s} {sender:22s} {count:6d} mails "
                              f"{cells[sender]['mails_s']:10.1f}/s", flush=True)
        for sender in ("rust_mail_send()", "rust_mail_send_many()"):
            for count in GROWTH_COUNTS[:2] if args.quick else GROWTH_COUNTS:
                r = bench.cell(SCENARIOS[0], "2 KB", sender, count)
                growth.append((sender, count, r))
                print(f"growth {sender:22s} {count:6d} mails {r['mails_s']:10.1f}/s", flush=True)
        api = bench.api_cells(certs, args.quick)
        memory = send_many_memory(servers.sink.port, args.quick)
        floor_ms = bench.commit_floor(servers.sink.port)
    finally:
        stack.clear_constants()
        servers.stop()
        stack.purge()
        shutil.rmtree(certs.dir, ignore_errors=True)
    write_report(out_dir, results, growth, time.monotonic() - started, args.quick, (load_at_start, os.getloadavg()[0]),
                 api, previous, memory, floor_ms)
    write_chart(out_dir, results, growth)
    print(f"wrote {out_dir / 'results.md'} and {out_dir / 'results.png'} in {(time.monotonic() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
