<?php
/**
 * Site Health > Status: the engine, the outbox and the mailbox's sign-in; and Site Health > Info: a "Rust Mail"
 * section to copy into a support request, which holds no secret (only whether each is set).
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Admin_Site_Health {

	/** Site Health > Status: which engine, and what the extension would add. */
	public static function engine() {
		$extension = RustMail_Transport_Extension::is_available();
		$items     = '';
		if ( ! $extension ) {
			$items = '<p>' . esc_html__( 'The extension would add:', 'rust-mail' ) . '</p><ul><li>' . implode( '</li><li>', array_map( 'esc_html', RustMail_Transport_Extension::benefits() ) ) . '</li></ul>'
				. '<p>' . implode( '</p><p>', array_map( 'esc_html', RustMail_Transport_Extension::install_steps() ) ) . '</p>';
		}
		return array(
			'label'       => $extension ? __( 'Mail goes out through the rust_mail extension', 'rust-mail' ) : __( 'Mail goes out through PHPMailer: the rust_mail extension is not loaded', 'rust-mail' ),
			'status'      => $extension ? 'good' : 'recommended',
			'badge'       => array( 'label' => __( 'Mail', 'rust-mail' ), 'color' => 'blue' ),
			'description' => '<p>' . esc_html( RustMail_Transport_Registry::reason() ) . '</p>' . $items,
			'actions'     => '<a href="' . esc_url( RustMail_Admin_Pages::settings_url() ) . '#rust-mail-engine">' . esc_html__( 'Rust Mail settings', 'rust-mail' ) . '</a>',
			'test'        => 'rust_mail_engine',
		);
	}

	/**
	 * Site Health > Status: one test for the outbox. Its failures are the open incidents: critical while mail does not
	 * go out, recommended while only the fallback delivers it, good again once mail flows through the connection (not
	 * a 24-hour window); dismissing a banner changes nothing here.
	 */
	public static function outbox() {
		$incidents = RustMail_Alerts_Incident::sentences();
		$critical  = RustMail_Outbox_Health::problems();
		$warnings  = array();
		foreach ( $incidents as $incident ) {
			if ( 'error' === $incident['type'] ) {
				$critical[] = $incident['text'];
			} else {
				$warnings[] = $incident['text'];
			}
		}
		$problems = array_merge( $critical, $warnings );
		$status   = $critical ? 'critical' : ( $warnings ? 'recommended' : 'good' );
		return array(
			'label'       => $problems ? __( 'Mail is not going out as it should', 'rust-mail' ) : __( 'Mail goes out', 'rust-mail' ),
			'status'      => $status,
			'badge'       => array( 'label' => __( 'Mail', 'rust-mail' ), 'color' => 'critical' === $status ? 'red' : ( $warnings ? 'orange' : 'blue' ) ),
			'description' => $problems ? '<p>' . implode( '</p><p>', array_map( 'esc_html', $problems ) ) . '</p>' : '<p>' . esc_html__( 'The Rust Mail outbox has nothing stuck, and no connection is failing.', 'rust-mail' ) . '</p>',
			'actions'     => '<a href="' . esc_url( RustMail_Log_Store::url() ) . '">' . esc_html__( 'Connection log', 'rust-mail' ) . '</a>',
			'test'        => 'rust_mail_outbox',
		);
	}

	/** Site Health > Status: whether the mailbox's sign-in still works. */
	public static function oauth() {
		$grant   = RustMail_OAuth_Grant::get();
		$revoked = RustMail_Admin_OAuth_Signin::revoked_message();
		return array(
			'label'       => '' !== $revoked ? __( 'The mailbox\'s OAuth2 sign-in no longer works: sign in again', 'rust-mail' ) : __( 'The mailbox\'s OAuth2 sign-in works', 'rust-mail' ),
			'status'      => '' !== $revoked ? 'critical' : 'good',
			'badge'       => array( 'label' => __( 'Mail', 'rust-mail' ), 'color' => '' !== $revoked ? 'red' : 'blue' ),
			'description' => '<p>' . esc_html( '' !== $revoked ? $revoked : RustMail_Admin_OAuth_Signin::connection_text( (array) $grant ) ) . '</p>',
			'actions'     => '<a href="' . esc_url( RustMail_Admin_Pages::settings_url() . '#rust-mail-oauth-section' ) . '">' . esc_html__( 'Rust Mail settings', 'rust-mail' ) . '</a>',
			'test'        => 'rust_mail_oauth',
		);
	}

	public static function register() {
		add_filter( 'site_status_tests', array( __CLASS__, 'add_tests' ) );
		add_filter( 'debug_information', array( __CLASS__, 'add_info' ) );
	}

	/**
	 * Site Health > Info: the engine, each connection (what it sends through, how it logs in, whether its secret is
	 * set, its rate limits), the delivery mode, the queue, and the last success and failure with its cause.
	 */
	public static function add_info( $info ) {
		global $wpdb;
		$table   = RustMail_Log_Store::table();
		$last    = static fn ( $status ) => $wpdb->get_row( $wpdb->prepare( "SELECT created_at, error_cause, error_kind FROM $table WHERE status = %s ORDER BY id DESC LIMIT 1", $status ), ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$sent    = $last( RustMail_Log_Store::STATUS_SENT );
		$failed  = $last( RustMail_Log_Store::STATUS_FAILED );
		$health  = RustMail_Outbox_Health::health();
		$none    = __( 'none', 'rust-mail' );
		$fields  = array(
			'version' => array(
				'label' => __( 'Plugin version', 'rust-mail' ),
				'value' => RUST_MAIL_PLUGIN_VERSION,
			),
			'engine'  => array(
				'label' => __( 'Engine', 'rust-mail' ),
				'value' => RustMail_Transport_Extension::is_available() ? 'rust_mail ' . phpversion( 'rust_mail' ) : __( 'PHPMailer (the rust_mail extension is not loaded)', 'rust-mail' ),
			),
		);
		foreach ( array_keys( RustMail_Settings_Connections::all() ) as $name ) {
			$fields[ 'connection_' . $name ] = array(
				/* translators: %s: connection name */
				'label' => sprintf( __( 'Connection: %s', 'rust-mail' ), RustMail_Settings_Connections::label( $name ) ),
				'value' => self::connection_text( $name ),
			);
		}
		$fields['routes']   = array(
			'label' => __( 'Routing rules', 'rust-mail' ),
			'value' => (string) count( RustMail_Settings_Routes::all() ),
		);
		$fields['delivery'] = array(
			'label' => __( 'Delivery', 'rust-mail' ),
			'value' => RustMail_Outbox_Delivery::is_queued_mode() ? __( 'queued (the outbox sends after the page)', 'rust-mail' ) : __( 'immediate', 'rust-mail' ),
		);
		$fields['hold']     = array(
			'label' => __( 'Hold all mail', 'rust-mail' ),
			'value' => RustMail_Outbox_Hold::is_on() ? __( 'on: mail is kept in the outbox, not sent', 'rust-mail' ) . ' (' . RustMail_Outbox_Hold::decided_by() . ')' : __( 'off', 'rust-mail' ),
		);
		$fields['incidents'] = array(
			'label' => __( 'Open incidents', 'rust-mail' ),
			'value' => implode( ' ', array_column( RustMail_Alerts_Incident::sentences(), 'text' ) ) ?: $none,
		);
		$fields['alerts']   = array(
			'label' => __( 'Alert channels', 'rust-mail' ),
			'value' => implode( ', ', RustMail_Alerts_Channels::enabled() ) ?: $none,
		);
		$fields['queue']    = array(
			'label' => __( 'Waiting in the outbox', 'rust-mail' ),
			/* translators: 1: number of messages, 2: date and time in UTC */
			'value' => null === $health['oldest'] ? '0' : sprintf( __( '%1$d, the oldest since %2$s UTC', 'rust-mail' ), RustMail_Admin_Notices::queued_count(), $health['oldest'] ),
		);
		$fields['last_sent']   = array(
			'label' => __( 'Last mail sent', 'rust-mail' ),
			'value' => $sent ? $sent['created_at'] . ' UTC' : $none,
		);
		$fields['last_failed'] = array(
			'label' => __( 'Last mail failed', 'rust-mail' ),
			/* translators: 1: date and time in UTC, 2: cause code */
			'value' => $failed ? sprintf( __( '%1$s UTC, cause %2$s', 'rust-mail' ), $failed['created_at'], '' === $failed['error_cause'] ? $failed['error_kind'] : $failed['error_cause'] ) : $none,
		);
		$fields['failed_24h']  = array(
			'label' => __( 'Failed in the last 24 hours', 'rust-mail' ),
			'value' => (string) $health['failed_today'],
		);
		$info['rust-mail'] = array(
			'label'  => __( 'Rust Mail', 'rust-mail' ),
			'fields' => $fields,
		);
		return $info;
	}

	/** A connection for the Info tab: where it sends, its security and login, whether its secret is set; no secret. */
	private static function connection_text( $name ) {
		$prefix = RustMail_Settings_Connections::prefix( $name );
		$get    = static fn ( $key ) => RustMail_Settings_Store::get( $prefix . $key );
		$parts  = array( RustMail_Settings_Connections::destination( $name ) );
		if ( '' === (string) $get( 'api' ) ) {
			$parts[] = (string) $get( 'security' );
			$parts[] = 'auth ' . $get( 'auth' );
		}
		// The primary may log in with the OAuth2 app's secret or a mailbox's sign-in instead of a password.
		$oauth   = '' === $prefix && ( '' !== (string) $get( 'oauth_client_secret' ) || RustMail_OAuth_Grant::exists() );
		$parts[] = '' !== (string) $get( 'password' ) || $oauth ? __( 'secret set', 'rust-mail' ) : __( 'no secret set', 'rust-mail' );
		$parts[] = $get( 'verify_peer' ) ? __( 'certificate checked', 'rust-mail' ) : __( 'certificate NOT checked', 'rust-mail' );
		return implode( ', ', $parts );
	}

	/** The outbox and the engine always; the sign-in while there is one. */
	public static function add_tests( $tests ) {
		$tests['direct']['rust_mail_outbox'] = array(
			'label' => __( 'Rust Mail outbox', 'rust-mail' ),
			'test'  => array( __CLASS__, 'outbox' ),
		);
		$tests['direct']['rust_mail_engine'] = array(
			'label' => __( 'Rust Mail engine', 'rust-mail' ),
			'test'  => array( __CLASS__, 'engine' ),
		);
		if ( RustMail_OAuth_Grant::exists() ) {
			$tests['direct']['rust_mail_oauth'] = array(
				'label' => __( 'Rust Mail OAuth2 sign-in', 'rust-mail' ),
				'test'  => array( __CLASS__, 'oauth' ),
			);
		}
		return $tests;
	}
}
