<?php
/**
 * Test switch for the differential test: with RUST_MAIL_TEST_BASELINE_PORT set, this process runs stock WordPress
 * (rust-mail not loaded) sending through PHPMailer's own SMTP client to the given port on 127.0.0.1.
 */
$rust_mail_test_baseline_port = getenv( 'RUST_MAIL_TEST_BASELINE_PORT' );
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
		},
		1
	);
}
