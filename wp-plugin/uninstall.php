<?php
/**
 * Runs when the plugin is deleted from the Plugins screen. Removes everything rust-mail stored:
 *
 * - option    rust_mail_settings     (server settings, the encrypted password and client secret, sender and log options,
 *                                     the named connections with their encrypted passwords, the routing rules)
 * - option    rust_mail_db_version   (version of the log table)
 * - option    rust_mail_oauth_token  (the cached, encrypted OAuth2 access token)
 * - option    rust_mail_oauth_grant  (a mailbox's sign-in: its encrypted refresh token, address and dates); a Google
 *             sign-in is first revoked at Google, as Disconnect does (Microsoft offers no way to)
 * - option    rust_mail_last_cron    (when cron last drained the outbox)
 * - option    rust_mail_last_alert   (when the last alert mail went out, in versions before incidents)
 * - option    rust_mail_incidents, rust_mail_alerts, rust_mail_alerts_status (open incidents, the alert channels
 *             with their webhook addresses, each channel's last delivery) and rust_mail_hold (the hold switch)
 * - table     {prefix}rust_mail_log  (the connection log, which is also the outbox: deactivation cancelled what was
 *             still queued, after the Plugins screen had said so and offered to send it; any message left goes too)
 * - cron      rust_mail_purge_log    (the scheduled log purge)
 * - cron      rust_mail_drain        (the outbox's drain, every minute)
 * - cron      rust_mail_weekly_summary (the weekly summary, when it is on)
 * - user meta rust_mail_notice, rust_mail_diagnosis, rust_mail_field_problems and rust_mail_oauth_notice of
 *             every user (short-lived page messages), rust_mail_incident_ack (the incident banners a user
 *             dismissed), rust_mail_oauth_pending (a sign-in under way: its state and PKCE verifier), and the
 *             connection log's Screen Options: rust_mail_log_per_page, and its hidden columns
 *             (managerust-mail_page_rust-mail-logcolumnshidden; with -network before "columnshidden" on multisite)
 * - transient rust_mail_notice_<user id> and rust_mail_diagnosis_<user id>, where earlier versions kept the page
 *             messages (those of another plugin whose names merely start alike are left alone)
 *
 * On multisite the options are the network's and the table is the network's ({base prefix}rust_mail_log); each site's
 * own options, table and cron event are removed too (versions before 0.2 kept them per site). Constants in
 * wp-config.php are yours to remove.
 *
 * @package RustMail
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

const RUST_MAIL_OPTIONS = array( 'rust_mail_settings', 'rust_mail_db_version', 'rust_mail_oauth_token', 'rust_mail_oauth_grant', 'rust_mail_last_cron', 'rust_mail_last_alert', 'rust_mail_incidents', 'rust_mail_alerts', 'rust_mail_alerts_status', 'rust_mail_hold' );

function rust_mail_uninstall_site() {
	global $wpdb;
	foreach ( RUST_MAIL_OPTIONS as $option ) {
		delete_option( $option );
	}
	wp_clear_scheduled_hook( 'rust_mail_purge_log' );
	wp_clear_scheduled_hook( 'rust_mail_drain' );
	wp_clear_scheduled_hook( 'rust_mail_weekly_summary' );
	$wpdb->query( "DROP TABLE IF EXISTS {$wpdb->prefix}rust_mail_log" ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery.SchemaChange
	rust_mail_uninstall_legacy_transients();
}

/**
 * The page messages of earlier versions, in this site's options: found by an escaped prefix, kept only when the rest
 * of the name is a user id, and deleted with delete_transient() so that an object cache drops them too.
 */
function rust_mail_uninstall_legacy_transients() {
	global $wpdb;
	foreach ( array( 'rust_mail_notice_', 'rust_mail_diagnosis_' ) as $prefix ) {
		$like  = $wpdb->esc_like( '_transient_' . $prefix ) . '%';
		$names = $wpdb->get_col( $wpdb->prepare( "SELECT option_name FROM $wpdb->options WHERE option_name LIKE %s", $like ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
		foreach ( $names as $name ) {
			$transient = substr( $name, strlen( '_transient_' ) );
			if ( ctype_digit( substr( $transient, strlen( $prefix ) ) ) ) {
				delete_transient( $transient );
			}
		}
	}
}

// WordPress includes this file from inside uninstall_plugin(): its top level is a function's scope, not the global one.
global $wpdb;

// The plugin is inactive, so its classes are not loaded: the autoloader finds those that revoke the sign-in.
require_once __DIR__ . '/src/autoload.php';
try {
	RustMail_OAuth_Grant::revoke();
} catch ( RustMail_OAuth_Exception ) {
	// Google could not be reached or refused: nobody is left to tell, and uninstalling must not stop here.
}

if ( is_multisite() ) {
	foreach ( get_sites( array( 'fields' => 'ids', 'number' => 0 ) ) as $rust_mail_site_id ) {
		switch_to_blog( $rust_mail_site_id );
		rust_mail_uninstall_site();
		restore_current_blog();
	}
	foreach ( RUST_MAIL_OPTIONS as $rust_mail_option ) {
		delete_site_option( $rust_mail_option );
	}
	$wpdb->query( "DROP TABLE IF EXISTS {$wpdb->base_prefix}rust_mail_log" ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery.SchemaChange
} else {
	rust_mail_uninstall_site();
}

// User meta is one table for the whole network: delete_metadata() with "all users" removes every user's copy.
foreach ( array( 'rust_mail_notice', 'rust_mail_diagnosis', 'rust_mail_field_problems', 'rust_mail_incident_ack', 'rust_mail_oauth_notice', 'rust_mail_oauth_pending', 'rust_mail_log_per_page', 'managerust-mail_page_rust-mail-logcolumnshidden', 'managerust-mail_page_rust-mail-log-networkcolumnshidden' ) as $rust_mail_meta_key ) {
	delete_metadata( 'user', 0, $rust_mail_meta_key, '', true );
}
