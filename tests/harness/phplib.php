<?php
// JSON helpers shared by phpcall.php and snippets run with PhpRunner.run().
// Binary strings cross the JSON boundary as {"__b64": "..."} in both directions.

function harness_decode($value) {
    if (is_array($value)) {
        if (count($value) === 1 && array_key_exists('__b64', $value)) {
            return base64_decode($value['__b64'], true);
        }
        return array_map('harness_decode', $value);
    }
    return $value;
}

function harness_encode($value) {
    if (is_string($value) && !mb_check_encoding_fallback($value)) {
        return ['__b64' => base64_encode($value)];
    }
    if (is_array($value)) {
        return array_map('harness_encode', $value);
    }
    return $value;
}

// mbstring is not loaded under `php -n`; preg's /u validates UTF-8 just as well.
function mb_check_encoding_fallback($s) {
    return preg_match('//u', $s) === 1;
}

function harness_exception($e) {
    if ($e === null) {
        return null;
    }
    return [
        'class' => get_class($e),
        'parents' => array_values(class_parents($e)),
        'message' => harness_encode($e->getMessage()),
    ];
}

function harness_print($value) {
    echo json_encode(harness_encode($value), JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR), "\n";
}
