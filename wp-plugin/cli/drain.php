<?php
/**
 * The outbox's drain from the system's cron, for a site with DISABLE_WP_CRON (or too few visits for WP-Cron):
 *
 *     * * * * * php /path/to/wordpress/wp-content/plugins/rust-mail/cli/drain.php
 *
 * Loads the WordPress this plugin is installed in (or the one whose directory is the first argument; on multisite
 * the second argument is the network's host name), sends every message that is due, and prints what happened as one
 * line of JSON ({"sent":3,"retry":1}). Only from the command line: over the web it answers 403 and does nothing.
 *
 * On multisite each site's mail goes out in a process of its own, loaded as that site (a third argument, the site's
 * path, says which): the outcome's actions reach that site's listeners only, never another site's.
 *
 * @package RustMail
 */

if ( 'cli' !== PHP_SAPI ) {
	http_response_code( 403 );
	exit;
}

$rust_mail_wordpress = $argv[1] ?? dirname( __DIR__, 4 );
if ( ! is_file( $rust_mail_wordpress . '/wp-load.php' ) ) {
	fwrite( STDERR, "rust-mail: no WordPress in $rust_mail_wordpress (give its directory as the first argument)\n" );
	exit( 2 );
}
// A network finds its site by host name, which the command line does not have.
$_SERVER['HTTP_HOST']   = $argv[2] ?? 'localhost';
$_SERVER['REQUEST_URI'] = $argv[3] ?? '/';
require $rust_mail_wordpress . '/wp-load.php';

if ( ! class_exists( 'Rust_Mail_Outbox' ) ) {
	fwrite( STDERR, "rust-mail: the plugin is not active on this site\n" );
	exit( 1 );
}
$rust_mail_counts = Rust_Mail_Outbox::cron_drain();
if ( ! isset( $argv[3] ) ) {
	// The network's other sites, each in its own process (PHP_INI_SCAN_DIR and the rest of the environment pass on).
	foreach ( Rust_Mail_Outbox::other_sites_with_mail() as $rust_mail_site ) {
		$rust_mail_output = array();
		exec( implode( ' ', array_map( 'escapeshellarg', array( PHP_BINARY, __FILE__, $rust_mail_wordpress, $rust_mail_site->domain, $rust_mail_site->path ) ) ), $rust_mail_output, $rust_mail_status );
		$rust_mail_site_counts = 0 === $rust_mail_status ? json_decode( (string) end( $rust_mail_output ), true ) : null;
		if ( ! is_array( $rust_mail_site_counts ) ) {
			fwrite( STDERR, "rust-mail: the drain of {$rust_mail_site->domain}{$rust_mail_site->path} failed (exit $rust_mail_status)\n" );
			continue;
		}
		foreach ( $rust_mail_site_counts as $rust_mail_outcome => $rust_mail_n ) {
			$rust_mail_counts[ $rust_mail_outcome ] = ( $rust_mail_counts[ $rust_mail_outcome ] ?? 0 ) + (int) $rust_mail_n;
		}
	}
}
echo wp_json_encode( (object) $rust_mail_counts ), "\n";
