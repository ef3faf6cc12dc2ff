<?php
/**
 * A page that mails a newsletter with the site's logo embedded inline (wp_mail()'s sixth argument, WordPress 6.9+;
 * older releases ignore it): POST rust_mail_test_embed=1 to the home page. The logo is
 * wp-content/uploads/rust-mail-test-logo.png, which the test puts there.
 */
add_action(
	'init',
	static function () {
		if ( empty( $_POST['rust_mail_test_embed'] ) ) { // phpcs:ignore WordPress.Security.NonceVerification
			return;
		}
		$sent = wp_mail(
			'reader@example.com',
			'Our newsletter',
			'<p><img src="cid:logo" alt="Logo"></p><p>News of the week.</p>',
			array( 'Content-Type: text/html; charset=UTF-8' ),
			array(),
			array( 'logo' => WP_CONTENT_DIR . '/uploads/rust-mail-test-logo.png' )
		);
		wp_die( $sent ? 'newsletter: sent' : 'newsletter: failed', '', array( 'response' => 200 ) );
	}
);
