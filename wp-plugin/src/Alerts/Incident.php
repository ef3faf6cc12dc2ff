<?php
/**
 * Incidents: a connection stops taking mail, then takes it again. One alert per incident, not per mail.
 *
 * - An incident opens on a connection when a message routed to it fails there (for good, or transiently and
 *   handed to the fallback or retried later).
 * - While every such message still reached its recipients through the fallback, the incident is only a notice (the
 *   banner and Site Health say the connection is down); no alert goes out.
 * - The first message that is not delivered (failed, or waiting for a retry) sends the failure alert, once.
 * - The incident closes when a message goes through that connection again (a *Send again* from the log among them);
 *   a "resolved" alert follows when a failure alert went out.
 * - The owner's own test mails (caller `plugin:rust-mail`) count for nothing.
 *
 * The open incidents are one option, connection name => incident. Alerts go out at the end of the request (a
 * shutdown function), outside the drain's transaction and after its outcomes are written.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Alerts_Incident {

	/** Option: the open incidents (and those closed whose "resolved" alert is still to go). */
	const OPTION = 'rust_mail_incidents';

	/** User meta: the incident ids this user dismissed the banner of. */
	const ACK_META = 'rust_mail_incident_ack';

	/** How many messages an alert names. */
	const MAILS_NAMED = 3;

	/** The caller the plugin's own test mail is logged with (RustMail_Mail_Caller::detect()). */
	const TEST_CALLER = 'plugin:rust-mail';

	/** @var bool whether notify() is already due at this request's end */
	private static $notify_scheduled = false;

	/** @return array<string, array> the incidents, by connection name */
	public static function all() {
		$incidents = RustMail_Settings_Store::get_plugin_option( self::OPTION, array() );
		return is_array( $incidents ) ? $incidents : array();
	}

	/** @return array<string, array> the incidents that are still open */
	public static function open() {
		return array_filter( self::all(), static fn ( $incident ) => empty( $incident['closed_at'] ) );
	}

	/**
	 * What an attempt at a message says about the connection it was routed to (RustMail_Outbox_Delivery::attempt()).
	 *
	 * @param array  $row      the message's log row.
	 * @param string $routed   the connection it was routed to.
	 * @param array  $attempts this attempt's records (RustMail_Outbox_Outcome::attempt_record()), the routed first.
	 * @param string $outcome  sent, partial, retry, failed (or lost).
	 */
	public static function observe( array $row, $routed, array $attempts, $outcome ) {
		if ( self::TEST_CALLER === (string) ( $row['caller'] ?? '' ) || 'lost' === $outcome ) {
			return;
		}
		$through = array_values( array_filter( $attempts, static fn ( $attempt ) => $attempt['connection'] === $routed ) );
		if ( ! $through ) {
			return; // The routed connection was over its rate limit: this says nothing about it.
		}
		$incidents = self::all();
		$incident  = $incidents[ $routed ] ?? null;
		if ( ! empty( $through[0]['ok'] ) ) {
			if ( null === $incident || ! empty( $incident['closed_at'] ) ) {
				return;
			}
			$incident['closed_at'] = gmdate( 'Y-m-d H:i:s' );
		} else {
			if ( null !== $incident ) {
				// Failing again before its "resolved" went out (notify() forgets a closed incident at the end of the
				// request that closed it): the same incident goes on, and nobody hears "resolved" then "failing".
				$incident['closed_at'] = null;
			}
			$incident = self::with_failure( $incident, $row, $routed, $through[0], in_array( $outcome, array( RustMail_Log_Store::STATUS_SENT, RustMail_Log_Store::STATUS_PARTIAL ), true ) );
		}
		$incidents[ $routed ] = $incident;
		RustMail_Settings_Store::update_plugin_option( self::OPTION, $incidents );
		self::notify_at_the_end();
	}

	/**
	 * An incident (a new one when `$incident` is null) with one more failed message. Pure: the caller stores it.
	 *
	 * @param array|null $incident  the open incident of that connection.
	 * @param array      $row       the message's log row.
	 * @param string     $connection the connection that failed.
	 * @param array      $attempt   its failed attempt's record.
	 * @param bool       $delivered whether the message reached its recipients anyway (through the fallback).
	 */
	public static function with_failure( $incident, array $row, $connection, array $attempt, $delivered ) {
		$incident = $incident ?? array(
			'id'          => substr( md5( $connection . microtime() . wp_rand() ), 0, 12 ),
			'connection'  => $connection,
			'since'       => $attempt['at'],
			'cause'       => (string) $attempt['error_cause'],
			'kind'        => (string) $attempt['error_kind'],
			'message'     => (string) $attempt['error_message'],
			'code'        => $attempt['code'],
			'reply'       => (string) $attempt['reply'],
			'failed'      => 0,
			'undelivered' => 0,
			'mails'       => array(),
			'alerted'     => false,
			'closed_at'   => null,
		);
		++$incident['failed'];
		if ( ! $delivered ) {
			++$incident['undelivered'];
		}
		if ( count( $incident['mails'] ) < self::MAILS_NAMED && ! in_array( (int) $row['id'], array_column( $incident['mails'], 'id' ), true ) ) {
			$incident['mails'][] = array(
				'id'      => (int) $row['id'],
				'subject' => (string) $row['subject'],
				'caller'  => (string) $row['caller'],
			);
		}
		return $incident;
	}

	private static function notify_at_the_end() {
		if ( ! self::$notify_scheduled ) {
			self::$notify_scheduled = true;
			register_shutdown_function( array( __CLASS__, 'notify' ) );
		}
	}

	/**
	 * Sends what the incidents call for: the failure alert of an incident with an undelivered message, once; the
	 * "resolved" alert of one that closed after its alert. A closed incident is then forgotten.
	 */
	public static function notify() {
		self::$notify_scheduled = false;
		$incidents = self::all();
		$changed   = false;
		foreach ( $incidents as $connection => $incident ) {
			if ( ! empty( $incident['closed_at'] ) ) {
				if ( $incident['alerted'] ) {
					RustMail_Alerts_Channels::send_all( RustMail_Alerts_Message::resolved( $incident ), $connection );
				}
				unset( $incidents[ $connection ] );
				$changed = true;
			} elseif ( ! $incident['alerted'] && $incident['undelivered'] > 0 ) {
				$incidents[ $connection ]['alerted'] = true;
				$changed                             = true;
				// Marked first: should a channel hang until the process is killed, the next drain does not alert again.
				RustMail_Settings_Store::update_plugin_option( self::OPTION, $incidents );
				RustMail_Alerts_Channels::send_all( RustMail_Alerts_Message::failing( $incident ), $connection );
			}
		}
		if ( $changed ) {
			RustMail_Settings_Store::update_plugin_option( self::OPTION, $incidents );
		}
	}

	/** What went wrong, in the owner's words: the classifier's cause and advice for the first failure. */
	public static function explanation( array $incident ) {
		$explained = RustMail_Log_Explainer::for_entry(
			array(
				'status'        => RustMail_Log_Store::STATUS_FAILED,
				'error_kind'    => $incident['kind'],
				'error_cause'   => $incident['cause'],
				'error_message' => $incident['message'],
				'smtp_code'     => null === $incident['code'] ? '' : (string) $incident['code'],
				'enhanced_code' => '',
				'reply'         => $incident['reply'],
				'from_address'  => '',
			)
		);
		return $explained ?? array( 'cause' => __( 'The mail was not sent.', 'rust-mail' ), 'advice' => array() );
	}

	/** The connection log filtered to the incident: its cause, from the day it began. */
	public static function log_url( array $incident ) {
		$since = get_date_from_gmt( $incident['since'], 'Y-m-d' );
		return RustMail_Log_Store::url( array_filter( array( 'cause' => $incident['cause'], 'since' => $since ) ) );
	}

	/** Whether the current user dismissed this banner (a sentences() id). */
	public static function is_acknowledged( $banner_id ) {
		return in_array( $banner_id, (array) get_user_meta( get_current_user_id(), self::ACK_META, true ), true );
	}

	/** Dismisses a banner (a sentences() id) for the current user; the ids of incidents gone are forgotten. */
	public static function acknowledge( $id ) {
		$open = array_column( self::sentences(), 'id' );
		if ( ! in_array( $id, $open, true ) ) {
			return false;
		}
		$acked = array_intersect( (array) get_user_meta( get_current_user_id(), self::ACK_META, true ), $open );
		update_user_meta( get_current_user_id(), self::ACK_META, array_values( array_unique( array_merge( $acked, array( $id ) ) ) ) );
		return true;
	}

	/**
	 * One sentence per open incident, for the banner and Site Health. Its id is the incident's and its state: a
	 * banner dismissed while the fallback delivered comes back once mail stops altogether.
	 *
	 * @return array<string, array{id: string, type: string, text: string, url: string}>
	 */
	public static function sentences() {
		$sentences = array();
		foreach ( self::open() as $connection => $incident ) {
			$label = RustMail_Settings_Connections::label( $connection );
			$since = get_date_from_gmt( $incident['since'], get_option( 'date_format' ) . ' ' . get_option( 'time_format' ) );
			$cause = self::explanation( $incident )['cause'];
			if ( $incident['undelivered'] > 0 ) {
				/* translators: 1: connection name, 2: date and time, 3: what went wrong, 4: number of messages */
				$text = sprintf( _n( 'Mail is not going out through the %1$s connection since %2$s: %3$s %4$d message was not delivered.', 'Mail is not going out through the %1$s connection since %2$s: %3$s %4$d messages were not delivered.', $incident['undelivered'], 'rust-mail' ), $label, $since, $cause, $incident['undelivered'] );
				$type = 'error';
			} else {
				/* translators: 1: connection name, 2: date and time, 3: what went wrong */
				$text = sprintf( __( 'The %1$s connection is down since %2$s: %3$s The fallback connection delivers the mail meanwhile.', 'rust-mail' ), $label, $since, $cause );
				$type = 'warning';
			}
			$sentences[ $connection ] = array(
				'id'   => $incident['id'] . ( $incident['undelivered'] > 0 ? '-failing' : '-down' ),
				'type' => $type,
				'text' => $text,
				'url'  => self::log_url( $incident ),
			);
		}
		return $sentences;
	}
}
