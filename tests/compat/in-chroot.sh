#!/usr/bin/env bash
# The compatibility run inside the chroot that tests/compat/compat.sh prepared: builds the extension for this PHP,
# runs the phpt once, then WP_TESTS against each WordPress. Prints one line per combination.
set -uo pipefail
cd /build/project
export CARGO_TARGET_DIR=/build/target ROOT=/build/project
SO=$CARGO_TARGET_DIR/release/librust_mail.so
PHP_FULL=$(php -r 'echo PHP_VERSION;')
ip link set lo up
# The WordPress tests of the compatibility run: what changed across core releases is wp_mail() itself (the
# differential, both engines), the outbox's delivery after wp_mail() has returned (faults, retries, the outcome's
# actions), the admin pages in Chromium (the walk from preset to diagnosis, each engine's settings page and log entry)
# the HTTPS APIs with the SMTP ports blocked (test_wp_api.py: the PHPMailer engine sends through core's HTTP API)
# and PHP's notices (test_wp_compat.py, last: it reads the whole run's log). -k picks by module or test name.
WP_TESTS=(tests/wp/test_wp_differential.py tests/wp/test_wp_outbox.py tests/wp/test_wp_e2e.py tests/wp/test_wp_engine.py
          tests/wp/test_wp_api.py tests/wp/test_wp_compat.py)
WP_SELECT="test_wp_differential or test_wp_compat or test_wp_api or stored_first or two_attempts or permanent_failure"
WP_SELECT+=" or transient_faults or a_451 or outcome or test_wp_e2e or admin_sees_the_engine"
WP_SELECT=${RUST_MAIL_COMPAT_SELECT:-$WP_SELECT}
WORDPRESSES=(/usr/share/wordpress /opt/wordpress-sid/usr/share/wordpress)

results=()
record() {  # record WHAT STATUS STARTED
  local took=$(( $(date +%s) - $3 ))
  results+=("$(printf '%-44s %-7s %dm%02ds' "$1" "$([ "$2" = 0 ] && echo passed || echo FAILED)" $((took / 60)) $((took % 60)))")
}

started=$(date +%s)
echo "== building the extension for PHP $PHP_FULL"
status=0
cargo build --release --quiet --offline || status=$?
record "build for PHP $PHP_FULL" $status "$started"
if [ $status != 0 ]; then printf '%s\n' "${results[@]}"; exit 1; fi

# The stacks share one MariaDB, started here as the chroot has no init system.
mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
mariadbd-safe --skip-networking >/dev/null 2>&1 &
for _ in $(seq 100); do mariadb-admin ping --silent >/dev/null 2>&1 && break; sleep 0.2; done

failed=0
started=$(date +%s)
echo "== PHP API tests (php/tests/*.phpt) on PHP $PHP_FULL"
status=0
RUST_MAIL_SO=$SO tests/harness/run-phpt.sh >/tmp/phpt.log 2>&1 || status=$?
grep -E '^Tests (passed|failed|skipped)' /tmp/phpt.log
[ $status = 0 ] || { tail -40 /tmp/phpt.log; failed=1; }
record "phpt, PHP $PHP_FULL" $status "$started"

# An extension built for another PHP: PHP refuses to load it and says why (its module API), and runs on without it.
if [ -f /build/other-php/librust_mail.so ]; then
  started=$(date +%s)
  status=0
  refusal=$(php -n -d extension=/build/other-php/librust_mail.so -r 'echo extension_loaded("rust_mail") ? "loaded" : "not loaded";' 2>&1) ||
    status=$?
  echo "$refusal"
  [[ $status = 0 && $refusal == *"Module compiled with module API="* && $refusal == *"not loaded" ]] || { status=1; failed=1; }
  record "another PHP's build refused by PHP $PHP_FULL" $status "$started"
fi

for wp in "${WORDPRESSES[@]}"; do
  version=$(php -r "include '$wp/wp-includes/version.php'; echo \$wp_version;")
  started=$(date +%s)
  echo "== WordPress $version on PHP $PHP_FULL: ${WP_TESTS[*]}"
  status=0
  WORDPRESS_DIR=$wp WP_DEBUG=1 RUST_MAIL_SO=$SO /usr/bin/python3 -m pytest -q -p no:cacheprovider -k "$WP_SELECT" \
    "${WP_TESTS[@]}" ||
    status=$?
  [ $status = 0 ] || failed=1
  record "WordPress $version, PHP $PHP_FULL" $status "$started"
done
mariadb-admin shutdown 2>/dev/null

echo "== compatibility run"
printf '%s\n' "${results[@]}"
exit $failed
