--TEST--
Programming errors throw RustMailException naming the field; nothing is sent
--EXTENSIONS--
rust_mail
--FILE--
<?php
$msg = ['from' => 'me@example.com', 'to' => 'you@example.com', 'subject' => 'Hi', 'text' => 'x'];
$tr = ['host' => '127.0.0.1', 'port' => 9, 'timeout' => 2];
$cases = [
    'missing host'        => [$msg, ['port' => 25]],
    'bad port'            => [$msg, ['host' => 'h', 'port' => 70000]],
    'unknown key'         => [$msg, ['host' => 'h', 'pasword' => 'x']],
    'bad security'        => [$msg, ['host' => 'h', 'security' => 'ssl']],
    'auth without user'   => [$msg, ['host' => 'h', 'auth' => 'login']],
    'subject CRLF'        => [['subject' => "Hi\r\nBcc: evil@example.com"] + $msg, $tr],
    'to LF'               => [['to' => "you@example.com\nBcc: evil@example.com"] + $msg, $tr],
    'from NUL'            => [['from' => "me@example.com\0"] + $msg, $tr],
    'header value CRLF'   => [$msg + ['headers' => ["X-A: 1\r\nBcc: evil@example.com"]], $tr],
    'header name CRLF'    => [$msg + ['headers' => ["X-A\r\nBcc" => 'evil@example.com']], $tr],
    'invalid address'     => [['to' => 'not an address'] + $msg, $tr],
    'no domain'           => [['to' => 'bob@'] + $msg, $tr],
    'name => address'     => [['to' => ['Bob Smith' => 'bob@example.com']] + $msg, $tr],
    'Content-Type header' => [$msg + ['headers' => ['Content-Type: text/html']], $tr],
    'Date not a date'     => [$msg + ['headers' => ['Date' => 'next Tuesday']], $tr],
    'timeout zero'        => [$msg, ['host' => 'h', 'timeout' => 0]],
    'unreadable file'     => [$msg + ['attachments' => ['/nonexistent/file.pdf']], $tr],
    'wrong type'          => [['subject' => ['array']] + $msg, $tr],
    'timeout type'        => [$msg, ['host' => 'h', 'timeout' => 'soon']],
    'raw without envelope'=> [['raw' => "Subject: x\r\n\r\nbody"], $tr],
    'no recipient'        => [['to' => ''] + $msg, $tr],
];
foreach ($cases as $label => [$m, $t]) {
    try {
        rust_mail_send($m, $t);
        echo "$label: no exception\n";
    } catch (RustMailException $e) {
        echo "$label: ", $e->getMessage(), "\n";
    }
}
try {
    rust_mail_diagnose(['host' => 'h'], ['nameserver' => 'not-an-address']);
} catch (RustMailException $e) {
    echo "diagnose: ", $e->getMessage(), "\n";
}
try {
    rust_mail_send('not an array', []);
} catch (TypeError $e) {
    echo "TypeError for a string message\n";
}
?>
--EXPECTF--
missing host: $transport['host'] is required
bad port: $transport['port'] must be between 1 and 65535, got 70000
unknown key: $transport['pasword'] is not a known key (known: %s)
bad security: $transport['security'] must be one of none, starttls, opportunistic, tls, got 'ssl'
auth without user: $transport needs 'username' and 'password' when 'auth' is not 'none'
subject CRLF: $message['subject'] contains a line break or NUL byte (CR, LF or NUL): refused as header injection
to LF: $message['to'] contains a line break or NUL byte (CR, LF or NUL): refused as header injection
from NUL: $message['from'] contains a line break or NUL byte (CR, LF or NUL): refused as header injection
header value CRLF: $message['headers']['X-A'] contains a line break or NUL byte (CR, LF or NUL): refused as header injection
header name CRLF: $message['headers']['X-A\r\nBcc'] contains a line break or NUL byte (CR, LF or NUL): refused as header injection
invalid address: $message['to'] is not a valid address ('not an address'): 'not an address' has no '@' (an address is user@domain) (write user@example.com or Name <user@example.com>)
no domain: $message['to'] is not a valid address ('bob@'): there is no domain after the '@' (write user@example.com or Name <user@example.com>)
name => address: $message['to'] has a name as a key and an address as its value ('Bob Smith' => 'bob@example.com'): swap them, the key is the address: ['bob@example.com' => 'Bob Smith']
Content-Type header: $message['headers']['Content-Type']: Content-Type is not set as a custom header: it is made from $message['text'] (text/plain), $message['html'] (text/html; both: multipart/alternative), $message['charset'] and each attachment's 'type'
Date not a date: $message['headers']['Date'] 'next Tuesday' is not an RFC 5322 date of a day that exists, with its weekday (if given) right: write it as date(DATE_RFC2822) gives it, e.g. 'Tue, 1 Jul 2025 10:52:37 +0200'
timeout zero: $transport['timeout'] must be more than 0 and at most 3600 seconds, got 0
unreadable file: $message['attachments'][0] '/nonexistent/file.pdf' cannot be read: No such file or directory (os error 2)
wrong type: $message['subject'] must be a string, got array
timeout type: $transport['timeout'] must be a number of seconds
raw without envelope: $message['envelope'] is required with $message['raw'] (from and to)
no recipient: $message needs at least one recipient in 'to', 'cc' or 'bcc'
diagnose: $options['nameserver'] must be an address such as 127.0.0.1:53, got 'not-an-address'
TypeError for a string message
