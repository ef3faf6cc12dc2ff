#!/usr/bin/env bash
# A real WordPress stack on this machine: MariaDB, PHP-FPM, nginx, WordPress (Debian's copy) with the
# rust-mail plugin active, and a capturing SMTP server as the site's mail server.
#
#   tests/harness/wp-stack.sh up      start (or restart) everything; safe to run again
#   tests/harness/wp-stack.sh down    stop the processes this script started; keep the site
#   tests/harness/wp-stack.sh purge   down, then drop the database and delete STACK_DIR
#   tests/harness/wp-stack.sh php     rewrite PHP's ini (EXTENSION) and restart PHP-FPM; the site stays as it is
#
# Settings (environment):
#   STACK_DIR      where the site, configs, logs and captured mail live  (/var/lib/rust-mail-demo)
#   HTTP_ADDR      nginx address, in 127.0.0.0/8                          (127.0.0.1)
#   HTTP_PORT      nginx port                                             (8088)
#   SMTP_PORT      capture SMTP server port on 127.0.0.1                  (2525)
#                  0: a port the kernel gives it; the port it listens on is written to STACK_DIR/run/smtp.port
#   DB_NAME        MariaDB database (and user) name                       (rustmail_<basename of STACK_DIR>)
#   RUST_MAIL_SO   load this extension build instead of the system-installed one (tests use the fresh build)
#   EXTENSION      0: PHP (PHP-FPM and STACK_DIR/bin/php) runs without the rust_mail extension, as on a host that
#                  cannot load it; the plugin then sends through PHPMailer                (1)
#   WORDPRESS_DIR  the WordPress to copy into STACK_DIR (Debian's package)                (/usr/share/wordpress)
#   PHP_VERSION    the PHP (Debian's php<X.Y>-cli and -fpm) that runs it                   (8.2)
#   WP_DEBUG       1: WP_DEBUG on (PHP reports E_ALL; nothing displayed), so that every deprecation, warning and
#                  notice lands in STACK_DIR/logs/php-errors.log                           (0)
#   MULTISITE      1: a multisite network in subdirectories (the main site and /site2/), the plugin network-active;
#                  give it HTTP_PORT 80 (and an HTTP_ADDR of its own): WordPress keeps no port in a site's domain
#
# Everything listens on loopback only. Process ids are kept in STACK_DIR/run so that `down` stops exactly
# what `up` started. PHP for the CLI with the same ini as the site: STACK_DIR/bin/php.
set -euo pipefail

HARNESS=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HARNESS/../.." && pwd)
STACK_DIR=${STACK_DIR:-/var/lib/rust-mail-demo}
HTTP_PORT=${HTTP_PORT:-8088}
SMTP_PORT=${SMTP_PORT:-2525}
DB_NAME=${DB_NAME:-rustmail_$(basename "$STACK_DIR" | tr -c 'a-zA-Z0-9_\n' '_')}
RUST_MAIL_SO=${RUST_MAIL_SO:-}
MULTISITE=${MULTISITE:-0}
EXTENSION=${EXTENSION:-1}
PHP_VERSION=${PHP_VERSION:-8.2}
WORDPRESS_DIR=${WORDPRESS_DIR:-/usr/share/wordpress}
WP_DEBUG=${WP_DEBUG:-0}
HTTP_ADDR=${HTTP_ADDR:-127.0.0.1}
if [ "$HTTP_PORT" = 80 ]; then SITE_URL="http://$HTTP_ADDR"; else SITE_URL="http://$HTTP_ADDR:$HTTP_PORT"; fi
WP="$STACK_DIR/wordpress"
RUN="$STACK_DIR/run"
LOGS="$STACK_DIR/logs"

log() { echo "[wp-stack] $*" >&2; }

# A secret generated on first use and kept in STACK_DIR, so that a second `up` reuses it.
secret() {
  local file="$STACK_DIR/secrets/$1"
  if [ ! -s "$file" ]; then
    mkdir -p "$STACK_DIR/secrets" && chmod 700 "$STACK_DIR/secrets"
    head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$file"
  fi
  cat "$file"
}

stop_pidfile() {
  local pidfile=$1 pid
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

wait_for_port() {
  local port=$1 what=$2 addr=${3:-127.0.0.1}
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/$addr/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  log "$what did not start listening on $addr:$port (logs in $LOGS)"
  exit 1
}

start_mariadb() {
  if ! mariadb-admin ping --silent >/dev/null 2>&1; then
    log "starting MariaDB"
    service mariadb start >/dev/null
  fi
  local password
  password=$(secret db-password)
  mariadb -uroot <<SQL
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$DB_NAME'@'localhost' IDENTIFIED BY '$password';
ALTER USER '$DB_NAME'@'localhost' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_NAME'@'localhost';
SQL
}

# PHP ini: the system's conf.d for each SAPI, minus a system-installed rust_mail when RUST_MAIL_SO says
# which build to load (or when EXTENSION=0), plus this stack's own settings (mail() goes to a file, never to the
# system MTA).
write_php_ini() {
  local sapi dir
  for sapi in fpm cli; do
    dir="$STACK_DIR/php/$sapi-conf.d"
    rm -rf "$dir" && mkdir -p "$dir"
    for ini in /etc/php/$PHP_VERSION/$sapi/conf.d/*.ini; do
      if { [ -n "$RUST_MAIL_SO" ] || [ "$EXTENSION" = 0 ]; } && [[ $(basename "$ini") == *rust_mail* ]]; then continue; fi
      ln -s "$ini" "$dir/"
    done
    {
      [ -n "$RUST_MAIL_SO" ] && [ "$EXTENSION" = 1 ] && echo "extension=$RUST_MAIL_SO"
      echo "sendmail_path = \"cat >> $LOGS/php-mail.mbox\""
      echo "error_log = $LOGS/php-errors.log"
      echo "log_errors = On"
      echo "display_errors = Off"
      # Tests rewrite wp-config-extra.php and the plugin between requests: PHP-FPM must see each change at
      # once, not after opcache's default 2 s revalidation delay.
      echo "opcache.revalidate_freq = 0"
      if [ "$sapi" = cli ]; then
        # Tests run PHP in WordPress several times each, and compiling WordPress is most of a CLI run (about 0.7 s
        # of 0.9 s): keep the compiled scripts on disk. A changed file is still seen at once: its timestamp is
        # checked on every run, and a file younger than 2 s is never cached, so no rewrite can share the second of
        # a cached compile. Scripts compiled with the extension crash a PHP without it: each has its own cache
        # (tests/harness/wpstack.py's PHP without the extension too).
        mkdir -p "$STACK_DIR/php/cli-opcache-with-extension" "$STACK_DIR/php/cli-opcache-without-extension"
        echo "opcache.enable_cli = On"
        echo "opcache.file_cache = $STACK_DIR/php/cli-opcache-$([ "$EXTENSION" = 1 ] && echo with || echo without)-extension"
        echo "opcache.file_cache_only = On"
        echo "opcache.validate_timestamps = On"
        echo "opcache.file_update_protection = 2"
      fi
    } > "$dir/99-rust-mail-stack.ini"
  done
  mkdir -p "$STACK_DIR/bin"
  cat > "$STACK_DIR/bin/php" <<EOF
#!/bin/sh
# PHP CLI with this stack's ini (the same extensions as the site).
PHP_INI_SCAN_DIR=$STACK_DIR/php/cli-conf.d exec /usr/bin/php$PHP_VERSION "\$@"
EOF
  chmod +x "$STACK_DIR/bin/php"
}

install_wordpress_files() {
  if [ ! -f "$WP/wp-settings.php" ]; then
    log "copying WordPress from $WORDPRESS_DIR to $WP"
    mkdir -p "$WP"
    cp -rL "$WORDPRESS_DIR/." "$WP/"
  fi
  # The plugin is copied, not linked: the web server user must be able to read it wherever the repo lives.
  rm -rf "$WP/wp-content/plugins/rust-mail"
  cp -r "$REPO/wp-plugin" "$WP/wp-content/plugins/rust-mail"
  mkdir -p "$WP/wp-content/mu-plugins" "$WP/wp-content/uploads"

  local salts="" name
  for name in AUTH_KEY SECURE_AUTH_KEY LOGGED_IN_KEY NONCE_KEY AUTH_SALT SECURE_AUTH_SALT LOGGED_IN_SALT NONCE_SALT; do
    salts+="defined( '$name' ) || define( '$name', '$(secret "salt-$name")' );"$'\n'
  done
  cat > "$WP/wp-config.php" <<EOF
<?php
// Written by tests/harness/wp-stack.sh; rewritten on every \`up\`.
// Tests put RUST_MAIL_* constants here (first, so that a test can also replace a salt).
if ( file_exists( '$STACK_DIR/wp-config-extra.php' ) ) {
	require '$STACK_DIR/wp-config-extra.php';
}
define( 'DB_NAME', '$DB_NAME' );
define( 'DB_USER', '$DB_NAME' );
define( 'DB_PASSWORD', '$(secret db-password)' );
define( 'DB_HOST', 'localhost' );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
$salts
// A network's sites each have their own address, so it has no WP_HOME: wp-install.php writes multisite.php.
if ( file_exists( '$STACK_DIR/multisite.php' ) ) {
	require '$STACK_DIR/multisite.php';
} else {
	define( 'WP_HOME', '$SITE_URL' );
	define( 'WP_SITEURL', '$SITE_URL' );
}
// WP_DEBUG only when asked (WP_DEBUG=1): on PHP 8.2 it turns WordPress 6.1's many deprecation notices on. Either way
// PHP logs to $LOGS/php-errors.log and displays nothing.
define( 'WP_DEBUG', $( [ "$WP_DEBUG" = 1 ] && echo true || echo false ) );
define( 'WP_DEBUG_DISPLAY', false );
define( 'WP_DEBUG_LOG', false );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_HTTP_BLOCK_EXTERNAL', true );
define( 'FS_METHOD', 'direct' );
\$table_prefix = 'wp_';
if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}
require_once ABSPATH . 'wp-settings.php';
EOF
  chown -R www-data:www-data "$WP"
}

start_php_fpm() {
  cat > "$STACK_DIR/php/php-fpm.conf" <<EOF
[global]
pid = $RUN/php-fpm.pid
error_log = $LOGS/php-fpm.log
daemonize = yes

[rust-mail-stack]
user = www-data
group = www-data
listen = $RUN/php-fpm.sock
listen.owner = www-data
listen.group = www-data
pm = static
pm.max_children = 4
catch_workers_output = yes
clear_env = no
EOF
  PHP_INI_SCAN_DIR="$STACK_DIR/php/fpm-conf.d" "/usr/sbin/php-fpm$PHP_VERSION" \
    --fpm-config "$STACK_DIR/php/php-fpm.conf" -c "/etc/php/$PHP_VERSION/fpm/php.ini"
}

start_nginx() {
  mkdir -p "$RUN/nginx"
  local subdirectory_sites=""
  if [ "$MULTISITE" = 1 ]; then
    # WordPress's rules for a network in subdirectories: /site2/wp-admin/... is the main install's wp-admin/...
    subdirectory_sites='
    if (!-e $request_filename) {
      rewrite /wp-admin$ $scheme://$http_host$uri/ permanent;
      rewrite ^(/[^/]+)?(/wp-.*) $2 last;
      rewrite ^(/[^/]+)?(/.*\.php)$ $2 last;
    }'
  fi
  cat > "$STACK_DIR/nginx.conf" <<EOF
worker_processes 1;
user www-data;
pid $RUN/nginx.pid;
error_log $LOGS/nginx-error.log;
events { worker_connections 128; }
http {
  include /etc/nginx/mime.types;
  access_log $LOGS/nginx-access.log;
  client_body_temp_path $RUN/nginx/body;
  fastcgi_temp_path $RUN/nginx/fastcgi;
  proxy_temp_path $RUN/nginx/proxy;
  uwsgi_temp_path $RUN/nginx/uwsgi;
  scgi_temp_path $RUN/nginx/scgi;
  server {
    listen $HTTP_ADDR:$HTTP_PORT;
    root $WP;
    index index.php;
    client_max_body_size 20m;$subdirectory_sites
    location / { try_files \$uri \$uri/ /index.php?\$args; }
    location ~ \.php\$ {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
      fastcgi_pass unix:$RUN/php-fpm.sock;
      fastcgi_read_timeout 120s;
      fastcgi_buffer_size 64k;
      fastcgi_buffers 16 64k;
    }
  }
}
EOF
  nginx -e "$LOGS/nginx-error.log" -c "$STACK_DIR/nginx.conf" -p "$STACK_DIR/"
  wait_for_port "$HTTP_PORT" nginx "$HTTP_ADDR"
}

start_smtp() {
  mkdir -p "$STACK_DIR/mail"
  rm -f "$RUN/smtp.port"
  setsid /usr/bin/python3 "$REPO/tests/wp/capture_smtp.py" --port "$SMTP_PORT" --port-file "$RUN/smtp.port" \
    --dir "$STACK_DIR/mail" >> "$LOGS/smtp.log" 2>&1 < /dev/null &
  echo $! > "$RUN/smtp.pid"
  # The server writes the file once it listens.
  for _ in $(seq 100); do [ -s "$RUN/smtp.port" ] && break; sleep 0.1; done
  if [ ! -s "$RUN/smtp.port" ]; then
    log "capture SMTP server did not start listening (logs in $LOGS)"
    exit 1
  fi
  SMTP_PORT=$(cat "$RUN/smtp.port")
}

install_site() {
  "$STACK_DIR/bin/php" "$HARNESS/wp-install.php" "$WP" "$SITE_URL" "$(secret admin-password)" "$SMTP_PORT" "$MULTISITE" \
    "$STACK_DIR/multisite.php"
}

down() {
  stop_pidfile "$RUN/nginx.pid"
  stop_pidfile "$RUN/php-fpm.pid"
  stop_pidfile "$RUN/smtp.pid"
}

up() {
  mkdir -p "$STACK_DIR" "$RUN" "$LOGS"
  chmod 755 "$STACK_DIR"  # the web server user must reach the site inside
  chown www-data:www-data "$LOGS"
  down
  start_mariadb
  write_php_ini
  install_wordpress_files
  start_smtp
  start_php_fpm
  start_nginx
  install_site
  log "WordPress is at $SITE_URL/wp-admin/ (user admin, password $(secret admin-password))"
}

restart_php() {
  stop_pidfile "$RUN/php-fpm.pid"
  write_php_ini
  start_php_fpm
}

purge() {
  down
  if mariadb-admin ping --silent >/dev/null 2>&1; then
    mariadb -uroot -e "DROP DATABASE IF EXISTS \`$DB_NAME\`; DROP USER IF EXISTS '$DB_NAME'@'localhost';"
  fi
  rm -rf "$STACK_DIR"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  purge) purge ;;
  php) restart_php ;;
  *) echo "usage: $0 up|down|purge|php" >&2; exit 2 ;;
esac
