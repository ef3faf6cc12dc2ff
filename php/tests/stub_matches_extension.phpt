--TEST--
The committed stub declares exactly the functions and class the extension registers
--EXTENSIONS--
rust_mail
--FILE--
<?php
$ext = new ReflectionExtension('rust_mail');
$registered = array_keys($ext->getFunctions());
sort($registered);

$stub = file_get_contents(__DIR__ . '/../rust_mail.stub.php');
preg_match_all('/^function (\w+)\((.*)\): (\w+) \{\}/m', $stub, $m, PREG_SET_ORDER);
$declared = [];
foreach ($m as [, $name, $params, $returns]) {
    $declared[$name] = "($params): $returns";
}
ksort($declared);
var_dump($registered === array_keys($declared));

// The real signature, as reflection (and so an IDE or PHPStan reading the arginfo) sees it.
foreach ($declared as $name => $signature) {
    $fn = new ReflectionFunction($name);
    $params = implode(', ', array_map(fn (ReflectionParameter $p) => sprintf(
        '%s $%s%s', $p->getType(), $p->getName(), $p->isOptional() ? ' = ' . strtolower(var_export($p->getDefaultValue(), true)) : ''
    ), $fn->getParameters()));
    $actual = "($params): {$fn->getReturnType()}";
    echo $name, ': ', $actual === $signature ? 'same' : "stub '$signature' vs extension '$actual'", "\n";
}
var_dump(get_parent_class('RustMailException'));
var_dump(str_contains($stub, 'class RustMailException extends \Exception'));
?>
--EXPECT--
bool(true)
rust_mail_compose: same
rust_mail_diagnose: same
rust_mail_explain: same
rust_mail_pool_close: same
rust_mail_send: same
rust_mail_send_many: same
string(9) "Exception"
bool(true)
