<?php
// Reads {"fn": NAME, "args": [...]} from stdin, calls the function, prints
// {"result": ..., "exception": null | {"class", "parents", "message"}} as JSON.
// Given {"calls": [{"fn", "args"}, ...]} instead, makes each call in turn in this one process and prints the list.
require __DIR__ . '/phplib.php';

function harness_call($call) {
    $result = null;
    $exception = null;
    try {
        $result = call_user_func_array($call['fn'], harness_decode($call['args']));
    } catch (\Throwable $e) {
        $exception = $e;
    }
    return ['result' => $result, 'exception' => harness_exception($exception)];
}

$request = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
harness_print(isset($request['calls']) ? array_map('harness_call', $request['calls']) : harness_call($request));
