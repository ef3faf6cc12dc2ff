<?php
// Reads {"fn": NAME, "args": [...]} from stdin, calls the function, prints
// {"result": ..., "exception": null | {"class", "parents", "message"}} as JSON.
require __DIR__ . '/phplib.php';

$request = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
$result = null;
$exception = null;
try {
    $result = call_user_func_array($request['fn'], harness_decode($request['args']));
} catch (\Throwable $e) {
    $exception = $e;
}
harness_print(['result' => $result, 'exception' => harness_exception($exception)]);
