--TEST--
phpinfo() shows the extension's version, TLS backend, pool state and ini settings
--EXTENSIONS--
rust_mail
--FILE--
<?php
ob_start();
phpinfo(INFO_MODULES);
$info = ob_get_clean();
foreach (['rust_mail support => enabled', 'version => ', 'TLS backend => rustls', 'idle pooled connections (this process) => 0', 'rust_mail.pool_idle_timeout => 120 => 120'] as $needle) {
    echo $needle, ': ', str_contains($info, $needle) ? 'found' : 'missing', "\n";
}
?>
--EXPECT--
rust_mail support => enabled: found
version => : found
TLS backend => rustls: found
idle pooled connections (this process) => 0: found
rust_mail.pool_idle_timeout => 120 => 120: found
