<?php
/**
 * The outbox's drain from the system's cron, for a site with DISABLE_WP_CRON (or too few visits for WP-Cron):
 *
 *     * * * * * php /path/to/wordpress/wp-content/plugins/rust-mail/cli/drain.php
 *
 * Loads the WordPress this plugin is installed in (or the one whose directory is the first argument; on multisite
 * the second argument is the network's host name), then RustMail_CLI_Drain sends every message that is due and
 * prints what happened as one line of JSON ({"sent":3,"retry":1}). Only from the command line: over the web it
 * answers 403 and does nothing.
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

if ( ! class_exists( 'RustMail_CLI_Drain' ) ) {
	fwrite( STDERR, "rust-mail: the plugin is not active on this site\n" );
	exit( 1 );
}
exit( RustMail_CLI_Drain::run( __FILE__, $rust_mail_wordpress, isset( $argv[3] ) ) );
