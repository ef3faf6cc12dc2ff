#!/usr/bin/env bash
# rust-mail: the one entry point.
#   ./build.sh build    release build of the PHP extension (target/release/librust_mail.so)
#   ./build.sh install  build, then install into the PHP that php-config names (CLI and FPM)
#   ./build.sh package  dist/rust-mail-<version>-php<X.Y>.zip: the plugin, its readme and the extension built for
#                       this PHP (for hosts where a control panel, not a shell, loads extensions); after
#                       ./build.sh compat, a zip for PHP 8.4 too
#   ./build.sh rules    export the classifier's rules and verdict texts to wp-plugin/data/classifier.json (commit it)
#   ./build.sh pot [FILE]  the plugin's translatable strings, with the translators' comments, as a gettext template
#                       (default wp-plugin/languages/rust-mail.pot), for translators and translation tools
#   ./build.sh test     install what the tests need, build, run every test
#   ./build.sh compat   the compatibility run: the extension built for PHP 8.4 and tested with WordPress 6.8 and 7.1
#                       in a Debian trixie chroot (tests/compat/compat.sh; cached in /var/tmp/rust-mail-compat)
#   ./build.sh demo     WordPress on MariaDB + PHP-FPM with the plugin and a local SMTP server
#   ./build.sh bench    install what it needs, build, benchmark against stock WordPress (a few minutes):
#                       writes bench/results.md and bench/results.png (--quick: a tenth of the counts)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
export ROOT
SO="$ROOT/target/release/librust_mail.so"

# Debian packages the build, the tests and the demo use. Checked first so that
# a machine that has them all does not wait on apt. Installed without Recommends, so a
# library a program needs only for what the tests do with it is named here too:
# libnet-ssleay-perl for swaks's STARTTLS (a Recommends of swaks). valgrind's one runtime need, libc6-dbg, is a
# Depends; wrk's LuaJIT too. php8.2-zip: WordPress zips a personal data export (tests/wp/test_wp_privacy.py). curl: an
# independent client (its own SigV4 and multipart) for the API contract servers' self-tests (tests/test_api_servers.py);
# python3-h2: those servers speak HTTP/2 too, when a test asks (harness/api_servers.py). gettext: ./build.sh pot.
# php-excimer: the sampling profiler of tests/bench/bench_plugin.py.
# python3-dkim (dkimpy; its Depends bring dnspython and nacl for Ed25519): the independent DKIM verifier of
# tests/test_dkim.py.
PACKAGES=(
  php8.2-cli php8.2-dev php8.2-fpm php8.2-mysql php8.2-mbstring php8.2-xml php8.2-curl php8.2-zip
  clang libclang-dev pkg-config
  postfix swaks libnet-ssleay-perl python3-aiosmtpd python3-pytest dnsmasq-base iptables iproute2 openssl curl python3-h2
  mariadb-server wordpress nginx chromium nodejs
  valgrind wrk
  dovecot-core python3-matplotlib gettext php-excimer python3-dkim
)

deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing: ${missing[*]}"
    printf '%s\n' "postfix postfix/main_mailer_type select Local only" \
                  "postfix postfix/mailname string localhost" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
  # Debian splits npm from nodejs; NodeSource's nodejs bundles it.
  command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm
  command -v cargo >/dev/null || { echo "cargo (Rust 1.85 or newer) is required: install it with rustup" >&2; exit 1; }
}

build() {
  cargo build --release --quiet
  echo "== built $SO"
}

install_ext() {
  build
  local dir ini_dir version
  dir=$(php-config --extension-dir)
  version=$(php-config --version | cut -d. -f1,2)
  install -m 0644 "$SO" "$dir/rust_mail.so"
  ini_dir=/etc/php/$version/mods-available
  echo "extension=rust_mail.so" > "$ini_dir/rust_mail.ini"
  phpenmod -v "$version" rust_mail
  echo "== installed rust_mail into $dir (ini: $ini_dir/rust_mail.ini, enabled for CLI and FPM)"
}

# The plugin explains failures without the extension from this file; a Rust test
# (src/export.rs) fails when it differs from what the classifier exports.
rules() {
  local out="$ROOT/wp-plugin/data/classifier.json"
  mkdir -p "$(dirname "$out")"
  cargo run --quiet --no-default-features --example export_rules > "$out.tmp"
  mv "$out.tmp" "$out"
  echo "== wrote $out"
}

# WordPress's translation functions, as xgettext keywords: the message's arguments, and a context (c).
POT_KEYWORDS=(__:1 _e:1 esc_html__:1 esc_html_e:1 esc_attr__:1 esc_attr_e:1 _x:1,2c _ex:1,2c esc_html_x:1,2c
              esc_attr_x:1,2c _n:1,2 _nx:1,2,4c _n_noop:1,2 _nx_noop:1,2,3c)

pot() {
  local out=${1:-"$ROOT/wp-plugin/languages/rust-mail.pot"} version
  command -v xgettext >/dev/null || deps
  version=$(sed -n 's/^ \* Version: *//p' wp-plugin/rust-mail.php)
  mkdir -p "$(dirname "$out")"
  (cd wp-plugin && find . -name '*.php' | sort |
    xgettext --files-from=- --language=PHP --from-code=UTF-8 --add-comments=translators: --sort-by-file \
      "${POT_KEYWORDS[@]/#/--keyword=}" --package-name="Rust Mail" --package-version="$version" -o "$out")
  echo "== wrote $out ($(grep -c '^msgid ' "$out") strings)"
}

# The plugin folder as WordPress's "Upload Plugin" takes it, with the extension for one PHP beside the plugin's
# files in rust-mail/extension/ (a host's control panel loads it from wherever it is copied to): one zip for this
# machine's PHP, and one for each other PHP that ./build.sh compat built the extension for (target/php<X.Y>/).
package() {
  build
  package_for "$(php-config --version | cut -d. -f1,2)" "$SO"
  local other
  for other in "$ROOT"/target/php*/librust_mail.so; do
    if [ -f "$other" ]; then package_for "$(basename "$(dirname "$other")" | sed 's/^php//')" "$other"; fi
  done
}

package_for() {  # package_for X.Y SO
  local php=$1 so=$2 version out stage
  version=$(sed -n 's/^ \* Version: *//p' wp-plugin/rust-mail.php)
  out="$ROOT/dist/rust-mail-$version-php$php.zip"
  stage=$(mktemp -d)
  cp -r wp-plugin "$stage/rust-mail"
  mkdir -p "$stage/rust-mail/extension"
  install -m 0644 "$so" "$stage/rust-mail/extension/rust_mail.so"
  cat > "$stage/rust-mail/extension/README.txt" <<EOF
rust_mail.so: the rust_mail PHP extension for PHP $php on $(uname -m) Linux, built from rust-mail $version.
It loads only into PHP $php: another PHP refuses it at start-up ("Module compiled with module API=...").
Take the zip named for your PHP: rust-mail-$version-php<X.Y>.zip.
The plugin works without it (through PHPMailer); with it, mail is pooled, pipelined and diagnosable.

1. Copy rust_mail.so where PHP can read it, outside the web root if you can.
2. Add to PHP's settings (php.ini, or the control panel's PHP settings / INI editor):
       extension=/full/path/to/rust_mail.so
3. Restart PHP-FPM (or the web server), then check: "php -m" lists rust_mail, and
   Rust Mail > Settings says "Engine: rust_mail extension".
EOF
  mkdir -p "$ROOT/dist"
  rm -f "$out"
  (cd "$stage" && /usr/bin/python3 -m zipfile -c "$out" rust-mail)
  rm -rf "$stage"
  echo "== packaged $out"
}

# Tests bound to a few milliseconds (test_chunking.py) or to a second (test_deadlines.py): no other tier runs beside
# them.
TIMING_TESTS=(tests/test_chunking.py tests/test_deadlines.py)
# The WordPress tests that run in the first lane, after the API tests, so that both lanes take about as long
FIRST_LANE_WP_TESTS=(tests/wp/test_wp_outbox.py tests/wp/test_wp_alerts.py)

run_tests() {
  deps
  build
  echo "== Rust format and lints"
  cargo fmt --check
  cargo clippy --quiet --all-targets --no-default-features -- -D warnings
  echo "== Rust unit tests"
  cargo test --quiet --no-default-features
  echo "== PHP API tests (php/tests/*.phpt)"
  tests/harness/run-phpt.sh
  echo "== integration and end-to-end tests (tests/), in tiers"
  pytest_tier "timing tests" "${TIMING_TESTS[@]}"
  # The API and the WordPress tests share nothing (servers on ports the kernel gives; each pytest run has its own
  # WordPress stack: database, directory and ports): two lanes side by side, one per core, of about the same length,
  # each line marked with its lane.
  local first second failed=0
  ( (pytest_tier "API and diagnose tests" tests/ --ignore=tests/wp "${TIMING_TESTS[@]/#/--ignore=}" -m "not soak"
     pytest_tier "WordPress outbox and alerts tests" "${FIRST_LANE_WP_TESTS[@]}" -m "not soak") 2>&1 |
     sed -u 's/^/[1] /') &
  first=$!
  (pytest_tier "the other WordPress tests" tests/wp "${FIRST_LANE_WP_TESTS[@]/#/--ignore=}" -m "not soak" 2>&1 |
    sed -u 's/^/[2] /') &
  second=$!
  wait "$first" || failed=1
  wait "$second" || failed=1
  [ "$failed" = 0 ]
  pytest_tier "soak tests: RSS loop, valgrind, load, package, rules export, Chromium" tests/ -m soak
}

# One tier of tests/: its name, then pytest's arguments. Says how long the tier took.
pytest_tier() {
  local name=$1 started=$SECONDS
  shift
  echo "== $name"
  RUST_MAIL_SO="$SO" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$@"
  echo "== $name: $((SECONDS - started)) s"
}

run_bench() {
  deps
  build
  echo "== benchmark: stock wp_mail(), the plugin, rust_mail_send(), rust_mail_send_many(), smtp-source"
  RUST_MAIL_SO="$SO" /usr/bin/python3 tests/bench/bench_report.py --out "$ROOT/bench" "$@"
}

case "${1:-}" in
  build)   build ;;
  rules)   rules ;;
  pot)     pot "${2:-}" ;;
  package) package ;;
  install) deps; install_ext ;;
  test)    run_tests ;;
  compat)  tests/compat/compat.sh ;;
  demo)    deps; install_ext; tests/harness/demo.sh ;;
  bench)   shift; run_bench "$@" ;;
  *) echo "usage: $0 build|install|package|rules|pot|test|compat|demo|bench" >&2; exit 2 ;;
esac
