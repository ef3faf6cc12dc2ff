<?php
/**
 * Runs when the plugin is deleted from the Plugins screen. Removes everything rust-mail stored:
 *
 * - option  rust_mail_settings      (server settings, the encrypted password and client secret, sender and log options)
 * - option  rust_mail_db_version    (version of the log table)
 * - option  rust_mail_oauth_token   (the cached, encrypted OAuth2 access token)
 * - table   {prefix}rust_mail_log   (the connection log)
 * - cron    rust_mail_purge_log     (the scheduled log purge)
 * - transients rust_mail_notice_<user id> and rust_mail_diagnosis_<user id> (short-lived page messages)
 *
 * On a multisite network this is done for every site. Constants in wp-config.php are yours to remove.
 *
 * @package RustMail
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

function rust_mail_uninstall_site() {
	global $wpdb;
	delete_option( 'rust_mail_settings' );
	delete_option( 'rust_mail_db_version' );
	delete_option( 'rust_mail_oauth_token' );
	wp_clear_scheduled_hook( 'rust_mail_purge_log' );
	$wpdb->query( "DROP TABLE IF EXISTS {$wpdb->prefix}rust_mail_log" ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery.SchemaChange
	foreach ( array( 'rust_mail_notice_', 'rust_mail_diagnosis_' ) as $prefix ) {
		$names = $wpdb->get_col( $wpdb->prepare( "SELECT option_name FROM $wpdb->options WHERE option_name LIKE %s", $wpdb->esc_like( '_transient_' . $prefix ) . '%' ) );
		foreach ( $names as $name ) {
			delete_transient( substr( $name, strlen( '_transient_' ) ) );
		}
	}
}

if ( is_multisite() ) {
	foreach ( get_sites( array( 'fields' => 'ids', 'number' => 0 ) ) as $rust_mail_site_id ) {
		switch_to_blog( $rust_mail_site_id );
		rust_mail_uninstall_site();
		restore_current_blog();
	}
} else {
	rust_mail_uninstall_site();
}
