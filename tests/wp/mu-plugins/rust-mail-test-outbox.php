<?php
/**
 * Test switches for the outbox tests, set as constants in the stack's wp-config-extra.php:
 * - RUST_MAIL_TEST_RETRY_DELAY: seconds before every retry (through the documented `rust_mail_retry_delay` filter);
 * - RUST_MAIL_TEST_CONNECTIONS: how many parallel connections a drain uses (the documented
 *   `rust_mail_parallel_connections` filter);
 * - RUST_MAIL_TEST_HOLD: true keeps queued mail in the outbox after the response (`rust_mail_send_after_response`),
 *   so that a test decides who drains it and when;
 * - RUST_MAIL_TEST_RECORD_OUTCOMES: every wp_mail_succeeded and wp_mail_failed this site fires, in whichever process
 *   (a drain's too), is appended to the option `test_recorded_outcomes` as [action, data, error message or null];
 * - RUST_MAIL_TEST_TRANSLATE: the plugin's texts "translated" (prefixed with "[xx] "), as on a site in another language;
 * - a request with `rust_mail_test_drain=1` drains the outbox in this PHP-FPM worker and prints what happened, like
 *   WP-Cron would.
 */
if ( defined( 'RUST_MAIL_TEST_RETRY_DELAY' ) ) {
	add_filter(
		'rust_mail_retry_delay',
		static function () {
			return (int) RUST_MAIL_TEST_RETRY_DELAY;
		}
	);
}
if ( defined( 'RUST_MAIL_TEST_CONNECTIONS' ) ) {
	add_filter(
		'rust_mail_parallel_connections',
		static function () {
			return (int) RUST_MAIL_TEST_CONNECTIONS;
		}
	);
}
if ( defined( 'RUST_MAIL_TEST_RECORD_OUTCOMES' ) ) {
	foreach ( array( 'wp_mail_succeeded', 'wp_mail_failed' ) as $rust_mail_test_action ) {
		add_action(
			$rust_mail_test_action,
			static function ( $data ) use ( $rust_mail_test_action ) {
				$outcomes   = (array) get_option( 'test_recorded_outcomes', array() );
				$outcomes[] = is_wp_error( $data ) ? array( $rust_mail_test_action, $data->get_error_data(), $data->get_error_message() ) : array( $rust_mail_test_action, $data, null );
				update_option( 'test_recorded_outcomes', $outcomes );
			}
		);
	}
}
if ( defined( 'RUST_MAIL_TEST_TRANSLATE' ) && RUST_MAIL_TEST_TRANSLATE ) {
	add_filter(
		'gettext_rust-mail',
		static function ( $translation ) {
			return '[xx] ' . $translation;
		}
	);
}
if ( defined( 'RUST_MAIL_TEST_HOLD' ) && RUST_MAIL_TEST_HOLD ) {
	add_filter( 'rust_mail_send_after_response', '__return_false' );
}
add_action(
	'init',
	static function () {
		if ( empty( $_GET['rust_mail_test_drain'] ) || ! class_exists( 'RustMail_Outbox_Drain' ) ) { // phpcs:ignore WordPress.Security.NonceVerification
			return;
		}
		echo wp_json_encode( (object) RustMail_Outbox_Drain::drain() );
		exit;
	}
);
