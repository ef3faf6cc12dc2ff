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

/**
 * What keeps the plugin from running, '' when nothing does: a PHP older than the plugin's, a half-installed plugin
 * (its autoloader or a class it starts with missing), or the exported rules missing. Checked before anything is
 * hooked, so that a plugin that cannot run stays out of the way: core's wp_mail() is untouched, never a fatal error,
 * never an exception inside wp_mail(); an admin notice says what to do.
 */
function rust_mail_bootstrap_problem() {
	if ( version_compare( PHP_VERSION, '8.2', '<' ) ) {
		return sprintf( 'Rust Mail needs PHP 8.2 or later; this site runs PHP %s.', PHP_VERSION );
	}
	if ( ! is_readable( __DIR__ . '/src/autoload.php' ) ) {
		return 'Rust Mail is incomplete: src/autoload.php is missing. Install the plugin again.';
	}
	require_once __DIR__ . '/src/autoload.php';
	$started = array( 'RustMail_Settings_Store', 'RustMail_Log_Store', 'RustMail_Mail_Router', 'RustMail_Outbox_Drain', 'RustMail_Log_Privacy', 'RustMail_Admin_Pages', 'RustMail_Explain_Data' );
	foreach ( $started as $class ) {
		if ( ! class_exists( $class ) ) {
			return sprintf( 'Rust Mail is incomplete: the file of %s is missing. Install the plugin again.', $class );
		}
	}
	if ( ! is_readable( RustMail_Explain_Data::file() ) ) {
		return 'Rust Mail is incomplete: data/classifier.json is missing. Install the plugin again, or run ./build.sh rules.';
	}
	return '';
}

$rust_mail_problem = rust_mail_bootstrap_problem();
if ( '' !== $rust_mail_problem ) {
	// Untranslated: the translations are loaded by the code that could not start.
	foreach ( array( 'admin_notices', 'network_admin_notices' ) as $rust_mail_hook ) {
		add_action(
			$rust_mail_hook,
			static function () use ( $rust_mail_problem ) {
				if ( current_user_can( 'activate_plugins' ) ) {
					echo '<div class="notice notice-error"><p>' . esc_html( $rust_mail_problem . ' WordPress sends mail the usual way until then.' ) . '</p></div>';
				}
			}
		);
	}
	return;
}

// The settings as this request read them, forgotten when they change.
RustMail_Settings_Store::watch_option();

// Lifecycle: the log table and its scheduled purge; deactivating cancels what waits in the outbox.
register_activation_hook( __FILE__, array( 'RustMail_Log_Store', 'activate' ) );
register_deactivation_hook( __FILE__, array( 'RustMail_Outbox_Drain', 'deactivate' ) );
add_action( 'plugins_loaded', array( 'RustMail_Log_Store', 'maybe_upgrade' ) );
add_action( RustMail_Log_Store::PURGE_HOOK, array( 'RustMail_Log_Store', 'purge_expired' ) );

// Translations.
add_action(
	'init',
	static function () {
		load_plugin_textdomain( 'rust-mail', false, dirname( plugin_basename( __FILE__ ) ) . '/languages' );
	}
);

// Mail routing, once a server is configured (otherwise core's wp_mail() is untouched), through the extension or,
// without it, PHPMailer's SMTP client: see RustMail_Transport_Registry.
RustMail_Mail_Router::register();
// The outbox's drain by WP-Cron.
RustMail_Outbox_Drain::register();
// The weekly summary to the alert channels, when it is on.
RustMail_Alerts_Summary::register();

// Personal data: the log's rows about an address, in Tools > Export Personal Data and Erase Personal Data.
foreach ( array( 'exporter' => 'export_personal_data', 'eraser' => 'erase_personal_data' ) as $rust_mail_kind => $rust_mail_callback ) {
	add_filter(
		"wp_privacy_personal_data_{$rust_mail_kind}s",
		static function ( $tools ) use ( $rust_mail_kind, $rust_mail_callback ) {
			$tools['rust-mail'] = array(
				"{$rust_mail_kind}_friendly_name" => __( 'Rust Mail connection log', 'rust-mail' ),
				'callback'                         => array( 'RustMail_Log_Privacy', $rust_mail_callback ),
			);
			return $tools;
		}
	);
}

// Admin pages, actions, notices and Site Health.
if ( is_admin() ) {
	RustMail_Admin_Pages::register();
	RustMail_Admin_Actions::register();
	RustMail_Admin_Notices::register();
	RustMail_Admin_Alerts::register();
	RustMail_Admin_Site_Health::register();
	RustMail_Admin_OAuth_Signin::register();
	RustMail_Admin_Setup_Wizard::register();
}
