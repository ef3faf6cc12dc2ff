<?php
/**
 * Sends one message with rust_mail_send() and prints what happened.
 *
 *   php -d extension=target/release/librust_mail.so php/examples/send.php \
 *       --host=localhost --port=25 --from=me@example.com --to=you@example.com [--subject=TEXT] \
 *       [--security=none|starttls|opportunistic|tls] [--ca-file=ca.pem] [--username=U --password-env=VAR]
 *
 * Options left out take the extension's defaults (the port from --security, the security from the port, auth 'auto'
 * with a --username). --ca-file trusts the CA certificates in that PEM file (a private or test CA) instead of the
 * system's. The password is read from the environment variable named by --password-env (SMTP_PASSWORD when left
 * out), never from the command line (where every user of the machine could read it in the process list).
 * Exit status: 0 when sent, 1 when the server or the network refused it, 2 on bad usage or input.
 */

const USAGE = "usage: php -d extension=librust_mail.so send.php --host=HOST [--port=PORT] --from=ADDR --to=ADDR\n"
    . "       [--subject=TEXT] [--security=none|starttls|opportunistic|tls] [--ca-file=PEM]\n"
    . "       [--username=USER [--password-env=VAR]] [--help]\n";

// --help answers before anything else is checked: on stdout, with success.
if (in_array('--help', array_slice($argv, 1), true)) {
    echo USAGE;
    exit(0);
}

$options = getopt('', ['host:', 'port:', 'security:', 'ca-file:', 'username:', 'password-env:', 'from:', 'to:',
                       'subject:', 'help']);
foreach (['host', 'from', 'to'] as $required) {
    if ($options === false || !isset($options[$required])) {
        fwrite(STDERR, "send.php: --$required is required\n" . USAGE);
        exit(2);
    }
}
if (!function_exists('rust_mail_send')) {
    fwrite(STDERR, "send.php: the rust_mail extension is not loaded (php -d extension=/path/to/librust_mail.so ...)\n");
    exit(2);
}

$transport = ['host' => $options['host']];
if (isset($options['port'])) {
    $transport['port'] = (int) $options['port'];
}
if (isset($options['security'])) {
    $transport['security'] = $options['security'];
}
if (isset($options['ca-file'])) {
    $transport['ca_file'] = $options['ca-file'];
}
if (isset($options['username'])) {
    $transport['username'] = $options['username'];
    $transport['password'] = (string) getenv($options['password-env'] ?? 'SMTP_PASSWORD');
}

try {
    $result = rust_mail_send([
        'from'    => $options['from'],
        'to'      => $options['to'],
        'subject' => $options['subject'] ?? 'Hello from rust_mail',
        'text'    => "Sent with rust_mail_send().\n",
    ], $transport);
} catch (RustMailException $e) {
    fwrite(STDERR, "invalid input: {$e->getMessage()}\n");
    exit(2);
}

foreach ($result['transcript'] as $entry) {
    printf("%8.2f ms  %-6s %s\n", $entry['ms'], $entry['dir'], $entry['line']);
}
if ($result['ok']) {
    printf("\nsent %s to %s in %.1f ms\n", $result['message_id'], implode(', ', $result['accepted']), $result['timings']['total']);
    exit(0);
}
printf("\nnot sent (%s%s): %s\n", $result['error']['kind'], $result['error']['transient'] ? ', try again later' : '', $result['error']['message']);
exit(1);
