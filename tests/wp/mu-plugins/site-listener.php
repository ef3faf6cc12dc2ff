<?php
/**
 * A listener as a plugin that one site of a network activated would add: on the site that the constant
 * RUST_MAIL_TEST_LISTEN_SITE names, it keeps the subject of every mail outcome it hears in that site's option
 * `site_listener_heard`. Elsewhere it is not loaded, as a plugin active on another site is not.
 */
if ( defined( 'RUST_MAIL_TEST_LISTEN_SITE' ) && get_current_blog_id() === (int) RUST_MAIL_TEST_LISTEN_SITE ) {
	$rust_mail_test_hear = static function ( $data ) {
		$data    = is_wp_error( $data ) ? $data->get_error_data() : $data;
		$heard   = (array) get_option( 'site_listener_heard', array() );
		$heard[] = (string) ( $data['subject'] ?? '' );
		update_option( 'site_listener_heard', $heard );
	};
	add_action( 'wp_mail_succeeded', $rust_mail_test_hear );
	add_action( 'wp_mail_failed', $rust_mail_test_hear );
}
