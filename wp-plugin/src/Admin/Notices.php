<?php
/**
 * Admin notices: the settings and the outbox's problems, and the message an action left for the next page.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Admin_Notices {

	/** Page messages for a user, kept in user meta (not transients, which uninstall could only find by a LIKE). */
	const NOTICE_META    = 'rust_mail_notice';
	const DIAGNOSIS_META = 'rust_mail_diagnosis';

	/** The settings form's values the last save refused, by key: shown once, next to their fields. */
	const FIELD_PROBLEMS_META = 'rust_mail_field_problems';

	public static function register() {
		add_action( is_multisite() ? 'network_admin_notices' : 'admin_notices', array( __CLASS__, 'show_notices' ) );
		if ( is_multisite() ) {
			add_action( 'admin_notices', array( __CLASS__, 'ask_for_network_activation' ) );
		}
	}

	/** Activated on one site of a network, the plugin has no screen: they are the network admin's. */
	public static function ask_for_network_activation() {
		if ( current_user_can( RustMail_Admin_Pages::capability() ) && ! is_plugin_active_for_network( plugin_basename( RUST_MAIL_PLUGIN_FILE ) ) ) {
			self::notice( 'warning', __( 'Rust Mail: on a multisite network its settings, log and diagnosis are the network\'s. Network-activate it (Network Admin > Plugins) to reach them.', 'rust-mail' ) );
		}
	}

	/** Messages waiting in the outbox: what deactivating would cancel. */
	public static function queued_count() {
		return RustMail_Log_Store::status_counts()[ RustMail_Log_Store::STATUS_QUEUED ] ?? 0;
	}

	/** The current user's last diagnosis while it is fresh, else null. */
	public static function last_diagnosis() {
		return self::kept_for_user( self::DIAGNOSIS_META );
	}

	/** @return array<string, string> the values the user's last save refused (message by key), once. */
	public static function take_field_problems() {
		$problems = self::kept_for_user( self::FIELD_PROBLEMS_META );
		delete_user_meta( get_current_user_id(), self::FIELD_PROBLEMS_META );
		return is_array( $problems ) ? $problems : array();
	}

	/** A value for the current user's next pages, until it expires. */
	public static function keep_for_user( $meta_key, $value, $seconds ) {
		update_user_meta( get_current_user_id(), $meta_key, array( 'value' => $value, 'expires' => time() + $seconds ) );
	}

	private static function kept_for_user( $meta_key ) {
		$kept = get_user_meta( get_current_user_id(), $meta_key, true );
		if ( ! is_array( $kept ) || (int) ( $kept['expires'] ?? 0 ) < time() ) {
			return null;
		}
		return $kept['value'];
	}


	/** A message for the next page this user sees (the page after a redirect). */
	public static function flash( $type, $message, $log_id = 0 ) {
		self::keep_for_user( self::NOTICE_META, array( 'type' => $type, 'message' => $message, 'log_id' => (int) $log_id ), 5 * MINUTE_IN_SECONDS );
	}

	public static function show_notices() {
		if ( ! current_user_can( RustMail_Admin_Pages::capability() ) ) {
			return;
		}
		// No server yet: RustMail_Admin_Setup_Wizard's notice leads to the setup.
		if ( RustMail_Settings_Store::saved_password_unreadable() ) {
			self::notice( 'error', __( 'Rust Mail: the saved SMTP password can no longer be decrypted (the keys in wp-config.php changed). Enter it again.', 'rust-mail' ), RustMail_Admin_Pages::settings_url() );
		}
		$problems = array_map( array( 'RustMail_Settings_Store', 'constant_secret_problem' ), array_values( RustMail_Settings_Connections::all() + array( 'fallback' => RustMail_Settings_Schema::FALLBACK ) ) );
		array_push( $problems, RustMail_Settings_Connections::constant_problem(), RustMail_Settings_Routes::constant_problem() );
		if ( 'none' !== RustMail_Settings_Store::get( 'auth' ) || RustMail_Settings_Store::uses_api() ) {
			// Only a login (an API's token or key among them) needs a stored secret; a site without one is not nagged
			// about its salts.
			$problems[] = RustMail_Settings_Secrets::key_problem();
		}
		$problems = array_merge( $problems, RustMail_Outbox_Health::problems() );
		if ( '' !== RustMail_Explain_Data::problem() ) {
			/* translators: %s: what is wrong with the plugin's data file */
			$problems[] = sprintf( __( '%s. Until the plugin\'s files are complete again (reinstall it, or run ./build.sh rules), WordPress sends mail the usual way and queued mail waits.', 'rust-mail' ), RustMail_Explain_Data::problem() );
		}
		foreach ( array_filter( $problems ) as $problem ) {
			self::notice( 'error', 'Rust Mail: ' . $problem );
		}
		RustMail_Admin_Alerts::show_banners();

		self::show_outbox_before_deactivation();

		$notice = self::kept_for_user( self::NOTICE_META );
		if ( $notice ) {
			delete_user_meta( get_current_user_id(), self::NOTICE_META );
			self::notice( $notice['type'], $notice['message'], $notice['log_id'] ? RustMail_Log_Store::url( array( 'entry' => $notice['log_id'] ) ) : '', __( 'View in the connection log', 'rust-mail' ) );
		}
	}

	/**
	 * On the Plugins screen, where the plugin is deactivated and deleted: what would become of the mail still waiting
	 * (RustMail_Outbox_Drain::deactivate() cancels it; uninstall.php deletes the log), with a button that sends it first.
	 */
	public static function show_outbox_before_deactivation() {
		$screen = get_current_screen();
		$queued = self::queued_count();
		if ( ! $queued || ! $screen || ! in_array( $screen->id, array( 'plugins', 'plugins-network' ), true ) ) {
			return;
		}
		echo '<div class="notice notice-warning rust-mail-queued-notice"><p>';
		echo esc_html(
			sprintf(
				/* translators: %d: number of messages */
				_n(
					'Rust Mail: %d message waits in the outbox. Deactivating Rust Mail cancels it: it is not sent, its content is deleted, and the connection log keeps a line for it. Deleting the plugin then deletes the log too.',
					'Rust Mail: %d messages wait in the outbox. Deactivating Rust Mail cancels them: they are not sent, their content is deleted, and the connection log keeps a line for each. Deleting the plugin then deletes the log too.',
					$queued,
					'rust-mail'
				),
				$queued
			)
		);
		echo ' <a href="' . esc_url( RustMail_Log_Store::url( array( 'status' => RustMail_Log_Store::STATUS_QUEUED ) ) ) . '">' . esc_html__( 'See them in the connection log', 'rust-mail' ) . '</a></p>';
		echo '<form method="post" action="' . esc_url( admin_url( 'admin-post.php' ) ) . '"><p>';
		echo '<input type="hidden" name="action" value="' . esc_attr( RustMail_Admin_Actions::ACTION_SEND_QUEUED ) . '" />';
		wp_nonce_field( RustMail_Admin_Actions::ACTION_SEND_QUEUED );
		submit_button( __( 'Send them now', 'rust-mail' ), 'secondary', 'submit', false );
		echo '</p></form></div>';
	}

	private static function notice( $type, $message, $link = '', $link_text = '' ) {
		echo '<div class="notice notice-' . esc_attr( $type ) . ' is-dismissible"><p>' . esc_html( $message );
		if ( $link ) {
			echo ' <a href="' . esc_url( $link ) . '">' . esc_html( $link_text ? $link_text : __( 'Settings', 'rust-mail' ) ) . '</a>';
		}
		echo '</p></div>';
	}
}
