<?php
/**
 * Admin: the settings page, the connection log pages, their actions and the notices.
 *
 * Every page and action requires the capability (manage_options; on multisite manage_network_options, and the pages
 * are network admin screens: the settings, the log and Diagnose are the network's, never a subsite administrator's);
 * every action then checks its nonce, then sanitizes its input.
 * Values are escaped where they are printed: subjects and addresses in the log come from strangers.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class Rust_Mail_Admin {

	const SETTINGS_PAGE = 'rust-mail';
	const LOG_PAGE      = 'rust-mail-log';

	/** admin-post.php actions, each with a nonce of the same name. */
	const ACTION_SAVE     = 'rust_mail_save_settings';
	const ACTION_TEST     = 'rust_mail_send_test';
	const ACTION_DIAGNOSE = 'rust_mail_diagnose';

	/** admin-post.php action: the Plugins screen's "Send them now", for the mail queued before deactivating. */
	const ACTION_SEND_QUEUED = 'rust_mail_send_queued';

	/** admin-post.php action on one message of the outbox; its nonce names the operation and the message. */
	const ACTION_OUTBOX = 'rust_mail_outbox';

	/** What the outbox action may do to a message. */
	const OUTBOX_OPERATIONS = array( 'send_now', 'cancel', 'resend' );

	/** Page messages for a user, kept in user meta (not transients, which uninstall could only find by a LIKE). */
	const NOTICE_META    = 'rust_mail_notice';
	const DIAGNOSIS_META = 'rust_mail_diagnosis';

	public static function register() {
		// Pages: the network's on multisite.
		add_action( is_multisite() ? 'network_admin_menu' : 'admin_menu', array( __CLASS__, 'add_menu' ) );
		add_action( 'admin_enqueue_scripts', array( __CLASS__, 'enqueue_assets' ) );
		add_filter( ( is_multisite() ? 'network_admin_' : '' ) . 'plugin_action_links_' . plugin_basename( RUST_MAIL_PLUGIN_FILE ), array( __CLASS__, 'plugin_action_links' ) );

		// Actions.
		add_action( 'admin_post_' . self::ACTION_SAVE, array( __CLASS__, 'handle_save' ) );
		add_action( 'admin_post_' . self::ACTION_TEST, array( __CLASS__, 'handle_test_mail' ) );
		add_action( 'admin_post_' . self::ACTION_DIAGNOSE, array( __CLASS__, 'handle_diagnose' ) );
		add_action( 'admin_post_' . self::ACTION_OUTBOX, array( __CLASS__, 'handle_outbox' ) );
		add_action( 'admin_post_' . self::ACTION_SEND_QUEUED, array( __CLASS__, 'handle_send_queued' ) );

		// The outbox at a glance: a dashboard widget and a Site Health test.
		add_action( is_multisite() ? 'wp_network_dashboard_setup' : 'wp_dashboard_setup', array( __CLASS__, 'add_dashboard_widget' ) );
		add_filter( 'site_status_tests', array( __CLASS__, 'add_site_health_test' ) );

		// Notices.
		add_action( is_multisite() ? 'network_admin_notices' : 'admin_notices', array( __CLASS__, 'show_notices' ) );
		if ( is_multisite() ) {
			add_action( 'admin_notices', array( __CLASS__, 'ask_for_network_activation' ) );
		}
	}

	/** Activated on one site of a network, the plugin has no screen: they are the network admin's. */
	public static function ask_for_network_activation() {
		if ( current_user_can( self::capability() ) && ! is_plugin_active_for_network( plugin_basename( RUST_MAIL_PLUGIN_FILE ) ) ) {
			self::notice( 'warning', __( 'Rust Mail: on a multisite network its settings, log and diagnosis are the network\'s. Network-activate it (Network Admin > Plugins) to reach them.', 'rust-mail' ) );
		}
	}

	/** Who may see and change the mail settings, the log and Diagnose. */
	public static function capability() {
		return is_multisite() ? 'manage_network_options' : 'manage_options';
	}

	/** An admin screen of the plugin: on multisite in the network admin. */
	private static function page_url( $page, array $args ) {
		$path = 'admin.php?page=' . $page;
		return add_query_arg( $args, is_multisite() ? network_admin_url( $path ) : admin_url( $path ) );
	}

	/* ---------------------------------------------------------------- Pages */

	public static function add_menu() {
		add_menu_page(
			__( 'Rust Mail', 'rust-mail' ),
			__( 'Rust Mail', 'rust-mail' ),
			self::capability(),
			self::SETTINGS_PAGE,
			array( __CLASS__, 'render_settings_page' ),
			'dashicons-email-alt'
		);
		add_submenu_page( self::SETTINGS_PAGE, __( 'Rust Mail settings', 'rust-mail' ), __( 'Settings', 'rust-mail' ), self::capability(), self::SETTINGS_PAGE, array( __CLASS__, 'render_settings_page' ) );
		add_submenu_page( self::SETTINGS_PAGE, __( 'Connection log', 'rust-mail' ), __( 'Connection log', 'rust-mail' ), self::capability(), self::LOG_PAGE, array( __CLASS__, 'render_log_page' ) );
	}

	public static function plugin_action_links( $links ) {
		array_unshift( $links, '<a href="' . esc_url( self::settings_url() ) . '">' . esc_html__( 'Settings', 'rust-mail' ) . '</a>' );
		return $links;
	}

	public static function enqueue_assets( $hook ) {
		if ( 'toplevel_page_' . self::SETTINGS_PAGE !== $hook ) {
			return;
		}
		wp_enqueue_script( 'rust-mail-settings', plugins_url( 'assets/settings.js', RUST_MAIL_PLUGIN_FILE ), array(), RUST_MAIL_PLUGIN_VERSION, true );
		$presets = array();
		$also    = array();
		$limits  = array();
		foreach ( Rust_Mail_Settings::presets() as $name => $preset ) {
			$presets[ $name ] = $preset['values'];
			$also[ $name ]    = $preset['also'] ?? (object) array();
			$limits[ $name ]  = $preset['limits'] ?? (object) array();
		}
		wp_add_inline_script(
			'rust-mail-settings',
			'window.rustMailSettings = ' . wp_json_encode(
				array(
					'presets' => $presets,
					'also'    => $also,
					'limits'  => $limits,
					'fixed'   => Rust_Mail_Settings::fixed_keys(),
				)
			) . ';',
			'before'
		);
	}

	public static function settings_url( array $args = array() ) {
		return self::page_url( self::SETTINGS_PAGE, $args );
	}

	public static function log_url( array $args = array() ) {
		return self::page_url( self::LOG_PAGE, $args );
	}

	public static function render_settings_page() {
		self::require_capability();
		require __DIR__ . '/views/settings-page.php';
	}

	public static function render_log_page() {
		self::require_capability();
		$entry_id = isset( $_GET['entry'] ) ? absint( $_GET['entry'] ) : 0; // phpcs:ignore WordPress.Security.NonceVerification -- viewing, not acting.
		if ( $entry_id ) {
			$entry = Rust_Mail_Log::get( $entry_id );
			require __DIR__ . '/views/log-entry.php';
			return;
		}
		require_once __DIR__ . '/class-rust-mail-log-list-table.php';
		$table = new Rust_Mail_Log_List_Table();
		$table->prepare_items();
		require __DIR__ . '/views/log-list.php';
	}

	/* ---------------------------------------------------------------- Actions */

	/** Capability first, then the nonce; dies with 403 otherwise. */
	private static function guard_action( $action ) {
		self::require_capability();
		check_admin_referer( $action );
	}

	private static function require_capability() {
		if ( ! current_user_can( self::capability() ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to manage mail settings.', 'rust-mail' ), 403 );
		}
	}

	public static function handle_save() {
		self::guard_action( self::ACTION_SAVE );
		$input = isset( $_POST['rust_mail'] ) && is_array( $_POST['rust_mail'] ) ? wp_unslash( $_POST['rust_mail'] ) : array(); // phpcs:ignore WordPress.Security.ValidatedSanitizedInput -- sanitized per key in Rust_Mail_Settings::save().
		$refused = Rust_Mail_Settings::save( $input );
		// A new secret or app must not keep using the old app's token until it expires.
		Rust_Mail_OAuth::forget();
		if ( $refused ) {
			self::flash( 'error', __( 'Settings saved, but not the password or client secret you entered.', 'rust-mail' ) . ' ' . Rust_Mail_Settings::key_problem() );
		} else {
			self::flash( 'success', __( 'Settings saved.', 'rust-mail' ) );
		}
		self::redirect( self::settings_url() );
	}

	public static function handle_test_mail() {
		self::guard_action( self::ACTION_TEST );
		$to = isset( $_POST['test_to'] ) ? sanitize_email( wp_unslash( $_POST['test_to'] ) ) : '';
		if ( ! is_email( $to ) ) {
			self::flash( 'error', __( 'Enter a valid address to send the test mail to.', 'rust-mail' ) );
			self::redirect( self::settings_url() );
		}
		// The test mail waits for the server whatever the delivery mode: the admin wants its answer now.
		add_filter(
			'rust_mail_delivery',
			static function () {
				return 'immediate';
			}
		);
		$sent = wp_mail(
			$to,
			/* translators: %s: site name */
			sprintf( __( 'Test mail from %s', 'rust-mail' ), wp_specialchars_decode( get_bloginfo( 'name' ), ENT_QUOTES ) ),
			__( 'This is a test mail sent by the Rust Mail plugin. If you can read it, WordPress can send mail.', 'rust-mail' )
		);
		$last = Rust_Mail_Log::query( array( 'per_page' => 1, 'page' => 1 ) )['rows'][0]['id'] ?? 0;
		if ( $sent ) {
			/* translators: %s: recipient address */
			self::flash( 'success', sprintf( __( 'Test mail sent to %s.', 'rust-mail' ), $to ), $last );
		} else {
			// What went wrong, in the classifier's words: with or without the extension, and without Diagnose.
			$entry       = $last ? Rust_Mail_Log::get( $last ) : null;
			$explanation = $entry ? Rust_Mail_Explain::for_entry( $entry ) : null;
			/* translators: %s: recipient address */
			$message = sprintf( __( 'The test mail to %s was not sent.', 'rust-mail' ), $to );
			self::flash( 'error', $explanation ? $message . ' ' . $explanation['cause'] . ' ' . implode( ' ', $explanation['advice'] ) : $message, $last );
		}
		self::redirect( self::settings_url() );
	}

	public static function handle_diagnose() {
		self::guard_action( self::ACTION_DIAGNOSE );
		if ( ! Rust_Mail_Engine::diagnose_available() ) {
			self::flash( 'error', __( 'Diagnose needs the rust_mail extension, which is not loaded in this PHP. The settings page says how to install it; until then, Send test mail reports what went wrong.', 'rust-mail' ) );
			self::redirect( self::settings_url() . '#rust-mail-engine' );
		}
		try {
			// The envelope is tried too (MAIL FROM and RCPT TO, then RSET: nothing is sent), so that "may not send as
			// this address" and relay refusals show up here and not only on the first real mail.
			$from      = (string) Rust_Mail_Settings::get( 'from' );
			$diagnosis = rust_mail_diagnose(
				Rust_Mail_Settings::transport(),
				array(
					'from' => is_email( $from ) ? $from : get_option( 'admin_email' ),
					'to'   => wp_get_current_user()->user_email,
				)
			);
		} catch ( Rust_Mail_OAuth_Exception $e ) {
			$diagnosis = array(
				'ok'      => false,
				'steps'   => array(),
				'verdict' => array(
					'cause'   => $e->kind(),
					'summary' => $e->getMessage(),
					'advice'  => $e->advice(),
				),
			);
		} catch ( Throwable $e ) {
			$diagnosis = array(
				'ok'      => false,
				'steps'   => array(),
				'verdict' => array(
					'cause'   => $e instanceof Rust_Mail_Settings_Exception ? 'settings' : 'invalid_input',
					'summary' => $e->getMessage(),
					'advice'  => array(),
				),
			);
		}
		Rust_Mail_OAuth::forget_if_refused( (string) ( $diagnosis['verdict']['cause'] ?? '' ) );
		// Kept for the page the browser is redirected to; per user, and briefly.
		self::keep_for_user( self::DIAGNOSIS_META, $diagnosis, 15 * MINUTE_IN_SECONDS );
		self::redirect( self::settings_url( array( 'diagnosis' => 1 ) ) . '#rust-mail-diagnosis' );
	}

	/** The nonce action of one operation on one message. */
	public static function outbox_nonce_action( $operation, $id ) {
		return self::ACTION_OUTBOX . '_' . $operation . '_' . (int) $id;
	}

	/** Send now, cancel or send again one message of the outbox, then show it. */
	public static function handle_outbox() {
		self::require_capability();
		$operation = isset( $_POST['operation'] ) ? sanitize_key( wp_unslash( $_POST['operation'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification -- names the nonce checked next.
		$id        = isset( $_POST['entry'] ) ? absint( $_POST['entry'] ) : 0; // phpcs:ignore WordPress.Security.NonceVerification -- names the nonce checked next.
		check_admin_referer( self::outbox_nonce_action( $operation, $id ) );
		if ( ! in_array( $operation, self::OUTBOX_OPERATIONS, true ) || ! $id ) {
			wp_die( esc_html__( 'Unknown operation.', 'rust-mail' ), 400 );
		}
		$shown = $id;
		if ( 'send_now' === $operation ) {
			Rust_Mail_Outbox::send_now( $id );
			self::flash( 'success', __( 'The message was tried now; its status is below.', 'rust-mail' ) );
		} elseif ( 'cancel' === $operation ) {
			$cancelled = Rust_Mail_Outbox::cancel( $id );
			self::flash( $cancelled ? 'success' : 'error', $cancelled ? __( 'The message was cancelled: it will not be sent.', 'rust-mail' ) : __( 'Only a message that waits in the outbox can be cancelled.', 'rust-mail' ) );
		} else {
			$resent = Rust_Mail_Outbox::resend( $id );
			self::flash( $resent ? 'success' : 'error', $resent ? __( 'The message was sent again as a new entry, shown here.', 'rust-mail' ) : __( 'This message can no longer be sent again: its content is not kept.', 'rust-mail' ) );
			$shown = $resent ? $resent : $id;
		}
		self::redirect( self::log_url( array( 'entry' => $shown ) ) );
	}

	/** "Send them now" on the Plugins screen: every queued message, due or not, in this request; then back there. */
	public static function handle_send_queued() {
		self::guard_action( self::ACTION_SEND_QUEUED );
		$counts = Rust_Mail_Outbox::send_all_now();
		$sent   = ( $counts['sent'] ?? 0 ) + ( $counts['partial'] ?? 0 );
		$failed = $counts['failed'] ?? 0;
		$left   = self::queued_count();
		/* translators: 1: number of messages sent, 2: number of messages that failed */
		$message = sprintf( __( 'Rust Mail sent %1$d queued messages; %2$d failed.', 'rust-mail' ), $sent, $failed );
		if ( $left ) {
			/* translators: %d: number of messages */
			$message .= ' ' . sprintf( _n( '%d message still waits: the connection log says why.', '%d messages still wait: the connection log says why.', $left, 'rust-mail' ), $left );
		}
		self::flash( $left || $failed ? 'warning' : 'success', $message );
		self::redirect( is_multisite() ? network_admin_url( 'plugins.php' ) : admin_url( 'plugins.php' ) );
	}

	/** Messages waiting in the outbox: what deactivating would cancel. */
	private static function queued_count() {
		return Rust_Mail_Log::status_counts()[ Rust_Mail_Log::STATUS_QUEUED ] ?? 0;
	}

	public static function add_dashboard_widget() {
		if ( current_user_can( self::capability() ) ) {
			wp_add_dashboard_widget( 'rust_mail_outbox', __( 'Mail (Rust Mail)', 'rust-mail' ), array( __CLASS__, 'render_dashboard_widget' ) );
		}
	}

	public static function render_dashboard_widget() {
		require __DIR__ . '/views/mail-chart.php';
		echo '<p><a href="' . esc_url( self::log_url() ) . '">' . esc_html__( 'Connection log', 'rust-mail' ) . '</a></p>';
	}

	public static function add_site_health_test( $tests ) {
		$tests['direct']['rust_mail_outbox'] = array(
			'label' => __( 'Rust Mail outbox', 'rust-mail' ),
			'test'  => array( 'Rust_Mail_Outbox', 'site_health_test' ),
		);
		$tests['direct']['rust_mail_engine'] = array(
			'label' => __( 'Rust Mail engine', 'rust-mail' ),
			'test'  => array( 'Rust_Mail_Engine', 'site_health_test' ),
		);
		return $tests;
	}

	/** The current user's last diagnosis while it is fresh, else null. */
	public static function last_diagnosis() {
		return self::kept_for_user( self::DIAGNOSIS_META );
	}

	/** A value for the current user's next pages, until it expires. */
	private static function keep_for_user( $meta_key, $value, $seconds ) {
		update_user_meta( get_current_user_id(), $meta_key, array( 'value' => $value, 'expires' => time() + $seconds ) );
	}

	private static function kept_for_user( $meta_key ) {
		$kept = get_user_meta( get_current_user_id(), $meta_key, true );
		if ( ! is_array( $kept ) || (int) ( $kept['expires'] ?? 0 ) < time() ) {
			return null;
		}
		return $kept['value'];
	}

	private static function redirect( $url ) {
		wp_safe_redirect( $url );
		exit;
	}

	/* ---------------------------------------------------------------- Notices */

	/** A message for the next page this user sees (the page after a redirect). */
	private static function flash( $type, $message, $log_id = 0 ) {
		self::keep_for_user( self::NOTICE_META, array( 'type' => $type, 'message' => $message, 'log_id' => (int) $log_id ), 5 * MINUTE_IN_SECONDS );
	}

	public static function show_notices() {
		if ( ! current_user_can( self::capability() ) ) {
			return;
		}
		if ( ! Rust_Mail_Settings::is_configured() ) {
			self::notice( 'warning', __( 'Rust Mail: no mail server is set yet, so WordPress sends mail the usual way. Choose one on the Rust Mail settings page.', 'rust-mail' ), self::settings_url() );
		}
		if ( Rust_Mail_Settings::saved_password_unreadable() ) {
			self::notice( 'error', __( 'Rust Mail: the saved SMTP password can no longer be decrypted (the keys in wp-config.php changed). Enter it again.', 'rust-mail' ), self::settings_url() );
		}
		$problems = array( Rust_Mail_Settings::constant_secret_problem(), Rust_Mail_Settings::constant_secret_problem( Rust_Mail_Settings::FALLBACK ) );
		if ( 'none' !== Rust_Mail_Settings::get( 'auth' ) ) {
			// Only a login needs a stored secret; a site without one is not nagged about its salts.
			$problems[] = Rust_Mail_Settings::key_problem();
		}
		$problems = array_merge( $problems, Rust_Mail_Outbox::problems() );
		foreach ( array_filter( $problems ) as $problem ) {
			self::notice( 'error', 'Rust Mail: ' . $problem );
		}

		self::show_outbox_before_deactivation();

		$notice = self::kept_for_user( self::NOTICE_META );
		if ( $notice ) {
			delete_user_meta( get_current_user_id(), self::NOTICE_META );
			self::notice( $notice['type'], $notice['message'], $notice['log_id'] ? self::log_url( array( 'entry' => $notice['log_id'] ) ) : '', __( 'View in the connection log', 'rust-mail' ) );
		}
	}

	/**
	 * On the Plugins screen, where the plugin is deactivated and deleted: what would become of the mail still waiting
	 * (Rust_Mail_Log::deactivate() cancels it; uninstall.php deletes the log), with a button that sends it first.
	 */
	private static function show_outbox_before_deactivation() {
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
		echo ' <a href="' . esc_url( self::log_url( array( 'status' => Rust_Mail_Log::STATUS_QUEUED ) ) ) . '">' . esc_html__( 'See them in the connection log', 'rust-mail' ) . '</a></p>';
		echo '<form method="post" action="' . esc_url( admin_url( 'admin-post.php' ) ) . '"><p>';
		echo '<input type="hidden" name="action" value="' . esc_attr( self::ACTION_SEND_QUEUED ) . '" />';
		wp_nonce_field( self::ACTION_SEND_QUEUED );
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

	/* ---------------------------------------------------------------- Output helpers for the views */

	/**
	 * Defence in depth: the extension already redacts AUTH in transcripts, but nothing the plugin prints may ever
	 * contain the password, plain or in the base64 forms AUTH uses.
	 */
	public static function redact( $text ) {
		$user  = (string) Rust_Mail_Settings::get( 'username' );
		$forms = array();
		foreach ( array( (string) Rust_Mail_Settings::get( 'password' ), (string) Rust_Mail_Settings::get( 'oauth_client_secret' ), Rust_Mail_OAuth::cached_token( true ) ) as $secret ) {
			if ( '' !== $secret ) {
				array_push( $forms, $secret, base64_encode( $secret ), base64_encode( "\0" . $user . "\0" . $secret ), base64_encode( $user . "\0" . $user . "\0" . $secret ), base64_encode( 'user=' . $user . "\x01auth=Bearer " . $secret . "\x01\x01" ) );
			}
		}
		return $forms ? str_replace( $forms, '********', (string) $text ) : (string) $text;
	}

	/** One transcript line ([ms, direction, text]) as text. */
	public static function transcript_line( $line ) {
		$line = array_values( (array) $line );
		return sprintf( '%6s ms  %-6s %s', $line[0] ?? '', $line[1] ?? '', self::redact( $line[2] ?? '' ) );
	}

	/** Log timestamps are stored in UTC; shown in the site's time zone and format. */
	public static function format_time( $utc ) {
		$timestamp = strtotime( $utc . ' UTC' );
		return wp_date( get_option( 'date_format' ) . ' H:i:s', $timestamp );
	}

	/** @return array<string, string> every status with its label, in the order the log's views list them */
	public static function status_labels() {
		return array(
			Rust_Mail_Log::STATUS_SENT      => __( 'Sent', 'rust-mail' ),
			Rust_Mail_Log::STATUS_FAILED    => __( 'Failed', 'rust-mail' ),
			Rust_Mail_Log::STATUS_PARTIAL   => __( 'Partly sent', 'rust-mail' ),
			Rust_Mail_Log::STATUS_QUEUED    => __( 'Queued', 'rust-mail' ),
			Rust_Mail_Log::STATUS_SENDING   => __( 'Sending', 'rust-mail' ),
			Rust_Mail_Log::STATUS_CANCELLED => __( 'Cancelled', 'rust-mail' ),
			Rust_Mail_Log::STATUS_UNCONFIRMED => __( 'Possibly sent', 'rust-mail' ),
		);
	}

	public static function status_label( $status ) {
		return self::status_labels()[ $status ] ?? $status;
	}
}
