<?php
/**
 * A minimal public contact form (what a stranger can reach): POST contact_subject and contact_message to the home
 * page and it is mailed to the site admin. Used by the test that stranger-supplied subjects are shown as text.
 */
add_action(
	'init',
	static function () {
		if ( empty( $_POST['rust_mail_test_contact'] ) ) { // phpcs:ignore WordPress.Security.NonceVerification
			return;
		}
		$sent = wp_mail(
			get_option( 'admin_email' ),
			wp_unslash( $_POST['contact_subject'] ?? '' ), // phpcs:ignore
			wp_unslash( $_POST['contact_message'] ?? '' ), // phpcs:ignore
			array( 'Reply-To: ' . sanitize_email( wp_unslash( $_POST['contact_email'] ?? '' ) ) ) // phpcs:ignore
		);
		wp_die( $sent ? 'contact form: sent' : 'contact form: failed', '', array( 'response' => 200 ) );
	}
);
