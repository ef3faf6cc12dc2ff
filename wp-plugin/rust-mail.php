<?php
/**
 * Plugin Name:       Rust Mail
 * Description:       Sends every wp_mail() through the rust_mail PHP extension's native SMTP sender (or PHPMailer's SMTP where the extension cannot be loaded), keeps a connection log with SMTP transcripts, and diagnoses mail server problems.
 * Version:           0.1.0
 * Requires at least: 6.1
 * Tested up to:      7.1
 * Requires PHP:      8.2
 * License:           MIT
 * Text Domain:       rust-mail
 * Domain Path:       /languages
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

define( 'RUST_MAIL_PLUGIN_FILE', __FILE__ );
define( 'RUST_MAIL_PLUGIN_DIR', __DIR__ );
define( 'RUST_MAIL_PLUGIN_VERSION', '0.1.0' );

require_once __DIR__ . '/includes/class-rust-mail-settings.php';
require_once __DIR__ . '/includes/class-rust-mail-oauth.php';
require_once __DIR__ . '/includes/class-rust-mail-engine.php';
require_once __DIR__ . '/includes/class-rust-mail-rules.php';
require_once __DIR__ . '/includes/class-rust-mail-oauth-grant.php';
require_once __DIR__ . '/includes/class-rust-mail-caller.php';
require_once __DIR__ . '/includes/class-rust-mail-result.php';
require_once __DIR__ . '/includes/class-rust-mail-log.php';
require_once __DIR__ . '/includes/class-rust-mail-rate-limit.php';
require_once __DIR__ . '/includes/class-rust-mail-outbox.php';
require_once __DIR__ . '/includes/class-rust-mail-router.php';
require_once __DIR__ . '/includes/class-rust-mail-explain.php';
require_once __DIR__ . '/includes/class-rust-mail-admin.php';
require_once __DIR__ . '/includes/class-rust-mail-oauth-signin.php';

// The settings as this request read them, forgotten when they change.
Rust_Mail_Settings::watch_option();

// Lifecycle: the log table and its scheduled purge.
register_activation_hook( __FILE__, array( 'Rust_Mail_Log', 'activate' ) );
register_deactivation_hook( __FILE__, array( 'Rust_Mail_Log', 'deactivate' ) );
add_action( 'plugins_loaded', array( 'Rust_Mail_Log', 'maybe_upgrade' ) );
add_action( Rust_Mail_Log::PURGE_HOOK, array( 'Rust_Mail_Log', 'purge_expired' ) );

// Translations.
add_action(
	'init',
	static function () {
		load_plugin_textdomain( 'rust-mail', false, dirname( plugin_basename( __FILE__ ) ) . '/languages' );
	}
);

// Mail routing, once a server is configured (otherwise core's wp_mail() is untouched), through the extension or,
// without it, PHPMailer's SMTP client: see Rust_Mail_Engine.
Rust_Mail_Router::register();
// The outbox's drain by WP-Cron.
Rust_Mail_Outbox::register();

// Personal data: the log's rows about an address, in Tools > Export Personal Data and Erase Personal Data.
foreach ( array( 'exporter' => 'export_personal_data', 'eraser' => 'erase_personal_data' ) as $rust_mail_kind => $rust_mail_callback ) {
	add_filter(
		"wp_privacy_personal_data_{$rust_mail_kind}s",
		static function ( $tools ) use ( $rust_mail_kind, $rust_mail_callback ) {
			$tools['rust-mail'] = array(
				"{$rust_mail_kind}_friendly_name" => __( 'Rust Mail connection log', 'rust-mail' ),
				'callback'                         => array( 'Rust_Mail_Log', $rust_mail_callback ),
			);
			return $tools;
		}
	);
}

// Admin pages, actions and notices.
if ( is_admin() ) {
	Rust_Mail_Admin::register();
	Rust_Mail_OAuth_Signin::register();
}
