<?php
/**
 * The load test's page (tests/wp/test_wp_load.py): GET /?rust_mail_load=<id> sends one mail through wp_mail() with
 * the id in its subject and answers "sent <id>" (200) or "failed <id>" (500), so that the load generator can tell
 * which requests had their mail accepted. With `no_mail=1` it answers the same without calling wp_mail(): the page's
 * own cost, which tests/bench/bench_outbox.py subtracts.
 */
add_action(
	'init',
	static function () {
		if ( ! isset( $_GET['rust_mail_load'] ) ) { // phpcs:ignore WordPress.Security.NonceVerification
			return;
		}
		$id   = sanitize_key( wp_unslash( $_GET['rust_mail_load'] ) ); // phpcs:ignore WordPress.Security.NonceVerification
		$sent = isset( $_GET['no_mail'] ) || wp_mail( 'load@example.com', "rust_mail_load $id", "Load test mail $id\n" ); // phpcs:ignore WordPress.Security.NonceVerification
		status_header( $sent ? 200 : 500 );
		header( 'Content-Type: text/plain' );
		echo ( $sent ? 'sent ' : 'failed ' ) . $id . "\n"; // phpcs:ignore WordPress.Security.EscapeOutput
		exit;
	}
);
