<?php
// Diagnose an SMTP server from a shell with rust_mail_diagnose() and print what it found.
//
//   php -d extension=/path/to/librust_mail.so php/examples/diagnose.php --host=smtp.example.com --port=587 \
//       --username=site@example.com --password-env=SMTP_PASSWORD \
//       [--from=site@example.com --to=you@example.com [--send-test]] [--scan-ports[=25,587]] \
//       [--mx-domain=example.com] [--nameserver=127.0.0.1:53] [--ca-file=ca.pem] [--timeout=30]
//
// Options left out take the extension's own defaults, as rust_mail_send() would: the port from --security (or 25),
// the security from the port (465 tls, 587 starttls, else opportunistic), and auth 'auto' with a --username
// ('none' without one).
// The password is read from the environment variable named by --password-env, so it never
// appears in the shell history or the process list; it is never printed.
// Exit status: 0 when mail can be sent, 1 when the diagnosis found a problem, 2 on bad usage.

const USAGE = "usage: php -d extension=librust_mail.so diagnose.php --host=HOST [--port=PORT] [--security=none|starttls|opportunistic|tls]\n"
    . "       [--auth=none|plain|login|xoauth2|auto] [--username=USER] [--password-env=VAR] [--from=ADDR] [--to=ADDR]\n"
    . "       [--send-test] [--scan-ports[=P1,P2,...]] [--mx-domain=DOMAIN] [--nameserver=IP:PORT] [--ca-file=PEM]\n"
    . "       [--helo=NAME] [--timeout=SECONDS] [--help]\n";

function fail_usage(string $message): void
{
    fwrite(STDERR, ($message === '' ? '' : "diagnose.php: $message\n") . USAGE);
    exit(2);
}

// --help answers before anything else is checked: on stdout, with success.
if (in_array('--help', array_slice($argv, 1), true)) {
    echo USAGE;
    exit(0);
}

if (!function_exists('rust_mail_diagnose')) {
    fail_usage('the rust_mail extension is not loaded (php -d extension=/path/to/librust_mail.so ...)');
}

$opts = getopt('', [
    'host:', 'port:', 'security:', 'auth:', 'username:', 'password-env:', 'from:', 'to:', 'send-test',
    'scan-ports::', 'mx-domain:', 'nameserver:', 'ca-file:', 'helo:', 'timeout:', 'help',
]);
if ($opts === false) {
    fail_usage('');
}
if (!isset($opts['host']) && !isset($opts['mx-domain'])) {
    fail_usage('--host (or --mx-domain) is required');
}

// Only what was given: the extension defaults the rest (see above). With --mx-domain alone, the first MX host is
// the host.
$transport = [];
if (isset($opts['port'])) {
    $transport['port'] = (int) $opts['port'];
}
foreach (['host' => 'host', 'security' => 'security', 'auth' => 'auth', 'username' => 'username',
          'ca-file' => 'ca_file', 'helo' => 'helo'] as $flag => $key) {
    if (isset($opts[$flag])) {
        $transport[$key] = $opts[$flag];
    }
}
if (isset($opts['password-env'])) {
    $password = getenv($opts['password-env']);
    if ($password === false) {
        fail_usage("the environment variable {$opts['password-env']} is not set");
    }
    $transport['password'] = $password;
}

$options = [];
foreach (['from' => 'from', 'to' => 'to', 'mx-domain' => 'mx_domain', 'nameserver' => 'nameserver'] as $flag => $key) {
    if (isset($opts[$flag])) {
        $options[$key] = $opts[$flag];
    }
}
if (isset($opts['send-test'])) {
    $options['send_test'] = true;
}
if (isset($opts['timeout'])) {
    $options['timeout'] = (int) $opts['timeout'];
}
if (array_key_exists('scan-ports', $opts)) {
    // getopt gives false for a bare --scan-ports: probe the usual ports.
    $options['scan_ports'] = $opts['scan-ports'] === false
        ? true
        : array_map('intval', explode(',', $opts['scan-ports']));
}

$result = rust_mail_diagnose($transport, $options);

// One row per step; the detail column takes what is left of the line.
$rows = [['STEP', 'STATUS', 'TIME', 'DETAIL']];
foreach ($result['steps'] as $step) {
    $rows[] = [$step['name'], strtoupper($step['status']), sprintf('%.1f ms', $step['ms']), $step['detail']];
}
print_table($rows);

if (!empty($result['ports'])) {
    echo "\n";
    $rows = [['PORT', 'STATE', 'SERVICE']];
    foreach ($result['ports'] as $port) {
        $rows[] = [(string) $port['port'], $port['state'], $port['service'] ?? '-'];
    }
    print_table($rows);
}

$verdict = $result['verdict'];
echo "\nVerdict: {$verdict['cause']}\n";
echo "Summary: {$verdict['summary']}\n";
if ($verdict['advice']) {
    echo "Advice:\n";
    foreach ($verdict['advice'] as $line) {
        echo "  - $line\n";
    }
}
exit($result['ok'] ? 0 : 1);

function print_table(array $rows): void
{
    $widths = [];
    foreach ($rows as $row) {
        foreach ($row as $i => $cell) {
            $widths[$i] = max($widths[$i] ?? 0, strlen($cell));
        }
    }
    foreach ($rows as $row) {
        $last = count($row) - 1;
        $cells = [];
        foreach ($row as $i => $cell) {
            // The last column is not padded: no trailing blanks.
            $cells[] = $i === $last ? $cell : str_pad($cell, $widths[$i]);
        }
        echo rtrim(implode('  ', $cells)), "\n";
    }
}
