#!/usr/bin/env bash
# Runs php/tests/*.phpt with PHP's own run-tests.php against the built extension.
# -n: without php.ini, so an extension installed by `./build.sh install` is not loaded twice.
set -euo pipefail
cd "$ROOT"
runner=$(ls /usr/lib/php/*/build/run-tests.php | head -n1)
TEST_PHP_EXECUTABLE=$(command -v php) NO_INTERACTION=1 REPORT_EXIT_STATUS=1 \
  php -n "$runner" -n -q --show-diff -d "extension=$ROOT/target/release/librust_mail.so" php/tests
