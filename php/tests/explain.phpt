--TEST--
rust_mail_explain() turns a failed send's error and reply into the diagnosis cause and advice
--EXTENSIONS--
rust_mail
--FILE--
<?php
$m365 = ['host' => 'smtp.office365.com', 'port' => 587, 'username' => 'site@example.com', 'password' => 'S3ntinel-Pa55'];
$without_password = ['host' => 'smtp.office365.com', 'port' => 587, 'auth' => 'login', 'username' => 'site@example.com'];
$cases = [
    'disabled tenant' => [['kind' => 'auth', 'message' => 'login failed', 'code' => 535, 'enhanced_code' => '5.7.139',
                           'reply' => 'Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.'], $m365],
    'send as'         => [['kind' => 'data_rejected', 'message' => 'refused', 'code' => 550, 'enhanced_code' => '5.7.60',
                           'reply' => 'SMTP; Client does not have permissions to send as this sender', 'from' => 'support@example.com'], $without_password],
    'dropped port'    => [['kind' => 'connect_timeout', 'message' => 'no answer from 192.0.2.1:25'], ['host' => 'mail.example.com', 'port' => 25]],
    'logged cause'    => [['kind' => 'sender_rejected', 'message' => 'refused', 'code' => 450, 'enhanced_code' => '4.7.1',
                           'reply' => 'Error: too much mail from 203.0.113.5', 'cause' => 'throttled', 'transient' => true,
                           'advice' => ['x'], 'stage' => 'mail'], ['host' => 'mail.example.com', 'port' => 587]],
    'old postfix row' => [['kind' => 'sender_rejected', 'message' => 'refused', 'code' => 553, 'enhanced_code' => '5.7.1',
                           'reply' => '<support@example.com>: Sender address rejected: not owned by user site@example.com'], $m365],
    'echoed password' => [['kind' => 'auth', 'message' => 'login failed', 'code' => 535, 'reply' => 'bad password S3ntinel-Pa55'], $m365],
];
foreach ($cases as $label => [$failure, $transport]) {
    $v = rust_mail_explain($failure, $transport);
    echo "$label: {$v['cause']}\n  {$v['summary']}\n  {$v['advice'][0]}\n";
}
try {
    rust_mail_explain(['kind' => 'nonsense'], $m365);
} catch (RustMailException $e) {
    echo $e->getMessage(), "\n";
}
?>
--EXPECT--
disabled tenant: auth_disabled
  SMTP login is switched off for site@example.com or its Microsoft 365 tenant (5.7.139): 535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.
  In the Microsoft 365 admin center, enable Authenticated SMTP for the mailbox (Mail > Manage email apps), and check that security defaults or conditional access do not block it.
send as: sender_not_allowed
  site@example.com may not send as support@example.com (the From address differs from the mailbox): 550 5.7.60 SMTP; Client does not have permissions to send as this sender.
  Grant site@example.com the "Send As" right on support@example.com (Microsoft 365: Exchange admin center > mailbox > delegation).
dropped port: port_blocked
  Nothing answered on mail.example.com:25: a firewall between this site and the server is dropping the connection.
  Ask the hosting provider whether outbound port 25 is blocked; many block port 25, some also 465 and 587.
logged cause: throttled
  mail.example.com:587 is limiting how fast this account may send (messages a minute or an hour, or connections at once): 450 4.7.1 Error: too much mail from 203.0.113.5.
  A rate limit clears within minutes: retry later; the mail is not lost if the site queues and retries.
old postfix row: sender_not_allowed
  site@example.com may not send as the From address (the From address differs from the mailbox): 553 5.7.1 <support@example.com>: Sender address rejected: not owned by user site@example.com.
  Grant site@example.com the "Send As" right on the From address (Microsoft 365: Exchange admin center > mailbox > delegation).
echoed password: auth_failed
  smtp.office365.com:587 refused the login of site@example.com: 535 bad password [redacted].
  Check username 'site@example.com' and the password (or token).
$failure['kind'] must be one of dns, connect_refused, connect_timeout, tls, auth, sender_rejected, recipient_rejected, data_rejected, timeout, protocol, got 'nonsense'
