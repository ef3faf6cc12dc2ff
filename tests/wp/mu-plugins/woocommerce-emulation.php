<?php
/**
 * What WooCommerce's WC_Email::send() does for multipart mail: hooks phpmailer_init to set AltBody to the plain
 * version, sends an HTML mail, then unhooks (so the next mail has no AltBody).
 */
function rust_mail_test_woocommerce_send( $to, $subject, $html, $plain ) {
	$set_alt_body = static function ( $mailer ) use ( $plain ) {
		$mailer->AltBody = wordwrap( $plain );
	};
	$content_type = static function () {
		return 'text/html';
	};
	add_action( 'phpmailer_init', $set_alt_body );
	add_filter( 'wp_mail_content_type', $content_type );
	$sent = wp_mail( $to, $subject, $html, "Content-Type: text/html\r\n" );
	remove_filter( 'wp_mail_content_type', $content_type );
	remove_action( 'phpmailer_init', $set_alt_body );
	return $sent;
}
