--TEST--
phpinfo() shows the extension's version, TLS backend and pool state
--EXTENSIONS--
rust_mail
--FILE--
<?php
ob_start();
phpinfo(INFO_MODULES);
$info = ob_get_clean();
foreach (['rust_mail support => enabled', 'version => ', 'TLS backend => rustls', 'idle pooled connections (this process) => 0'] as $needle) {
    echo $needle, ': ', str_contains($info, $needle) ? 'found' : 'missing', "\n";
}
?>
--EXPECT--
rust_mail support => enabled: found
version => : found
TLS backend => rustls: found
idle pooled connections (this process) => 0: found
