<?php
/**
 * The plugin's classes, by role: RustMail_<Role>_<Name> is src/<Role>/<Name>.php (RustMail_Outbox_Store is
 * src/Outbox/Store.php). A class whose file is missing is simply not loaded, so the bootstrap's class_exists() finds
 * a half-installed plugin instead of a fatal error.
 *
 * Plain PHP: the rules export test loads it without WordPress.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

spl_autoload_register(
	static function ( $class ) {
		if ( 0 !== strpos( $class, 'RustMail_' ) ) {
			return;
		}
		$role_and_name = explode( '_', substr( $class, strlen( 'RustMail_' ) ), 2 );
		if ( 2 !== count( $role_and_name ) ) {
			return;
		}
		$file = __DIR__ . '/' . $role_and_name[0] . '/' . $role_and_name[1] . '.php';
		if ( is_readable( $file ) ) {
			require_once $file;
		}
	}
);
