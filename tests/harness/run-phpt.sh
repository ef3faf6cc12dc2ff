#!/usr/bin/env bash
# Runs php/tests/*.phpt with PHP's own run-tests.php against the built extension (RUST_MAIL_SO, or
# target/release/librust_mail.so).
# -n: without php.ini, so an extension installed by `./build.sh install` is not loaded twice.
# An extension that does not load is a failure, never a skip: run-tests.php would skip every test whose
# --EXTENSIONS-- names it (or quietly load another copy from PHP's extension_dir), and report success.
set -euo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT"
so=${RUST_MAIL_SO:-$ROOT/target/release/librust_mail.so}
if ! loaded=$(php -n -d display_startup_errors=1 -d "extension=$so" \
      -r 'echo extension_loaded("rust_mail") ? "yes" : "no";' 2>&1) || [ "$loaded" != yes ]; then
  echo "run-phpt.sh: the rust_mail extension does not load from $so:" >&2
  echo "$loaded" >&2
  exit 1
fi
runner=$(ls /usr/lib/php/*/build/run-tests.php | head -n1)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
TEST_PHP_EXECUTABLE=$(command -v php) NO_INTERACTION=1 REPORT_EXIT_STATUS=1 \
  php -n "$runner" -n -q --show-diff -d "extension=$so" php/tests | tee "$log" || status=$?
if ! grep -Eq '^Tests skipped +: +0 ' "$log"; then
  echo "run-phpt.sh: tests were skipped; every phpt must run against $so" >&2
  exit 1
fi
exit "$status"
