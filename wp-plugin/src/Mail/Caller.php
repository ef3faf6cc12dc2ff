<?php
/**
 * Who called wp_mail(): recorded with each log row, so that an admin sees which plugin or theme sent a mail.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Mail_Caller {

	/**
	 * Which plugin or theme called wp_mail(): the first plugin, must-use plugin or theme file on the call stack above
	 * wp_mail() (so a plugin calling a core function that mails is named, not core). Falls back to the file that
	 * called wp_mail() itself.
	 */
	public static function detect() {
		$frames  = debug_backtrace( DEBUG_BACKTRACE_IGNORE_ARGS ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions
		$started = false;
		$direct  = '';
		$places  = array(
			'mu-plugin' => wp_normalize_path( WPMU_PLUGIN_DIR ) . '/',
			'plugin'    => wp_normalize_path( WP_PLUGIN_DIR ) . '/',
			'theme'     => wp_normalize_path( get_theme_root() ) . '/',
		);
		foreach ( $frames as $frame ) {
			if ( ! $started ) {
				$started = isset( $frame['function'] ) && 'wp_mail' === $frame['function'] && empty( $frame['class'] );
				if ( ! $started || empty( $frame['file'] ) ) {
					continue;
				}
			}
			if ( empty( $frame['file'] ) ) {
				continue;
			}
			$file = wp_normalize_path( $frame['file'] );
			if ( '' === $direct ) {
				$direct = $file;
			}
			foreach ( $places as $kind => $dir ) {
				if ( 0 === strpos( $file, $dir ) ) {
					$slug = strtok( substr( $file, strlen( $dir ) ), '/' );
					if ( 'plugin' === $kind && 'rust-mail' === $slug ) {
						continue 2; // Our own test mail is sent on the admin's behalf: keep looking, fall back below.
					}
					return $kind . ':' . $slug;
				}
			}
		}
		if ( '' === $direct ) {
			return '';
		}
		if ( 0 === strpos( $direct, $places['plugin'] . 'rust-mail/' ) ) {
			return 'plugin:rust-mail';
		}
		$root = wp_normalize_path( ABSPATH );
		if ( 0 === strpos( $direct, $root ) ) {
			return 'core:' . substr( $direct, strlen( $root ) );
		}
		return 'other:' . basename( $direct );
	}

	/** The caller as the log shows it: "Plugin: contact-form-7". */
	public static function label( $caller ) {
		if ( '' === $caller ) {
			return __( 'unknown', 'rust-mail' );
		}
		list( $kind, $name ) = array_pad( explode( ':', $caller, 2 ), 2, '' );
		$kinds = array(
			'plugin'    => __( 'Plugin: %s', 'rust-mail' ),
			'mu-plugin' => __( 'Must-use plugin: %s', 'rust-mail' ),
			'theme'     => __( 'Theme: %s', 'rust-mail' ),
			'core'      => __( 'WordPress core: %s', 'rust-mail' ),
			'other'     => __( 'Other: %s', 'rust-mail' ),
		);
		/* translators: %s: plugin, theme or file name */
		return isset( $kinds[ $kind ] ) ? sprintf( $kinds[ $kind ], $name ) : $caller;
	}
}
