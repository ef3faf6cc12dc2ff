"""100,000 calls in one PHP process, a realistic mix: pooled real sends to a loopback sink, calls refused as invalid
input (RustMailException), and rust_mail_explain(). After a warm-up the process's resident memory must stay flat:
nothing a call allocates may outlive it, whether it succeeded or threw."""
import time

import pytest

# In the soak tier (pytest -m soak): a 100,000-call loop.
pytestmark = pytest.mark.soak

CALLS = 100_000   # every third one a real send: 33,333 mails, about 7 s on 2 cores
WARM_UP = 10_000
CHECKPOINT_EVERY = 10_000
MAX_GROWTH_KIB = 4 * 1024

LOOP = """
$transport = ['host' => '127.0.0.1', 'port' => %(port)d, 'security' => 'none', 'timeout' => 10];
$message = ['from' => 'Loop <loop@example.com>', 'to' => ['a@example.com', 'b@example.com'], 'subject' => 'loop',
            'text' => str_repeat("a line of text\\n", 20), 'html' => '<p>html part</p>',
            'headers' => ['X-Loop' => 'yes'], 'attachments' => [['content' => 'a,b,c', 'name' => 'x.csv']]];
// Each is refused before any connection is made, for a different reason.
$invalid = [
    [['subject' => "Hi\\r\\nBcc: evil@example.com"] + $message, $transport],
    [['to' => 'not an address'] + $message, $transport],
    [['headers' => ["X-A\\r\\nBcc" => 'evil@example.com']] + $message, $transport],
    [$message, ['host' => '127.0.0.1', 'pasword' => 'typo']],
    [['attachments' => ['/nonexistent/file.pdf']] + $message, $transport],
];
$failures = [
    ['kind' => 'auth', 'message' => 'login failed', 'code' => 535, 'enhanced_code' => '5.7.139',
     'reply' => 'Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.'],
    ['kind' => 'connect_timeout', 'message' => 'no answer from 192.0.2.1:25'],
    ['kind' => 'recipient_rejected', 'message' => 'refused', 'code' => 550, 'enhanced_code' => '5.1.1',
     'reply' => 'User unknown', 'from' => 'loop@example.com'],
];
function rss_kib() {
    preg_match('/^VmRSS:\\s+(\\d+) kB/m', file_get_contents('/proc/self/status'), $m);
    return (int) $m[1];
}
$sent = $refused = $explained = $reused = 0;
$rss = [];
for ($i = 1; $i <= %(calls)d; $i++) {
    switch ($i %% 3) {
        case 0:
            $result = rust_mail_send($message, $transport);
            if (!$result['ok']) {
                throw new RuntimeException('send failed: ' . json_encode($result['error']));
            }
            $sent++;
            $reused += $result['reused_connection'] ? 1 : 0;
            break;
        case 1:
            try {
                rust_mail_send(...$invalid[$i %% count($invalid)]);
            } catch (RustMailException $e) {
                $refused++;
            }
            break;
        case 2:
            rust_mail_explain($failures[$i %% count($failures)], $transport);
            $explained++;
            break;
    }
    if ($i >= %(warm_up)d && $i %% %(every)d === 0) {
        $rss[$i] = rss_kib();
    }
}
harness_print(['sent' => $sent, 'refused' => $refused, 'explained' => $explained, 'reused' => $reused,
               'rss' => $rss]);
"""


def test_rss_stays_flat_over_100000_calls(php, smtp_sink, capsys):
    started = time.monotonic()
    run = php.run(LOOP % {"port": smtp_sink.port, "calls": CALLS, "warm_up": WARM_UP, "every": CHECKPOINT_EVERY},
                  timeout=600)
    elapsed = time.monotonic() - started
    answer = run.json()

    assert answer["sent"] + answer["refused"] + answer["explained"] == CALLS
    assert answer["refused"] == CALLS // 3 + 1 and answer["explained"] == CALLS // 3
    assert smtp_sink.counts()["mesg"] == answer["sent"]

    rss = [answer["rss"][str(i)] for i in range(WARM_UP, CALLS + 1, CHECKPOINT_EVERY)]
    growth = max(rss) - rss[0]
    with capsys.disabled():
        print(f"\n{CALLS} calls ({answer['sent']} sends, {answer['reused']} on a reused connection, "
              f"{smtp_sink.counts()['sess']} sessions) in {elapsed:.1f} s; "
              f"VmRSS after warm-up {rss[0]} KiB, at the end {rss[-1]} KiB, checkpoints {rss}")
    assert growth < MAX_GROWTH_KIB, f"RSS grew by {growth} KiB after the warm-up: {rss}"


BATCH_LOOP = """
$transport = ['host' => '127.0.0.1', 'port' => %(port)d, 'security' => 'none', 'timeout' => 10];
$message = ['from' => 'Loop <loop@example.com>', 'to' => 'a@example.com', 'subject' => 'batch',
            'text' => str_repeat("a line of text\\n", 20)];
$batch = array_fill(0, %(size)d, $message);
$batch[7] = ['to' => 'not an address'] + $message;   // one invalid_input result in each batch
$rss = [];
$sent = 0;
for ($i = 1; $i <= %(batches)d; $i++) {
    foreach (rust_mail_send_many($batch, $transport, ['connections' => 4]) as $result) {
        $sent += $result['ok'] ? 1 : 0;
    }
    if ($i >= %(warm_up)d) {
        preg_match('/^VmRSS:\\s+(\\d+) kB/m', file_get_contents('/proc/self/status'), $m);
        $rss[] = (int) $m[1];
    }
}
harness_print(['sent' => $sent, 'rss' => $rss]);
"""


def test_rss_stays_flat_over_100000_messages_in_batches(php, smtp_sink):
    """100 calls of rust_mail_send_many() with 1,000 messages each: after ten batches, resident memory stays flat
    (each batch's messages, results and connections are freed or pooled, not kept)."""
    batches, size = 100, 1000
    answer = php.run(BATCH_LOOP % {"port": smtp_sink.port, "batches": batches, "size": size, "warm_up": 10},
                     timeout=600).json()
    assert answer["sent"] == batches * (size - 1)
    time.sleep(0.3)
    assert smtp_sink.counts()["mesg"] == answer["sent"]
    assert smtp_sink.counts()["sess"] == 4   # the pooled connections carry every batch
    growth = max(answer["rss"]) - answer["rss"][0]
    assert growth < MAX_GROWTH_KIB, f"VmRSS grew {growth} KiB over {batches - 10} batches: {answer['rss']}"
