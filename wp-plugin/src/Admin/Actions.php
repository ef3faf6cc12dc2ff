<?php
/**
 * The admin's actions (admin-post.php). Each checks the capability, then its nonce, then sanitizes its input, and
 * hands plain values to a service (settings, outbox, OAuth) that a command line could call the same way.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Admin_Actions {

	/** admin-post.php actions, each with a nonce of the same name. */
	const ACTION_SAVE     = 'rust_mail_save_settings';
	const ACTION_TEST     = 'rust_mail_send_test';
	const ACTION_DIAGNOSE = 'rust_mail_diagnose';

	/** admin-post.php actions on the named connections and the routing rules (RustMail_Settings_Connections, _Routes). */
	const ACTION_SAVE_CONNECTION   = 'rust_mail_save_connection';
	const ACTION_DELETE_CONNECTION = 'rust_mail_delete_connection';
	const ACTION_SAVE_ROUTES       = 'rust_mail_save_routes';

	/** admin-post.php action: the Plugins screen's "Send them now", for the mail queued before deactivating. */
	const ACTION_SEND_QUEUED = 'rust_mail_send_queued';

	/** admin-post.php action on one message of the outbox; its nonce names the operation and the message. */
	const ACTION_OUTBOX = 'rust_mail_outbox';

	/** admin-post.php actions: the log's filtered list as CSV, and one message as .eml (its nonce names the message). */
	const ACTION_EXPORT_CSV = 'rust_mail_export_csv';
	const ACTION_EXPORT_EML = 'rust_mail_export_eml';

	/** What the outbox action may do to a message. */
	const OUTBOX_OPERATIONS = array( 'send_now', 'cancel', 'resend', 'resend_to' );


	public static function register() {
		add_action( 'admin_post_' . self::ACTION_SAVE, array( __CLASS__, 'handle_save' ) );
		add_action( 'admin_post_' . self::ACTION_TEST, array( __CLASS__, 'handle_test_mail' ) );
		add_action( 'admin_post_' . self::ACTION_DIAGNOSE, array( __CLASS__, 'handle_diagnose' ) );
		add_action( 'admin_post_' . self::ACTION_OUTBOX, array( __CLASS__, 'handle_outbox' ) );
		add_action( 'admin_post_' . self::ACTION_SEND_QUEUED, array( __CLASS__, 'handle_send_queued' ) );
		add_action( 'admin_post_' . self::ACTION_SAVE_CONNECTION, array( __CLASS__, 'handle_save_connection' ) );
		add_action( 'admin_post_' . self::ACTION_DELETE_CONNECTION, array( __CLASS__, 'handle_delete_connection' ) );
		add_action( 'admin_post_' . self::ACTION_SAVE_ROUTES, array( __CLASS__, 'handle_save_routes' ) );
		add_action( 'admin_post_' . self::ACTION_EXPORT_CSV, array( __CLASS__, 'handle_export_csv' ) );
		add_action( 'admin_post_' . self::ACTION_EXPORT_EML, array( __CLASS__, 'handle_export_eml' ) );
	}

	/** Capability first, then the nonce; dies with 403 otherwise. */
	private static function guard_action( $action ) {
		RustMail_Admin_Pages::require_capability();
		check_admin_referer( $action );
	}

	public static function handle_save() {
		self::guard_action( self::ACTION_SAVE );
		$input = isset( $_POST['rust_mail'] ) && is_array( $_POST['rust_mail'] ) ? wp_unslash( $_POST['rust_mail'] ) : array(); // phpcs:ignore WordPress.Security.ValidatedSanitizedInput -- checked and sanitized per key in RustMail_Settings_Store::save().
		$saved = RustMail_Settings_Store::save( $input );
		// A new secret or app must not keep using the old app's token until it expires.
		RustMail_OAuth_Token::forget();
		$messages = array();
		if ( $saved['problems'] ) {
			$messages[] = __( 'These values were not saved; the fields keep their saved values:', 'rust-mail' ) . ' ' . self::field_problems_text( $saved['problems'] ) . ' ' . __( 'The other settings were saved.', 'rust-mail' );
			// Also shown next to each field on the page.
			RustMail_Admin_Notices::keep_for_user( RustMail_Admin_Notices::FIELD_PROBLEMS_META, $saved['problems'], 5 * MINUTE_IN_SECONDS );
		} else {
			$messages[] = __( 'Settings saved.', 'rust-mail' );
		}
		if ( $saved['refused_secrets'] ) {
			$messages[] = __( 'The password or client secret you entered was not saved.', 'rust-mail' ) . ' ' . RustMail_Settings_Secrets::key_problem();
		}
		foreach ( $saved['daily_caps'] as $key ) {
			$messages[] = sprintf(
				/* translators: 1: the field's name, such as "Messages a day", 2: the limit */
				__( '%1$s is now %2$d: beyond it, mail waits in the outbox until the next day, without failing. Set it to 0 if the server has no such limit.', 'rust-mail' ),
				RustMail_Admin_Pages::field_label( $key ),
				(int) RustMail_Settings_Store::get( $key )
			);
		}
		$type = $saved['problems'] || $saved['refused_secrets'] ? 'error' : ( $saved['daily_caps'] ? 'warning' : 'success' );
		RustMail_Admin_Notices::flash( $type, implode( ' ', $messages ) );
		self::redirect( RustMail_Admin_Pages::settings_url() );
	}

	/** "Port: "99999" is not a port: ... Host: ...", for a notice that names each field refused. */
	private static function field_problems_text( array $problems ) {
		$parts = array();
		foreach ( $problems as $key => $problem ) {
			$parts[] = RustMail_Admin_Pages::field_label( $key ) . ': ' . $problem;
		}
		return implode( ' ', $parts );
	}

	/**
	 * Runs a test (Send test, Diagnose) with the settings form's values the page sent along (saved or not, without
	 * saving them), or with the saved settings when it sent none (a browser without JavaScript).
	 *
	 * @param callable $run the test.
	 * @return array{refused: string, used: string, result: mixed} why the page's values cannot be tried ('' when the
	 *         test ran), which values the test used, in words, and the test's result.
	 */
	private static function try_page_values( callable $run ) {
		$input = isset( $_POST['rust_mail'] ) && is_array( $_POST['rust_mail'] ) ? wp_unslash( $_POST['rust_mail'] ) : null; // phpcs:ignore WordPress.Security.NonceVerification, WordPress.Security.ValidatedSanitizedInput -- the caller checked the nonce; checked and sanitized per key in RustMail_Settings_Store::from_form().
		if ( null === $input ) {
			return array( 'refused' => '', 'used' => __( 'Tested with the saved settings.', 'rust-mail' ), 'result' => $run() );
		}
		$tried = RustMail_Settings_Store::try_form( $input, $run );
		if ( $tried['problems'] ) {
			return array(
				'refused' => __( 'These values on the page are not valid:', 'rust-mail' ) . ' ' . self::field_problems_text( $tried['problems'] ),
				'used'    => '',
				'result'  => null,
			);
		}
		if ( ! $tried['changed'] ) {
			return array( 'refused' => '', 'used' => __( 'Tested with the saved settings, which are the values on this page.', 'rust-mail' ), 'result' => $tried['result'] );
		}
		return array(
			'refused' => '',
			/* translators: %s: the names of the fields changed on the page */
			'used'    => sprintf( __( 'Tested with the values on this page, not saved yet (%s). Save settings to keep them.', 'rust-mail' ), implode( ', ', array_map( array( 'RustMail_Admin_Pages', 'field_label' ), $tried['changed'] ) ) ),
			'result'  => $tried['result'],
		);
	}

	/**
	 * A test's answer: for the page's script (it asked with `rust_mail_in_page`, so that the owner's unsaved values stay
	 * on the page) as JSON; else as the next page's notice.
	 *
	 * @param string $html the result's own markup, escaped (Diagnose's steps), shown under the notice.
	 */
	private static function report_test( $type, $message, $log_id = 0, $html = '', $anchor = '' ) {
		if ( ! empty( $_POST['rust_mail_in_page'] ) ) { // phpcs:ignore WordPress.Security.NonceVerification -- the caller checked the nonce.
			wp_send_json(
				array(
					'type'    => $type,
					'message' => $message,
					'log_url' => $log_id ? RustMail_Log_Store::url( array( 'entry' => (int) $log_id ) ) : '',
					'html'    => $html,
				)
			);
		}
		RustMail_Admin_Notices::flash( $type, $message, $log_id );
		self::redirect( RustMail_Admin_Pages::settings_url( '' !== $html ? array( 'diagnosis' => 1 ) : array() ) . $anchor );
	}

	public static function handle_test_mail() {
		self::guard_action( self::ACTION_TEST );
		$to = isset( $_POST['test_to'] ) ? sanitize_email( wp_unslash( $_POST['test_to'] ) ) : '';
		if ( ! is_email( $to ) ) {
			self::report_test( 'error', __( 'Enter a valid address to send the test mail to.', 'rust-mail' ) );
		}
		$html  = ! empty( $_POST['test_html'] );
		$body  = isset( $_POST['test_body'] ) ? wp_unslash( $_POST['test_body'] ) : ''; // phpcs:ignore WordPress.Security.ValidatedSanitizedInput -- sanitized next, as HTML or as text.
		$tried = self::try_page_values(
			fn () => RustMail_Mail_Test_Mail::send(
				$to,
				isset( $_POST['test_subject'] ) ? sanitize_text_field( wp_unslash( $_POST['test_subject'] ) ) : '',
				$html ? wp_kses_post( (string) $body ) : sanitize_textarea_field( (string) $body ),
				$html
			)
		);
		/* translators: %s: recipient address */
		$not_sent = sprintf( __( 'The test mail to %s was not sent.', 'rust-mail' ), $to );
		if ( '' !== $tried['refused'] ) {
			self::report_test( 'error', $not_sent . ' ' . $tried['refused'] );
		}
		$test = $tried['result'];
		if ( $test['sent'] ) {
			/* translators: %s: recipient address */
			self::report_test( 'success', sprintf( __( 'Test mail sent to %s.', 'rust-mail' ), $to ) . ' ' . $tried['used'], $test['log_id'] );
		}
		// What went wrong, in the classifier's words: with or without the extension, and without Diagnose.
		$explanation = $test['explanation'];
		$message     = $explanation ? $not_sent . ' ' . $explanation['cause'] . ' ' . implode( ' ', $explanation['advice'] ) : $not_sent;
		self::report_test( 'error', $message . ' ' . $tried['used'], $test['log_id'] );
	}

	public static function handle_diagnose() {
		self::guard_action( self::ACTION_DIAGNOSE );
		if ( ! RustMail_Transport_Extension::diagnose_available() ) {
			RustMail_Admin_Notices::flash( 'error', __( 'Diagnose needs the rust_mail extension, which is not loaded in this PHP. The settings page says how to install it; until then, Send test mail reports what went wrong.', 'rust-mail' ) );
			self::redirect( RustMail_Admin_Pages::settings_url() . '#rust-mail-engine' );
		}
		$connection = isset( $_POST['connection'] ) ? sanitize_key( wp_unslash( $_POST['connection'] ) ) : RustMail_Settings_Connections::PRIMARY;
		$tried      = self::try_page_values(
			static function () use ( $connection ) {
				if ( ! isset( RustMail_Settings_Connections::all()[ $connection ] ) ) {
					return null;
				}
				$from      = (string) RustMail_Settings_Store::get( 'from' );
				$diagnosis = RustMail_Transport_Diagnosis::run( is_email( $from ) ? $from : get_option( 'admin_email' ), wp_get_current_user()->user_email, $connection );
				// Where it walked, now, while the settings tried are those the walk used.
				$diagnosis['destination'] = RustMail_Settings_Connections::destination( $connection );
				ob_start();
				RustMail_Admin_Pages::render_diagnosis( $diagnosis );
				return array( 'diagnosis' => $diagnosis, 'html' => ob_get_clean() );
			}
		);
		if ( '' !== $tried['refused'] ) {
			self::report_test( 'error', __( 'Diagnose did not run.', 'rust-mail' ) . ' ' . $tried['refused'], 0, '', '#rust-mail-diagnosis' );
		}
		if ( null === $tried['result'] ) {
			/* translators: %s: connection name */
			self::report_test( 'error', sprintf( __( 'There is no connection named "%s" to diagnose.', 'rust-mail' ), $connection ), 0, '', '#rust-mail-diagnosis' );
		}
		// Kept for the page the browser is redirected to; per user, and briefly.
		RustMail_Admin_Notices::keep_for_user( RustMail_Admin_Notices::DIAGNOSIS_META, $tried['result']['diagnosis'], 15 * MINUTE_IN_SECONDS );
		self::report_test( empty( $tried['result']['diagnosis']['ok'] ) ? 'warning' : 'success', $tried['used'], 0, $tried['result']['html'], '#rust-mail-diagnosis' );
	}

	/**
	 * Adds a connection (`connection_name`) or changes a saved one (`connection_original`). Its fields are named as the
	 * page names the connection's settings, rust_mail[connection:<name>:<key>] (empty name for a new one).
	 */
	public static function handle_save_connection() {
		self::guard_action( self::ACTION_SAVE_CONNECTION );
		$original = isset( $_POST['connection_original'] ) ? sanitize_text_field( wp_unslash( $_POST['connection_original'] ) ) : '';
		// Not sanitized into another name: a name that is not allowed is refused as entered (RustMail_Settings_Connections::name_problem()).
		$name   = isset( $_POST['connection_name'] ) ? trim( (string) wp_unslash( $_POST['connection_name'] ) ) : ''; // phpcs:ignore WordPress.Security.ValidatedSanitizedInput
		$fields = isset( $_POST['rust_mail'] ) && is_array( $_POST['rust_mail'] ) ? wp_unslash( $_POST['rust_mail'] ) : array(); // phpcs:ignore WordPress.Security.ValidatedSanitizedInput -- sanitized per key in RustMail_Settings_Connections::save().
		$prefix = RustMail_Settings_Connections::KEY_PREFIX . $original . ':';
		$input  = array();
		foreach ( $fields as $key => $value ) {
			if ( 0 === strpos( (string) $key, $prefix ) ) {
				$input[ substr( $key, strlen( $prefix ) ) ] = $value;
			} elseif ( 0 === strpos( (string) $key, 'forget_' . $prefix ) ) {
				$input[ 'forget_' . substr( $key, strlen( 'forget_' . $prefix ) ) ] = $value;
			}
		}
		$refused = RustMail_Settings_Connections::save( $name, $original, $input );
		if ( '' !== $refused ) {
			RustMail_Admin_Notices::flash( 'error', $refused );
		} else {
			/* translators: %s: connection name */
			RustMail_Admin_Notices::flash( 'success', sprintf( __( 'Connection "%s" saved.', 'rust-mail' ), '' === $original ? $name : $original ) );
		}
		self::redirect( RustMail_Admin_Pages::settings_url() . '#rust-mail-connections' );
	}

	/** The nonce action of deleting one connection. */
	public static function delete_connection_nonce_action( $name ) {
		return self::ACTION_DELETE_CONNECTION . '_' . $name;
	}

	public static function handle_delete_connection() {
		RustMail_Admin_Pages::require_capability();
		$name = isset( $_POST['connection_name'] ) ? sanitize_text_field( wp_unslash( $_POST['connection_name'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification -- names the nonce checked next.
		check_admin_referer( self::delete_connection_nonce_action( $name ) );
		$refused = RustMail_Settings_Connections::delete( $name );
		/* translators: %s: connection name */
		RustMail_Admin_Notices::flash( '' === $refused ? 'success' : 'error', '' === $refused ? sprintf( __( 'Connection "%s" deleted.', 'rust-mail' ), $name ) : $refused );
		self::redirect( RustMail_Admin_Pages::settings_url() . '#rust-mail-connections' );
	}

	/** Saves the routing rules, in the page's order; a row left empty or marked for deletion is dropped. */
	public static function handle_save_routes() {
		self::guard_action( self::ACTION_SAVE_ROUTES );
		$rows  = isset( $_POST['routes'] ) && is_array( $_POST['routes'] ) ? wp_unslash( $_POST['routes'] ) : array(); // phpcs:ignore WordPress.Security.ValidatedSanitizedInput -- checked rule by rule in RustMail_Settings_Routes::validate().
		$rules = array();
		foreach ( $rows as $row ) {
			if ( ! is_array( $row ) || ! empty( $row['delete'] ) || ( '' === trim( (string) ( $row['from'] ?? '' ) ) && '' === trim( (string) ( $row['caller'] ?? '' ) ) ) ) {
				continue;
			}
			$rules[] = array_map( 'strval', array_intersect_key( $row, array_flip( array( 'from', 'caller', 'connection' ) ) ) );
		}
		$refused = RustMail_Settings_Routes::is_fixed_by_constant() ? array( __( 'The routing rules are set by RUST_MAIL_ROUTES in wp-config.php.', 'rust-mail' ) ) : RustMail_Settings_Routes::save( $rules );
		if ( $refused ) {
			RustMail_Admin_Notices::flash( 'error', __( 'The routing rules were not saved.', 'rust-mail' ) . ' ' . implode( ' ', $refused ) );
		} else {
			RustMail_Admin_Notices::flash( 'success', __( 'Routing rules saved.', 'rust-mail' ) );
		}
		self::redirect( RustMail_Admin_Pages::settings_url() . '#rust-mail-routes' );
	}

	/** The nonce action of one operation on one message. */
	public static function outbox_nonce_action( $operation, $id ) {
		return self::ACTION_OUTBOX . '_' . $operation . '_' . (int) $id;
	}

	/** Send now, cancel or send again one message of the outbox, then show it. */
	public static function handle_outbox() {
		RustMail_Admin_Pages::require_capability();
		$operation = isset( $_POST['operation'] ) ? sanitize_key( wp_unslash( $_POST['operation'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification -- names the nonce checked next.
		$id        = isset( $_POST['entry'] ) ? absint( $_POST['entry'] ) : 0; // phpcs:ignore WordPress.Security.NonceVerification -- names the nonce checked next.
		check_admin_referer( self::outbox_nonce_action( $operation, $id ) );
		if ( ! in_array( $operation, self::OUTBOX_OPERATIONS, true ) || ! $id ) {
			wp_die( esc_html__( 'Unknown operation.', 'rust-mail' ), 400 );
		}
		$shown = $id;
		if ( 'send_now' === $operation ) {
			RustMail_Outbox_Drain::send_now( $id );
			RustMail_Admin_Notices::flash( 'success', __( 'The message was tried now; its status is below.', 'rust-mail' ) );
		} elseif ( 'cancel' === $operation ) {
			$cancelled = RustMail_Outbox_Store::cancel( $id );
			RustMail_Admin_Notices::flash( $cancelled ? 'success' : 'error', $cancelled ? __( 'The message was cancelled: it will not be sent.', 'rust-mail' ) : __( 'Only a message that waits in the outbox can be cancelled.', 'rust-mail' ) );
		} else {
			$to = 'resend_to' === $operation ? self::other_recipients( isset( $_POST['to'] ) ? (string) wp_unslash( $_POST['to'] ) : '', $id ) : array(); // phpcs:ignore WordPress.Security.ValidatedSanitizedInput.InputNotSanitized -- each address is checked by other_recipients().
			$resent = RustMail_Outbox_Drain::resend( $id, $to );
			RustMail_Admin_Notices::flash( $resent ? 'success' : 'error', $resent ? __( 'The message was sent again as a new entry, shown here.', 'rust-mail' ) : __( 'This message can no longer be sent again: its content is not kept.', 'rust-mail' ) );
			$shown = $resent ? $resent : $id;
		}
		self::redirect( RustMail_Log_Store::url( array( 'entry' => $shown ) ) );
	}

	/** Most addresses "Send again to" takes at once: it is for a recipient who missed a message, not for a mailing. */
	const MAX_OTHER_RECIPIENTS = 20;

	/**
	 * The addresses typed into "Send again to", separated by commas, semicolons or spaces. Any that is not an address
	 * stops the action with a message naming it, back on the entry's page: nothing is sent to half a list.
	 *
	 * @return string[]
	 */
	private static function other_recipients( $typed, $id ) {
		$addresses = array_values( array_filter( preg_split( '/[\s,;]+/', $typed ) ) );
		$problem   = '';
		if ( ! $addresses ) {
			$problem = __( 'Type the address to send the message to.', 'rust-mail' );
		} elseif ( count( $addresses ) > self::MAX_OTHER_RECIPIENTS ) {
			/* translators: %d: the most addresses allowed */
			$problem = sprintf( __( 'Send again to at most %d addresses at once.', 'rust-mail' ), self::MAX_OTHER_RECIPIENTS );
		} else {
			foreach ( $addresses as $address ) {
				if ( ! is_email( $address ) ) {
					/* translators: %s: what was typed */
					$problem = sprintf( __( '"%s" is not an email address.', 'rust-mail' ), $address );
					break;
				}
			}
		}
		if ( '' !== $problem ) {
			RustMail_Admin_Notices::flash( 'error', __( 'The message was not sent again.', 'rust-mail' ) . ' ' . $problem );
			self::redirect( RustMail_Log_Store::url( array( 'entry' => $id ) ) );
		}
		return array_values( array_unique( $addresses ) );
	}

	/** The log's list, with the filters it was shown with, as a CSV download. */
	public static function handle_export_csv() {
		self::guard_action( self::ACTION_EXPORT_CSV );
		RustMail_Admin_Log_Export::send_csv( RustMail_Admin_Log_Table::current_filters() );
		exit;
	}

	/** The nonce action of one message's .eml download. */
	public static function eml_nonce_action( $id ) {
		return self::ACTION_EXPORT_EML . '_' . (int) $id;
	}

	/** One message of the log as an .eml download, when its bytes are kept. */
	public static function handle_export_eml() {
		RustMail_Admin_Pages::require_capability();
		$id = isset( $_GET['entry'] ) ? absint( $_GET['entry'] ) : 0; // phpcs:ignore WordPress.Security.NonceVerification -- names the nonce checked next.
		check_admin_referer( self::eml_nonce_action( $id ) );
		if ( ! RustMail_Admin_Log_Export::send_eml( $id ) ) {
			wp_die( esc_html__( 'This message\'s content is not kept in the log, so it cannot be downloaded.', 'rust-mail' ), 404 );
		}
		exit;
	}

	/** "Send them now" on the Plugins screen: every queued message, due or not, in this request; then back there. */
	public static function handle_send_queued() {
		self::guard_action( self::ACTION_SEND_QUEUED );
		$counts = RustMail_Outbox_Drain::send_all_now();
		$sent   = ( $counts['sent'] ?? 0 ) + ( $counts['partial'] ?? 0 );
		$failed = $counts['failed'] ?? 0;
		$left   = RustMail_Admin_Notices::queued_count();
		/* translators: 1: number of messages sent, 2: number of messages that failed */
		$message = sprintf( __( 'Rust Mail sent %1$d queued messages; %2$d failed.', 'rust-mail' ), $sent, $failed );
		if ( $left ) {
			/* translators: %d: number of messages */
			$message .= ' ' . sprintf( _n( '%d message still waits: the connection log says why.', '%d messages still wait: the connection log says why.', $left, 'rust-mail' ), $left );
		}
		RustMail_Admin_Notices::flash( $left || $failed ? 'warning' : 'success', $message );
		self::redirect( is_multisite() ? network_admin_url( 'plugins.php' ) : admin_url( 'plugins.php' ) );
	}

	private static function redirect( $url ) {
		wp_safe_redirect( $url );
		exit;
	}
}
