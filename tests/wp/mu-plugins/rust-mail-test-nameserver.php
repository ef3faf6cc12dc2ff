<?php
/**
 * Test switch: with RUST_MAIL_TEST_NAMESERVER defined (wp-config-extra.php), the plugin's DNS lookups through the
 * extension (direct send's MX and SPF records) ask that server, a dnsmasq the test started on loopback.
 */
if ( defined( 'RUST_MAIL_TEST_NAMESERVER' ) ) {
	add_filter(
		'rust_mail_nameserver',
		static function () {
			return RUST_MAIL_TEST_NAMESERVER;
		}
	);
}
