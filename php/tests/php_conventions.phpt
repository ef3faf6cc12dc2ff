--TEST--
Refusals follow PHP's conventions: file, line and trace of the call; PHP's own TypeError; one coercion rule; the ini setting
--EXTENSIONS--
rust_mail
--FILE--
<?php
function send_from_here() {
    rust_mail_send(['to' => 'you@example.com'], ['host' => '127.0.0.1']); // line 3: no 'from'
}
try {
    send_from_here();
} catch (RustMailException $e) {
    echo basename($e->getFile()), ':', $e->getLine(), ' ', $e->getMessage(), "\n";
    echo 'trace: ', implode(' < ', array_map(fn ($frame) => $frame['function'], $e->getTrace())), "\n";
}

// The wording of PHP's own internal functions, e.g. array_keys('x').
foreach ([
    fn () => rust_mail_send('not an array', []),
    fn () => rust_mail_send([], 42),
    fn () => rust_mail_send_many([], [], 'x'),
    fn () => rust_mail_diagnose(null),
    fn () => rust_mail_explain([], new stdClass()),
] as $call) {
    try {
        $call();
        echo "no TypeError\n";
    } catch (TypeError $e) {
        echo $e->getMessage(), ' (line ', $e->getLine(), ")\n";
    }
}
// An explicit null for an optional array is the same as leaving it out.
echo 'null options: ', rust_mail_diagnose(['host' => '127.0.0.1', 'port' => 9, 'timeout' => 1], null)['ok'] ? 'ok' : 'ran', "\n";

// One rule for scalars: numeric strings for numbers, the strings a form or ini file holds for bools; nothing else.
$msg = ['from' => 'me@example.com', 'to' => 'you@example.com', 'text' => 'x'];
foreach ([
    ['port' => '9'], ['port' => 9.0], ['timeout' => ' 1.5 '], ['pool' => 'false'], ['pool' => 'On'], ['verify_peer' => ''],
    ['chunking' => 0], ['pool' => 'nope'], ['verify_peer' => 2], ['port' => '25 or 587'], ['pool' => 1.0],
] as $given) {
    try {
        $result = rust_mail_send($msg, $given + ['host' => '127.0.0.1', 'port' => 9, 'timeout' => 1]);
        echo json_encode($given), ': accepted (', $result['error']['kind'], ")\n";
    } catch (RustMailException $e) {
        echo json_encode($given), ': ', $e->getMessage(), "\n";
    }
}

// rust_mail.pool_idle_timeout: whole seconds from 1 to 3600.
echo ini_get('rust_mail.pool_idle_timeout'), "\n";
var_dump(ini_set('rust_mail.pool_idle_timeout', '0'), ini_set('rust_mail.pool_idle_timeout', '2.5'), ini_set('rust_mail.pool_idle_timeout', '30'));
echo ini_get('rust_mail.pool_idle_timeout'), "\n";
var_dump(rust_mail_pool_close());
?>
--EXPECTF--
php_conventions.php:3 $message['from'] is required
trace: rust_mail_send < send_from_here
rust_mail_send(): Argument #1 ($message) must be of type array, string given (line 14)
rust_mail_send(): Argument #2 ($transport) must be of type array, int given (line 15)
rust_mail_send_many(): Argument #3 ($options) must be of type array, string given (line 16)
rust_mail_diagnose(): Argument #1 ($transport) must be of type array, null given (line 17)
rust_mail_explain(): Argument #2 ($transport) must be of type array, stdClass given (line 18)
null options: ran
{"port":"9"}: accepted (connect_refused)
{"port":9}: accepted (connect_refused)
{"timeout":" 1.5 "}: accepted (connect_refused)
{"pool":"false"}: accepted (connect_refused)
{"pool":"On"}: accepted (connect_refused)
{"verify_peer":""}: accepted (connect_refused)
{"chunking":0}: accepted (connect_refused)
{"pool":"nope"}: $transport['pool'] must be a bool (true, false, 1, 0, or one of the strings '1', 'true', 'on', 'yes', '0', 'false', 'off', 'no', ''), got 'nope'
{"verify_peer":2}: $transport['verify_peer'] must be a bool, got int
{"port":"25 or 587"}: $transport['port'] must be an integer
{"pool":1}: $transport['pool'] must be a bool, got float
120
bool(false)
bool(false)
string(3) "120"
30
int(0)
