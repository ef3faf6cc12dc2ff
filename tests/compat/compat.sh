#!/usr/bin/env bash
# ./build.sh compat: the extension and the plugin on today's WordPress and PHP, next to the Debian 12 run of
# ./build.sh test. A Debian trixie chroot (PHP 8.4, MariaDB, nginx, PHP-FPM), in namespaces of its own (mounts,
# processes, and a network with only its own loopback, so its servers clash with nothing on this machine), builds the
# extension for PHP 8.4 and runs, against each WordPress:
#   - WordPress 6.8 (trixie's apt)
#   - WordPress 7.1 (sid's wordpress, libphp-phpmailer and php-getid3, unpacked with dpkg-deb -x into /opt/wordpress-sid;
#     sid is never among the chroot's apt sources)
# the phpt (once: they do not involve WordPress), then the WordPress tests that tests/compat/in-chroot.sh names. One
# line per combination: passed or failed, and the time it took. A build that passed is left in target/php8.4/ for
# ./build.sh package.
#
# RUST_MAIL_COMPAT_SELECT: a pytest -k expression that replaces the run's choice of WordPress tests (while working on
# one of them).
# Cached in RUST_MAIL_COMPAT_CACHE (/var/tmp/rust-mail-compat): the base system (debootstrap), a layer with the
# packages (an overlay upper; rebuilt when the package list changes) and cargo's target directory. Each run gets a
# throw-away overlay on top of those, and a copy of the project's files. Delete the directory to start cold.
# Needs root.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${RUST_MAIL_COMPAT_CACHE:-/var/tmp/rust-mail-compat}
SUITE=trixie
PHP_VERSION=8.4
# The Debian mirror this machine's apt uses (its main archive, not the security one), for trixie and sid alike.
MIRROR=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs: *//p' | tr ' ' '\n' | grep -v security | head -n1)
[ -n "$MIRROR" ] || MIRROR=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$MIRROR" ] || { echo "compat: no Debian mirror in this machine's apt sources" >&2; exit 1; }
PACKAGES=(
  "php$PHP_VERSION-cli" "php$PHP_VERSION-dev" "php$PHP_VERSION-fpm" "php$PHP_VERSION-mysql" "php$PHP_VERSION-mbstring"
  "php$PHP_VERSION-xml" "php$PHP_VERSION-curl" "php$PHP_VERSION-zip"
  clang libclang-dev pkg-config gcc make ca-certificates
  mariadb-server nginx wordpress python3-aiosmtpd python3-pytest iproute2 openssl
  # the HTTPS API contract servers (HTTP/2), in a network namespace whose iptables block the SMTP ports, with
  # smtp-sink (postfix) as the SMTP fallback there
  python3-h2 iptables postfix
  # the admin pages in a browser: trixie's Chromium, driven by playwright-core (installed on this machine, copied in)
  chromium nodejs
  # what sid's wordpress links and trixie's does not bring
  libjs-jquery-ui
)
# WordPress 7.1 and the two libraries Debian's package takes from the system instead of bundling them.
SID_PACKAGES=(wordpress libphp-phpmailer php-getid3)
E2E_MODULES=tests/wp/e2e/node_modules
# Run heavy work gently: these machines are shared with timing-sensitive tests.
NICE=(nice -n 19 ionice -c3)

log() { echo "== compat: $*"; }

# The packages layer's name changes with its contents, so a changed list builds a new one.
layer_id() { printf '%s\n' "$SUITE" "${PACKAGES[@]}" -- "${SID_PACKAGES[@]}" "$(sed -n '/^prepare_layer()/,/^}/p' "$0")" | sha256sum | cut -c1-12; }

# Everything below runs in its own mount and process namespaces (`unshare -m -p -f`): the mounts vanish with it, and
# so does every process the run started (MariaDB, PHP-FPM, nginx, test servers) when its first process ends.
mount_root() {  # mount_root MERGED UPPER LOWER...
  local merged=$1 upper=$2; shift 2
  local lower; lower=$(IFS=:; echo "$*")
  mkdir -p "$merged" "$upper/upper" "$upper/work"
  mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper/upper,workdir=$upper/work" "$merged"
  mount -t proc proc "$merged/proc"
  mount --rbind /dev "$merged/dev"
  mount -t tmpfs tmpfs "$merged/run"; mkdir -p "$merged/run/lock"
  # What every machine of this kind has: its trusted certificates and its package clients' settings.
  cp /etc/ssl/certs/ca-certificates.crt "$merged/etc/ssl/certs/" 2>/dev/null || true
  cp -r /usr/local/share/ca-certificates/. "$merged/usr/local/share/ca-certificates/" 2>/dev/null || true
  cp -n /etc/apt/apt.conf.d/* "$merged/etc/apt/apt.conf.d/" 2>/dev/null || true
  for f in /etc/pip.conf /root/.npmrc; do [ -f "$f" ] && cp "$f" "$merged$f"; done
  [ -d /root/.config/pip ] && mkdir -p "$merged/root/.config" && cp -r /root/.config/pip "$merged/root/.config/"
  cp /etc/resolv.conf "$merged/etc/resolv.conf"
}

# Inside the chroot, once: the packages, and sid's WordPress. Services are not started by the packages' scripts.
prepare_layer() {
  cat > /usr/sbin/policy-rc.d <<'EOF'
#!/bin/sh
exit 101
EOF
  chmod +x /usr/sbin/policy-rc.d
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "$@" >/var/log/compat-apt.log
  # sid's packages through apt with a private list and state directory: apt checks the archive's signatures, and the
  # chroot's own sources (trixie) never see sid.
  local state=/var/tmp/sid-apt
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial" /var/tmp/sid-debs
  chown _apt /var/tmp/sid-debs  # apt downloads as _apt
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR sid main" > "$state/sources.list"
  # The mirror may serve a dated snapshot, whose sid Release is past its Valid-Until (trixie's has none): its
  # signature is still checked.
  local sid=(-o "Dir::Etc::SourceList=$state/sources.list" -o Dir::Etc::SourceParts=/nonexistent
             -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache" -o Acquire::Languages=none
             -o Acquire::Check-Valid-Until=false)
  apt-get "${sid[@]}" update -q
  (cd /var/tmp/sid-debs && apt-get "${sid[@]}" download $SID_PACKAGE_LIST)
  mkdir -p /opt/wordpress-sid
  for deb in /var/tmp/sid-debs/*.deb; do dpkg-deb -x "$deb" /opt/wordpress-sid; done
  # Links as if the packages were installed: an absolute one (to /etc/wordpress...) into the unpacked tree, a relative
  # one to a package not unpacked (libjs-underscore...) to trixie's copy, which trixie's wordpress brought.
  local sid=/opt/wordpress-sid link target system
  find "$sid" -type l | while read -r link; do
    target=$(readlink "$link")
    if [[ $target == /* ]]; then
      if [ -e "$sid$target" ]; then ln -sfn "$sid$target" "$link"; fi
    elif [ ! -e "$link" ]; then
      system=$(realpath -m "$(dirname "$link")/$target")
      system=${system#"$sid"}
      if [ -e "$system" ]; then ln -sfn "$system" "$link"; fi
    fi
  done
  rm -rf "$state" /var/tmp/sid-debs /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
}

inside() {  # inside STAGE: runs in the namespaces, as root on the host's side of the chroot
  local stage=$1 root
  root=$(mktemp -d "$CACHE/mnt.XXXXXX")  # not $$: in its own process namespace this script is always 1
  case "$stage" in
    layer)
      mount_root "$root" "$CACHE/layer-$(layer_id).tmp" "$CACHE/base"
      chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin MIRROR="$MIRROR" \
        SID_PACKAGE_LIST="${SID_PACKAGES[*]}" /bin/bash -c "set -euo pipefail; $(declare -f prepare_layer); prepare_layer ${PACKAGES[*]}"
      umount -R "$root" && rmdir "$root"
      ;;
    run)
      local upper; upper=$(mktemp -d "$CACHE/run.XXXXXX")
      mount_root "$root" "$upper" "$CACHE/layer-$(layer_id)/upper" "$CACHE/base"
      # The project as committed plus what is changed in the work tree, without build output.
      mkdir -p "$root/build/project" "$root/build/target" "$CACHE/target" "$CACHE/cargo-upper"
      (cd "$REPO" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - 2>/dev/null) |
        tar -C "$root/build/project" -xf -
      tar -C "$REPO" -cf - "$E2E_MODULES" | tar -C "$root/build/project" -xf -
      # This machine's build, for PHP 8.2: PHP 8.4 must refuse it with a message that says why.
      if [ -f "$REPO/target/release/librust_mail.so" ]; then
        mkdir -p "$root/build/other-php" && cp "$REPO/target/release/librust_mail.so" "$root/build/other-php/"
      fi
      mount --bind "$CACHE/target" "$root/build/target"
      # This machine's Rust toolchain, read-only; cargo's own writes (registry cache, locks) go to an overlay.
      mkdir -p "$root/root/.rustup" "$root/root/.cargo"
      mount --bind -o ro "${RUSTUP_HOME:-$HOME/.rustup}" "$root/root/.rustup"
      mkdir -p "$CACHE/cargo-upper/upper" "$CACHE/cargo-upper/work"
      mount -t overlay overlay -o "lowerdir=${CARGO_HOME:-$HOME/.cargo},upperdir=$CACHE/cargo-upper/upper,workdir=$CACHE/cargo-upper/work" "$root/root/.cargo"
      local status=0
      chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI="${CI:-}" PHP_VERSION="$PHP_VERSION" \
        RUST_MAIL_COMPAT_SELECT="${RUST_MAIL_COMPAT_SELECT:-}" \
        PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/bash /build/project/tests/compat/in-chroot.sh || status=$?
      umount -R "$root" 2>/dev/null || umount -lR "$root" || true
      rm -rf --one-file-system "$upper" "$root"
      return $status
      ;;
  esac
}

case "${1:-}" in
  --inside) inside "$2"; exit ;;
  "") ;;
  *) echo "usage: $0  (no arguments; see the comment at its top)" >&2; exit 2 ;;
esac

[ "$(id -u)" = 0 ] || { echo "./build.sh compat needs root (chroot, namespaces)" >&2; exit 1; }
mkdir -p "$CACHE"
started=$(date +%s)
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
if [ ! -f "$CACHE/base/.complete" ]; then
  log "a minimal Debian $SUITE (debootstrap, once)"
  rm -rf --one-file-system "$CACHE/base"
  "${NICE[@]}" debootstrap --variant=minbase "$SUITE" "$CACHE/base" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
    { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
  touch "$CACHE/base/.complete"
fi
layer=$CACHE/layer-$(layer_id)
if [ ! -d "$layer" ]; then
  log "PHP $PHP_VERSION, MariaDB, nginx, WordPress (trixie's, and sid's unpacked) into a cached layer (once)"
  rm -rf --one-file-system "$layer.tmp"
  "${NICE[@]}" unshare -m -p -f --propagation private "$0" --inside layer
  mv "$layer.tmp" "$layer"
  # Older layers are never used again.
  find "$CACHE" -maxdepth 1 -name 'layer-*' ! -path "$layer" -exec rm -rf --one-file-system {} +
fi
# The browser tests' playwright-core (pure JavaScript) from the npm registry, here, as the run has no network.
if [ ! -d "$REPO/$E2E_MODULES/playwright-core" ]; then
  command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm >/dev/null
  (cd "$REPO/tests/wp/e2e" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error)
fi
log "ready after $(( $(date +%s) - started ))s; building and testing in the chroot"
# The run has only its own loopback: cargo builds offline, from this machine's registry cache, filled here first.
(cd "$REPO" && cargo fetch --quiet)
status=0
"${NICE[@]}" unshare -m -p -f -n --propagation private "$0" --inside run || status=$?
# A tested build for ./build.sh package's PHP 8.4 zip.
if [ $status = 0 ]; then
  mkdir -p "$REPO/target/php$PHP_VERSION"
  install -m 0644 "$CACHE/target/release/librust_mail.so" "$REPO/target/php$PHP_VERSION/librust_mail.so"
fi
log "total $(( $(date +%s) - started ))s"
exit $status
