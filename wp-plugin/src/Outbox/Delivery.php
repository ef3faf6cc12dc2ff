<?php
/**
 * One attempt at a claimed message: the connection it was routed to (the primary unless a routing rule chose another),
 * then the fallback when that one failed transiently or is over its rate limit; a refused OAuth2 token is dropped and
 * fetched again once.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Outbox_Delivery {

	/**
	 * @var array|null while a drain runs, each connection's transport, read once: thousands of messages must not
	 *                 read the settings (and decrypt the password) thousands of times.
	 */
	private static $drain_transports = null;

	/** The delivery setting, which the filter `rust_mail_delivery` may change for a call (the admin's test mail waits). */
	public static function is_queued_mode() {
		return 'queued' === apply_filters( 'rust_mail_delivery', RustMail_Settings_Store::get( 'delivery' ) );
	}

	/**
	 * Sends a claimed message through the connection its routing rules chose (the primary when none did), then through
	 * the fallback if that one failed transiently or is over its rate limit, and writes the outcome.
	 *
	 * @param array $row      the message's log row, as stored.
	 * @param bool  $may_wait true when a transient failure is retried later and the outcome announced by the outbox
	 *                        (queued mode, or a takeover); false for delivery "immediate", whose caller is waiting
	 *                        and whose outcome core's wp_mail() announces.
	 * @param array|null $routed_result the routed connection's result when it was already tried (send_in_parallel()).
	 * @return array{outcome: string, result: array} the outcome and rust_mail_send()'s result (of the last attempt).
	 */
	public static function attempt( array $row, $may_wait, $routed_result = null ) {
		$envelope    = RustMail_Outbox_Store::envelope( $row );
		$raw         = RustMail_Log_Store::unseal( $row, 'outbox_raw' );
		$attempts    = array();
		$wait        = null;
		$result      = null;
		$routed      = self::route( $row );
		foreach ( self::connections( $routed ) as $name => $prefix ) {
			if ( $routed === $name && null !== $routed_result ) {
				$result = $routed_result;
			} else {
				$over_limit = RustMail_Outbox_Rate_Limit::wait_seconds( $name, $prefix, count( $envelope['to'] ) );
				if ( $over_limit > 0 ) {
					$wait = null === $wait ? $over_limit : min( $wait, $over_limit );
					continue;
				}
				$result = self::send_through( $raw, $envelope, $prefix );
			}
			$attempts[] = RustMail_Outbox_Outcome::attempt_record( $name, $result );
			if ( ! empty( $result['ok'] ) || ! RustMail_Transport_Result::is_transient( $result ) ) {
				break;
			}
		}
		if ( null === $result ) {
			// Every connection is over its limit: the message waits, which costs no attempt.
			RustMail_Outbox_Store::wait( $row, $wait );
			return array( 'outcome' => 'waiting', 'result' => array( 'ok' => true, 'queued' => true ) );
		}
		$outcome = RustMail_Outbox_Outcome::finish( $row, $envelope, $attempts, $result, $may_wait );
		RustMail_Alerts_Incident::observe( $row, $routed, $attempts, $outcome );
		return array( 'outcome' => $outcome, 'result' => $result );
	}

	/**
	 * The connection a stored message goes through: the one its routing rules chose when it was stored, or the primary
	 * (rows from before routing, and a connection deleted or a fallback switched off since).
	 */
	public static function route( array $row ) {
		$route = (string) ( $row['route'] ?? '' );
		return '' !== $route && isset( RustMail_Settings_Connections::all()[ $route ] ) ? $route : RustMail_Settings_Connections::PRIMARY;
	}

	/** @return array<string, string> connection name => settings prefix: the routed connection, then the fallback */
	private static function connections( $routed ) {
		$all         = RustMail_Settings_Connections::all();
		$connections = array( $routed => $all[ $routed ] );
		if ( isset( $all[ RustMail_Settings_Connections::FALLBACK ] ) ) {
			$connections[ RustMail_Settings_Connections::FALLBACK ] = $all[ RustMail_Settings_Connections::FALLBACK ];
		}
		return $connections;
	}

	/**
	 * The engine's send through one connection; the failures of the plugin's own making (no OAuth2 token, settings
	 * that may not be used, input the extension refuses) come back as failed results too.
	 */
	public static function send_through( $raw, array $envelope, $prefix ) {
		$result = self::send_once( $raw, $envelope, $prefix );
		// A token revoked or expired before its time costs a login, not the message: tried once more with a fresh one.
		if ( self::drop_refused_token( $result, $prefix ) ) {
			$result = self::send_once( $raw, $envelope, $prefix );
			self::drop_refused_token( $result, $prefix );
		}
		return $result;
	}

	/** A refused OAuth2 access token is dropped, so that the next try fetches a new one. True when it was. */
	public static function drop_refused_token( array $result, $prefix ) {
		if ( '' !== $prefix || ! RustMail_OAuth_Token::forget_if_refused( RustMail_Transport_Result::error( $result )['cause'] ) ) {
			return false;
		}
		unset( self::$drain_transports[ $prefix ] );
		return true;
	}

	/** One try through one connection with its transport as it is now. */
	private static function send_once( $raw, array $envelope, $prefix ) {
		try {
			return RustMail_Transport_Registry::send_raw( $raw, $envelope, self::transport( $prefix ) );
		} catch ( Throwable $e ) {
			return RustMail_Transport_Result::of_exception( $e );
		}
	}

	/** From now until forget_transports(), each connection's transport is read once: a drain sends many messages. */
	public static function keep_transports() {
		self::$drain_transports = array();
	}

	public static function forget_transports() {
		self::$drain_transports = null;
	}

	/**
	 * A connection's transport: during a drain, once for the drain, OAuth2 token included; else as
	 * RustMail_Transport_Connection::transport() gives it (its settings built once a request, the token looked up for
	 * each send).
	 */
	public static function transport( $prefix ) {
		if ( null === self::$drain_transports ) {
			return RustMail_Transport_Connection::transport( true, $prefix );
		}
		if ( ! isset( self::$drain_transports[ $prefix ] ) ) {
			self::$drain_transports[ $prefix ] = RustMail_Transport_Connection::transport( true, $prefix );
		}
		return self::$drain_transports[ $prefix ];
	}
}
