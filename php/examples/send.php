<?php
/**
 * Sends one message with rust_mail_send() and prints what happened.
 *
 *   php -d extension=target/release/librust_mail.so php/examples/send.php \
 *       --host=localhost --port=25 --from=me@example.com --to=you@example.com [--username=U --password-env=VAR]
 *
 * The password is read from the environment variable named by --password-env, never from the command line
 * (where every user of the machine could read it in the process list).
 */

$options = getopt('', ['host:', 'port:', 'security:', 'username:', 'password-env:', 'from:', 'to:', 'subject:']);
foreach (['host', 'from', 'to'] as $required) {
    if (!isset($options[$required])) {
        fwrite(STDERR, "usage: php send.php --host=H [--port=P] [--security=S] --from=A --to=B [--username=U --password-env=VAR]\n");
        exit(2);
    }
}

$transport = ['host' => $options['host']];
if (isset($options['port'])) {
    $transport['port'] = (int) $options['port'];
}
if (isset($options['security'])) {
    $transport['security'] = $options['security'];
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
