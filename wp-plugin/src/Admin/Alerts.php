<?php
/**
 * Rust Mail > Alerts: the alert channels with a "Send a test alert" button each, the weekly summary and the hold
 * switch; the banners of open incidents (dismissed per incident) and of held mail. Each action checks the
 * capability, then its nonce, then sanitizes its input.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Admin_Alerts {

	const PAGE = 'rust-mail-alerts';

	/** admin-post.php actions, each with a nonce of the same name (the test's and the dismissal's name their target). */
	const ACTION_SAVE    = 'rust_mail_save_alerts';
	const ACTION_TEST    = 'rust_mail_test_alert';
	const ACTION_ACK     = 'rust_mail_ack_incident';
	const ACTION_RELEASE = 'rust_mail_release_held';

	public static function register() {
		add_action( is_multisite() ? 'network_admin_menu' : 'admin_menu', array( __CLASS__, 'add_menu' ), 20 );
		add_action( 'admin_post_' . self::ACTION_SAVE, array( __CLASS__, 'handle_save' ) );
		add_action( 'admin_post_' . self::ACTION_TEST, array( __CLASS__, 'handle_test' ) );
		add_action( 'admin_post_' . self::ACTION_ACK, array( __CLASS__, 'handle_ack' ) );
		add_action( 'admin_post_' . self::ACTION_RELEASE, array( __CLASS__, 'handle_release' ) );
	}

	public static function add_menu() {
		add_submenu_page( RustMail_Admin_Pages::SETTINGS_PAGE, __( 'Alerts and hold', 'rust-mail' ), __( 'Alerts', 'rust-mail' ), RustMail_Admin_Pages::capability(), self::PAGE, array( __CLASS__, 'render' ) );
	}

	public static function url( array $args = array() ) {
		$path = 'admin.php?page=' . self::PAGE;
		return add_query_arg( $args, is_multisite() ? network_admin_url( $path ) : admin_url( $path ) );
	}

	public static function render() {
		RustMail_Admin_Pages::require_capability();
		require __DIR__ . '/views/alerts-page.php';
	}

	/** Capability first, then the nonce; dies with 403 otherwise. */
	private static function guard( $nonce_action ) {
		RustMail_Admin_Pages::require_capability();
		check_admin_referer( $nonce_action );
	}

	private static function redirect( $url ) {
		wp_safe_redirect( $url );
		exit;
	}

	/**
	 * Saves the channels, the summary and the hold. A webhook field left empty keeps the saved address (the page never
	 * shows it); "Remove" clears it. A value that cannot be used is refused with its reason and the rest is saved.
	 */
	public static function handle_save() {
		self::guard( self::ACTION_SAVE );
		$input    = isset( $_POST['rust_mail_alerts'] ) && is_array( $_POST['rust_mail_alerts'] ) ? wp_unslash( $_POST['rust_mail_alerts'] ) : array(); // phpcs:ignore WordPress.Security.ValidatedSanitizedInput -- sanitized per key below.
		$text     = static fn ( $key ) => isset( $input[ $key ] ) && is_string( $input[ $key ] ) ? trim( $input[ $key ] ) : '';
		$settings = RustMail_Alerts_Channels::settings();
		$refused  = array();
		$labels   = RustMail_Alerts_Channels::labels();

		$settings['email']   = ! empty( $input['email'] );
		$settings['summary'] = ! empty( $input['summary'] );
		$email_to            = $text( 'email_to' );
		if ( '' === $email_to || is_email( $email_to ) ) {
			$settings['email_to'] = '' === $email_to ? '' : sanitize_email( $email_to );
		} else {
			/* translators: %s: what was typed */
			$refused[] = sprintf( __( 'Send alert mail to: "%s" is not an email address; the address saved before is kept.', 'rust-mail' ), sanitize_text_field( $email_to ) );
		}
		$via = sanitize_key( $text( 'email_via' ) );
		if ( '' === $via || RustMail_Alerts_Channels::VIA_PHP_MAIL === $via || isset( RustMail_Settings_Connections::all()[ $via ] ) ) {
			$settings['email_via'] = $via;
		}
		foreach ( RustMail_Alerts_Channels::WEBHOOKS as $channel ) {
			$url = $text( $channel );
			if ( ! empty( $input[ 'remove_' . $channel ] ) ) {
				$settings[ $channel ] = '';
			} elseif ( '' !== $url ) {
				$problem = RustMail_Alerts_Channels::url_problem( $url );
				if ( '' === $problem ) {
					$settings[ $channel ] = $url;
				} else {
					/* translators: 1: channel name, 2: what is wrong */
					$refused[] = sprintf( __( '%1$s: %2$s The address saved before is kept.', 'rust-mail' ), $labels[ $channel ], $problem );
				}
			}
		}
		RustMail_Settings_Store::update_plugin_option( RustMail_Alerts_Channels::OPTION, $settings );
		RustMail_Alerts_Summary::schedule();

		$hold = sanitize_key( $text( 'hold' ) );
		RustMail_Settings_Store::update_plugin_option( RustMail_Outbox_Hold::OPTION, in_array( $hold, array( 'on', 'off' ), true ) ? $hold : '' );

		if ( $refused ) {
			RustMail_Admin_Notices::flash( 'error', implode( ' ', $refused ) );
		} else {
			RustMail_Admin_Notices::flash( 'success', __( 'Alert settings saved.', 'rust-mail' ) );
		}
		self::redirect( self::url() );
	}

	/** "Send a test alert" on one channel, as saved. */
	public static function handle_test() {
		RustMail_Admin_Pages::require_capability();
		$channel = isset( $_POST['channel'] ) ? sanitize_key( wp_unslash( $_POST['channel'] ) ) : '';
		check_admin_referer( self::ACTION_TEST . '_' . $channel );
		$labels = RustMail_Alerts_Channels::labels();
		if ( ! in_array( $channel, RustMail_Alerts_Channels::enabled(), true ) ) {
			RustMail_Admin_Notices::flash( 'error', __( 'Set this channel up and save first: the test alert goes where the saved settings say.', 'rust-mail' ) );
			self::redirect( self::url() );
		}
		$problem = RustMail_Alerts_Channels::send( $channel, RustMail_Alerts_Message::test() );
		if ( '' === $problem ) {
			/* translators: %s: channel name */
			RustMail_Admin_Notices::flash( 'success', sprintf( __( 'Test alert sent to %s.', 'rust-mail' ), $labels[ $channel ] ) );
		} else {
			/* translators: 1: channel name, 2: why not */
			RustMail_Admin_Notices::flash( 'error', sprintf( __( 'The test alert to %1$s was not delivered: %2$s', 'rust-mail' ), $labels[ $channel ], $problem ) );
		}
		self::redirect( self::url() );
	}

	/** Dismisses an incident's banner for this user, until a new incident (or mail stopping altogether). */
	public static function handle_ack() {
		RustMail_Admin_Pages::require_capability();
		$id = isset( $_GET['incident'] ) ? sanitize_key( wp_unslash( $_GET['incident'] ) ) : '';
		check_admin_referer( self::ACTION_ACK . '_' . $id );
		RustMail_Alerts_Incident::acknowledge( $id );
		self::redirect( wp_get_referer() ? wp_get_referer() : admin_url() );
	}

	/** "Send the held mail now": one drain of what waits, the hold staying on for new mail. */
	public static function handle_release() {
		self::guard( self::ACTION_RELEASE );
		$counts = RustMail_Outbox_Hold::release();
		$sent   = ( $counts['sent'] ?? 0 ) + ( $counts['partial'] ?? 0 );
		$left   = RustMail_Outbox_Hold::held_count();
		/* translators: 1: messages sent, 2: messages still waiting */
		RustMail_Admin_Notices::flash( $left ? 'warning' : 'success', sprintf( __( 'Held mail released: %1$d sent, %2$d still waiting in the outbox.', 'rust-mail' ), $sent, $left ) );
		self::redirect( wp_get_referer() ? wp_get_referer() : self::url() );
	}

	/** The banners: each open incident this user has not dismissed, and held mail. */
	public static function show_banners() {
		foreach ( RustMail_Alerts_Incident::sentences() as $sentence ) {
			if ( RustMail_Alerts_Incident::is_acknowledged( $sentence['id'] ) ) {
				continue;
			}
			$dismiss = wp_nonce_url( add_query_arg( array( 'action' => self::ACTION_ACK, 'incident' => $sentence['id'] ), admin_url( 'admin-post.php' ) ), self::ACTION_ACK . '_' . $sentence['id'] );
			echo '<div class="notice notice-' . esc_attr( $sentence['type'] ) . ' rust-mail-incident" data-incident="' . esc_attr( $sentence['id'] ) . '"><p>' . esc_html( 'Rust Mail: ' . $sentence['text'] );
			echo ' <a href="' . esc_url( $sentence['url'] ) . '">' . esc_html__( 'See the mail in the connection log', 'rust-mail' ) . '</a>';
			echo ' | <a class="rust-mail-incident-dismiss" href="' . esc_url( $dismiss ) . '">' . esc_html__( 'Dismiss until the next incident', 'rust-mail' ) . '</a></p></div>';
		}
		if ( RustMail_Outbox_Hold::is_on() ) {
			self::show_hold_banner();
		}
	}

	private static function show_hold_banner() {
		$held = RustMail_Outbox_Hold::held_count();
		echo '<div class="notice notice-warning rust-mail-hold-notice"><p>';
		echo esc_html(
			sprintf(
				/* translators: %d: number of messages */
				_n( 'Rust Mail holds all mail: nothing is sent, it is kept in the outbox (%d message waits). Your own test mail still goes out.', 'Rust Mail holds all mail: nothing is sent, it is kept in the outbox (%d messages wait). Your own test mail still goes out.', $held, 'rust-mail' ),
				$held
			)
		);
		echo ' ' . esc_html( self::hold_reason() ) . ' <a href="' . esc_url( self::url() . '#rust-mail-hold' ) . '">' . esc_html__( 'Hold settings', 'rust-mail' ) . '</a></p>';
		if ( $held ) {
			self::release_button();
		}
		echo '</div>';
	}

	/** Why mail is held, in one sentence. */
	public static function hold_reason() {
		switch ( RustMail_Outbox_Hold::decided_by() ) {
			case 'constant':
				return __( 'RUST_MAIL_HOLD is set in wp-config.php.', 'rust-mail' );
			case 'setting':
				return __( 'The hold is switched on in the Rust Mail alert settings.', 'rust-mail' );
			default:
				/* translators: %s: environment type */
				return sprintf( __( 'This site\'s environment is "%s", where mail is held unless you switch the hold off.', 'rust-mail' ), wp_get_environment_type() );
		}
	}

	public static function release_button() {
		echo '<form method="post" action="' . esc_url( admin_url( 'admin-post.php' ) ) . '"><p>';
		echo '<input type="hidden" name="action" value="' . esc_attr( self::ACTION_RELEASE ) . '" />';
		wp_nonce_field( self::ACTION_RELEASE );
		submit_button( __( 'Send the held mail now', 'rust-mail' ), 'secondary', 'submit', false, array( 'id' => 'rust-mail-release-held' ) );
		echo '</p></form>';
	}
}
