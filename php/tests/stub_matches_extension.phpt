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
preg_match_all('/^function (\w+)\((.*)\)/m', $stub, $m, PREG_SET_ORDER);
$declared = [];
foreach ($m as [, $name, $params]) {
    $declared[$name] = $params;
}
ksort($declared);
var_dump($registered === array_keys($declared));

foreach ($declared as $name => $params) {
    $fn = new ReflectionFunction($name);
    $actual = implode(', ', array_map(fn (ReflectionParameter $p) => sprintf(
        '%s$%s%s', $p->allowsNull() && $p->isOptional() ? '?array ' : 'array ', $p->getName(), $p->isOptional() ? ' = null' : ''
    ), $fn->getParameters()));
    echo $name, ': ', $actual === $params ? 'same' : "stub '$params' vs extension '$actual'", "\n";
}
var_dump(get_parent_class('RustMailException'));
var_dump(str_contains($stub, 'class RustMailException extends \Exception'));
?>
--EXPECT--
bool(true)
rust_mail_diagnose: same
rust_mail_explain: same
rust_mail_send: same
rust_mail_send_many: same
string(9) "Exception"
bool(true)
