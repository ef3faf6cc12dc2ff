<?php
/**
 * What an attempt means for a message: sent, partly sent, retried later (with backoff) or failed; written to its row
 * and announced with core's actions.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Outbox_Outcome {

	/** Longest wait between two attempts, whatever the backoff says. */
	const MAX_RETRY_DELAY = 6 * HOUR_IN_SECONDS;

	/** What the log shows of one attempt. */
	public static function attempt_record( $connection, array $result ) {
		$error = RustMail_Transport_Result::error( $result );
		return array(
			'at'            => gmdate( 'Y-m-d H:i:s' ),
			'connection'    => $connection,
			'engine'        => RustMail_Transport_Registry::current(),
			'ok'            => ! empty( $result['ok'] ),
			'transient'     => $error['transient'],
			'code'          => isset( $result['code'] ) ? (int) $result['code'] : null,
			'enhanced_code' => (string) ( $result['enhanced_code'] ?? '' ),
			'reply'         => (string) ( $result['reply'] ?? '' ),
			'error_kind'    => $error['kind'],
			'error_cause'   => $error['cause'],
			'error_message' => $error['message'],
			'duration_ms'   => (int) round( $result['timings']['total'] ?? 0 ),
			'rejected'      => (array) ( $result['rejected'] ?? array() ),
			'transcript'    => $result['transcript'] ?? array(),
		);
	}

	/**
	 * Writes a claimed message's outcome: sent (or partly), retried later, or failed. Recipients refused with a
	 * 4xx are retried on their own; those refused with a 5xx, or by an attempt that failed for good, are not.
	 *
	 * @return string the outcome: sent, partial, retry or failed.
	 */
	public static function finish( array $row, array $envelope, array $attempts, array $result, $may_wait ) {
		$log     = array_merge( is_array( $row['attempt_log'] ) ? $row['attempt_log'] : ( json_decode( (string) $row['attempt_log'], true ) ?: array() ), $attempts );
		$last    = end( $attempts );
		$error   = RustMail_Transport_Result::error( $result );
		$retry   = array();
		$refused = '';
		foreach ( (array) ( $result['rejected'] ?? array() ) as $address => $reply ) {
			if ( RustMail_Transport_Result::refusal_is_transient( $reply, $last ) ) {
				$retry[] = $address;
			}
		}
		// Recipients refused for good, by this attempt or an earlier one that sent to the others.
		foreach ( $log as $earlier ) {
			foreach ( (array) ( $earlier['rejected'] ?? array() ) as $address => $reply ) {
				if ( ! RustMail_Transport_Result::refusal_is_transient( $reply, $earlier ) ) {
					$refused .= $address . ': ' . $reply . "\n";
				}
			}
		}
		$fields = array(
			'attempts'      => (int) $row['attempts'] + count( $attempts ),
			'attempt_log'   => wp_json_encode( $log ),
			'smtp_code'     => $last['code'],
			'enhanced_code' => $last['enhanced_code'],
			'reply'         => $last['reply'],
			'duration_ms'   => $last['duration_ms'],
			'transcript'    => wp_json_encode( $last['transcript'] ),
			'lease_owner'   => '',
			'lease_until'   => null,
			'in_flight_at'  => null,
		);
		if ( ! empty( $result['message_id'] ) ) {
			$fields['message_id'] = (string) $result['message_id'];
		}
		if ( ! empty( $result['ok'] ) ) {
			$fields['connection']      = $last['connection'];
			$fields['sent_at']         = gmdate( 'Y-m-d H:i:s' );
			$fields['recipient_count'] = count( $envelope['to'] ) - count( $retry );
			$fields['error_kind']      = '';
			$fields['error_cause']     = '';
			$fields['error_message']   = trim( $refused );
			$status                    = '' === trim( $refused ) ? RustMail_Log_Store::STATUS_SENT : RustMail_Log_Store::STATUS_PARTIAL;
			$transient                 = (bool) $retry;
		} else {
			$fields['error_kind']    = $error['kind'];
			$fields['error_cause']   = $error['cause'];
			$fields['error_message'] = trim( $error['message'] . "\n" . $refused );
			$status                  = RustMail_Log_Store::STATUS_FAILED;
			$transient               = $error['transient'];
			$retry                   = $envelope['to'];
		}

		// An API that said when to come back (Retry-After) is not asked again sooner, whatever the backoff says: counted
		// from now to the second above, as the row keeps whole seconds.
		$next = $may_wait && $transient ? time() + self::retry_delay( $fields['attempts'], $row ) : null;
		if ( null !== $next && null !== $error['retry_after'] ) {
			$next = max( $next, (int) ceil( microtime( true ) + $error['retry_after'] ) );
		}
		if ( null !== $next && $next <= strtotime( $row['expires_at'] . ' UTC' ) ) {
			$fields['status']          = RustMail_Log_Store::STATUS_QUEUED;
			$fields['next_attempt_at'] = gmdate( 'Y-m-d H:i:s', $next );
			$fields['envelope']        = wp_json_encode( array( 'from' => $envelope['from'], 'to' => array_values( $retry ) ) );
			return RustMail_Outbox_Store::update_claimed( $row, $fields, false ) ? 'retry' : 'lost';
		}
		if ( null !== $next ) {
			/* translators: %d: number of attempts */
			$fields['error_message'] = trim( sprintf( __( 'Gave up after %d attempts: the retry period is over.', 'rust-mail' ), $fields['attempts'] ) . "\n" . $fields['error_message'] );
			if ( RustMail_Log_Store::STATUS_FAILED !== $status ) {
				$status = RustMail_Log_Store::STATUS_PARTIAL;
			}
		}
		$fields['status']          = $status;
		$fields['next_attempt_at'] = null;
		if ( ! RustMail_Outbox_Store::keeps_bytes( $status, $row ) ) {
			$fields['raw'] = null;
		}
		// Core's arguments (the body among them) were only kept to announce the outcome.
		$fields['mail_data'] = null;
		if ( ! RustMail_Outbox_Store::update_claimed( $row, $fields, ! empty( $result['ok'] ) ) ) {
			return 'lost';
		}
		if ( $may_wait ) {
			self::announce( $row, $status, $fields['error_message'] );
		}
		return $status;
	}

	/** The delay before the next attempt: exponential from a minute, capped, with jitter; `rust_mail_retry_delay` changes it. */
	public static function retry_delay( $attempts, array $row ) {
		$base  = min( self::MAX_RETRY_DELAY, MINUTE_IN_SECONDS * ( 2 ** max( 0, $attempts - 1 ) ) );
		$delay = (int) round( $base * ( 0.8 + 0.4 * wp_rand( 0, 1000 ) / 1000 ) );
		return max( 0, (int) apply_filters( 'rust_mail_retry_delay', $delay, $attempts, $row ) );
	}

	/**
	 * The final outcome of a message sent after its wp_mail() call returned: core's actions, with core's data, so that
	 * listeners (other log plugins, shops) learn what really happened.
	 */
	private static function announce( array $row, $status, $error_message ) {
		$mail_data = json_decode( RustMail_Log_Store::unseal( $row, 'outbox_mail_data' ), true );
		$mail_data = RustMail_Outbox_Core_Data::for_announcing( is_array( $mail_data ) ? $mail_data : array(), $row );
		if ( RustMail_Log_Store::STATUS_SENT === $status ) {
			do_action( 'wp_mail_succeeded', $mail_data );
			return;
		}
		// PHPMailer's STOP_CONTINUE (some recipients refused) and STOP_CRITICAL, as core passes them; PHPMailer itself is
		// not loaded in a cron run.
		$mail_data['phpmailer_exception_code'] = RustMail_Log_Store::STATUS_PARTIAL === $status ? 1 : 2;
		do_action( 'wp_mail_failed', new WP_Error( 'wp_mail_failed', RustMail_Transport_Result::smtp_error_text( $error_message ), $mail_data ) );
	}
}
