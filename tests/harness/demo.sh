#!/usr/bin/env bash
# ./build.sh demo: WordPress on MariaDB + PHP-FPM (with the installed rust_mail extension) + nginx, the rust-mail
# plugin active, and a capturing SMTP server as the site's mail server. Sends one mail through wp_mail() and shows
# its connection-log row, its SMTP transcript and the message as the server received it. Safe to run again.
set -euo pipefail
HARNESS=$(cd "$(dirname "$0")" && pwd)
export STACK_DIR=${STACK_DIR:-/var/lib/rust-mail-demo}
export HTTP_PORT=${HTTP_PORT:-8088}
export SMTP_PORT=${SMTP_PORT:-2525}

"$HARNESS/wp-stack.sh" up

echo
echo "== sending a mail through wp_mail()"
"$STACK_DIR/bin/php" -r '
require getenv("STACK_DIR") . "/wordpress/wp-load.php";
if ( ! function_exists( "rust_mail_send" ) ) {
	fwrite( STDERR, "the rust_mail extension is not loaded: run ./build.sh install\n" );
	exit( 1 );
}
$sent = wp_mail( "someone@example.com", "Hello from the rust-mail demo", "This mail went through wp_mail(), the rust-mail plugin and the rust_mail extension.", array( "Cc: Ops <ops@example.com>" ) );
global $wpdb;
$table = RustMail_Log_Store::table();
$id    = (int) $wpdb->get_var( "SELECT MAX(id) FROM $table" );
printf( "wp_mail() returned %s\n", $sent ? "true" : "false" );
if ( RustMail_Log_Store::STATUS_QUEUED === $wpdb->get_var( "SELECT status FROM $table WHERE id = $id" ) ) {
	// What the outbox does after the response of a page, done here so that the row below shows the outcome.
	echo "   (delivery \"queued\": the mail was stored first; sending it now, as after the response of a page)\n";
	RustMail_Outbox_Drain::drain( array( $id ) );
}
$row = $wpdb->get_row( "SELECT * FROM $table WHERE id = $id", ARRAY_A );
printf( "\n== connection log row %d\n", $row["id"] );
foreach ( array( "created_at", "status", "from_address", "recipients", "subject", "message_id", "smtp_code", "enhanced_code", "reply", "error_kind", "error_cause", "error_message", "duration_ms", "attempts", "connection", "caller" ) as $field ) {
	printf( "  %-14s %s\n", $field, $row[ $field ] );
}
echo "\n== SMTP transcript (AUTH redacted)\n";
foreach ( json_decode( $row["transcript"], true ) as $line ) {
	echo "  ", RustMail_Admin_Pages::transcript_line( $line ), "\n";
}
exit( $sent ? 0 : 1 );
'

latest=$(ls -1 "$STACK_DIR/mail"/*.eml 2>/dev/null | tail -n 1)
if [ -n "$latest" ]; then
  echo
  echo "== the message as the SMTP server on 127.0.0.1:$SMTP_PORT received it ($latest)"
  sed 's/^/  /' "$latest"
fi

cat <<EOF

== the demo site is running
  URL:            http://127.0.0.1:$HTTP_PORT/wp-admin/admin.php?page=rust-mail
  Connection log: http://127.0.0.1:$HTTP_PORT/wp-admin/admin.php?page=rust-mail-log
  user:           admin
  password:       $(cat "$STACK_DIR/secrets/admin-password")
  captured mail:  $STACK_DIR/mail/
  stop it with:   STACK_DIR=$STACK_DIR $HARNESS/wp-stack.sh down
EOF
