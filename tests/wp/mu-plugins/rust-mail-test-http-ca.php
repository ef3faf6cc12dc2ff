<?php
/**
 * RUST_MAIL_TEST_HTTP_CA (a test constant in wp-config-extra.php): WordPress's HTTP requests trust this CA file instead
 * of its bundled one, so that the alert webhooks can be tested against local HTTPS servers with the tests' own CA.
 * Certificates are still checked: a server whose certificate this CA did not sign is refused.
 */
if ( defined( 'RUST_MAIL_TEST_HTTP_CA' ) ) {
	add_filter(
		'http_request_args',
		static function ( $args ) {
			$args['sslcertificates'] = RUST_MAIL_TEST_HTTP_CA;
			return $args;
		}
	);
}
