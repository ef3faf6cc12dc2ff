<?php
/**
 * Test switch for the differential test and the outbox benchmark: with RUST_MAIL_TEST_BASELINE_PORT set (in the
 * environment of a CLI process, or as a constant in wp-config-extra.php for PHP-FPM), this process runs stock
 * WordPress (rust-mail not loaded) sending through PHPMailer's own SMTP client to that port on 127.0.0.1. The
 * constants RUST_MAIL_TEST_BASELINE_USER and RUST_MAIL_TEST_BASELINE_PASSWORD add STARTTLS and a login, as a site
 * configured for Microsoft 365 through a stock SMTP plugin does (the test server's certificate is not checked).
 */
$rust_mail_test_baseline_port = defined( 'RUST_MAIL_TEST_BASELINE_PORT' ) ? RUST_MAIL_TEST_BASELINE_PORT : getenv( 'RUST_MAIL_TEST_BASELINE_PORT' );
if ( $rust_mail_test_baseline_port ) {
	add_filter(
		'option_active_plugins',
		static function ( $plugins ) {
			return array_values( array_diff( (array) $plugins, array( 'rust-mail/rust-mail.php' ) ) );
		}
	);
	add_action(
		'phpmailer_init',
		static function ( $phpmailer ) use ( $rust_mail_test_baseline_port ) {
			$phpmailer->isSMTP();
			$phpmailer->Host        = '127.0.0.1';
			$phpmailer->Port        = (int) $rust_mail_test_baseline_port;
			$phpmailer->SMTPAuth    = false;
			$phpmailer->SMTPAutoTLS = false;
			$phpmailer->SMTPSecure  = '';
			if ( defined( 'RUST_MAIL_TEST_BASELINE_USER' ) ) {
				$phpmailer->SMTPSecure  = 'tls';
				$phpmailer->SMTPOptions = array( 'ssl' => array( 'verify_peer' => false, 'verify_peer_name' => false ) );
				$phpmailer->SMTPAuth    = true;
				$phpmailer->Username    = RUST_MAIL_TEST_BASELINE_USER;
				$phpmailer->Password    = RUST_MAIL_TEST_BASELINE_PASSWORD;
			}
		},
		1
	);
}
