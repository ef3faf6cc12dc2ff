#!/usr/bin/env bash
# rust-mail: the one entry point.
#   ./build.sh build    release build of the PHP extension (target/release/librust_mail.so)
#   ./build.sh install  build, then install into the PHP that php-config names (CLI and FPM)
#   ./build.sh test     install what the tests need, build, run every test
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
# Depends; wrk's LuaJIT too.
PACKAGES=(
  php8.2-cli php8.2-dev php8.2-fpm php8.2-mysql php8.2-mbstring php8.2-xml php8.2-curl
  clang libclang-dev pkg-config
  postfix swaks libnet-ssleay-perl python3-aiosmtpd python3-pytest dnsmasq-base iptables iproute2 openssl
  mariadb-server wordpress nginx chromium nodejs
  valgrind wrk
  dovecot-core python3-matplotlib
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

run_tests() {
  deps
  build
  echo "== Rust unit tests"
  cargo test --quiet --no-default-features
  echo "== PHP API tests (php/tests/*.phpt)"
  tests/harness/run-phpt.sh
  echo "== integration and end-to-end tests (tests/)"
  RUST_MAIL_SO="$SO" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/
}

run_bench() {
  deps
  build
  echo "== benchmark: stock wp_mail(), the plugin, rust_mail_send(), rust_mail_send_many(), smtp-source"
  RUST_MAIL_SO="$SO" /usr/bin/python3 tests/bench/bench_report.py --out "$ROOT/bench" "$@"
}

case "${1:-}" in
  build)   build ;;
  install) deps; install_ext ;;
  test)    run_tests ;;
  demo)    deps; install_ext; tests/harness/demo.sh ;;
  bench)   shift; run_bench "$@" ;;
  *) echo "usage: $0 build|install|test|demo|bench" >&2; exit 2 ;;
esac
