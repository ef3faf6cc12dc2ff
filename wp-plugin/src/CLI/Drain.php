<?php
/**
 * The outbox's drain from the command line (cli/drain.php, for the system's cron): this site's mail, then on a
 * network each other site with mail in a process of its own, loaded as that site, so that the outcome's actions
 * reach that site's listeners only.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_CLI_Drain {

	/**
	 * Drains, and prints what happened as one line of JSON ({"sent":3,"retry":1}).
	 *
	 * @param string $script    the entry script, run again for each other site.
	 * @param string $wordpress the WordPress directory the entry script loaded.
	 * @param bool   $one_site  true in a process started for one site: the other sites are not its business.
	 * @return int the exit status.
	 */
	public static function run( $script, $wordpress, $one_site ) {
		$counts = RustMail_Outbox_Drain::cron_drain();
		if ( ! $one_site ) {
			foreach ( RustMail_Outbox_Drain::other_sites_with_mail() as $site ) {
				$site_counts = self::drain_site( $script, $wordpress, $site );
				foreach ( $site_counts as $outcome => $n ) {
					$counts[ $outcome ] = ( $counts[ $outcome ] ?? 0 ) + (int) $n;
				}
			}
		}
		echo wp_json_encode( (object) $counts ), "\n";
		return 0;
	}

	/**
	 * One site's drain in a process of its own (PHP_INI_SCAN_DIR and the rest of the environment pass on).
	 *
	 * @return array<string, int> its counts; none when it failed (said on stderr).
	 */
	private static function drain_site( $script, $wordpress, WP_Site $site ) {
		$output = array();
		exec( implode( ' ', array_map( 'escapeshellarg', array( PHP_BINARY, $script, $wordpress, $site->domain, $site->path ) ) ), $output, $status );
		$counts = 0 === $status ? json_decode( (string) end( $output ), true ) : null;
		if ( ! is_array( $counts ) ) {
			fwrite( STDERR, "rust-mail: the drain of {$site->domain}{$site->path} failed (exit $status)\n" ); // phpcs:ignore WordPress.WP.AlternativeFunctions -- the command line's error stream.
			return array();
		}
		return $counts;
	}
}
