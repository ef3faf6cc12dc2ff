<?php
/**
 * The outbox's rows: storing a message before any network I/O, claiming due messages under a lease, and every write
 * to a claimed row, fenced by the claim's token (see RustMail_Outbox_Drain for the whole story).
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Outbox_Store {

	/** Seconds a lease outlives the worst case of the send it guards: the time to write an outcome after the last reply. */
	const LEASE_MARGIN = 5;

	/**
	 * A claimed batch's messages are read at once, and sent over parallel connections at once: their bytes add up to
	 * this at most, or a larger message goes alone. A batch of large mails would otherwise hold them all in memory.
	 */
	const BATCH_BYTES = 8388608;

	/**
	 * @var array|null between collect_sent_outcomes() and write_sent_outcomes(): lease owner => row id => fields of
	 *                 the messages a server took, written together.
	 */
	private static $sent_outcomes = null;


	/**
	 * Stores a message with its log row, queued for a drain, before any network I/O.
	 *
	 * @param array $row   log row fields (RustMail_Log_Store::add()) plus `raw` (bytes), `envelope` (from, to) and
	 *                     `mail_data` (core's wp_mail() arguments, for the outcome's actions).
	 * @param int   $delay seconds before its first attempt is due (a message over a rate limit).
	 * @return array the row as stored, with its `id` (0 when it could not be stored).
	 */
	public static function store( array $row, $delay = 0 ) {
		// The body only once: in the bytes, and not again in core's arguments where the bytes hold it as it was given.
		$mail_data = (string) wp_json_encode( RustMail_Outbox_Core_Data::for_storing( (array) $row['mail_data'], (string) $row['raw'] ) );
		$raw       = RustMail_Settings_Secrets::encrypt( (string) $row['raw'], 'outbox_raw', true );
		$sealed    = null !== $raw ? RustMail_Settings_Secrets::encrypt( $mail_data, 'outbox_mail_data' ) : null;
		if ( null === $sealed && ! empty( $row['carries_key'] ) ) {
			// A key (a password reset) is never stored in clear: without a strong key to seal it, it is not stored.
			return array( 'id' => 0 );
		}
		$row = array_merge(
			self::unstored( $row ),
			array(
				'status'          => RustMail_Log_Store::STATUS_QUEUED,
				'raw'             => null !== $sealed ? $raw : $row['raw'],
				'mail_data'       => $sealed ?? $mail_data,
				'sealed'          => null !== $sealed ? 1 : 0,
				'next_attempt_at' => gmdate( 'Y-m-d H:i:s', time() + $delay ),
			)
		);
		unset( $row['id'], $row['attempt_log'], $row['attempts'] );
		$row['id'] = RustMail_Log_Store::add( $row );
		return $row + array( 'attempts' => 0, 'attempt_log' => array() );
	}

	/**
	 * A message of delivery "immediate", as attempt() takes it without a row yet (id 0): its caller waits for the
	 * server's answer, so its log row is written once, with the outcome (update_claimed()), instead of once before the
	 * send and again after it. Its bytes are in clear until then (add_outcome() seals those it keeps).
	 */
	public static function unstored( array $row ) {
		return array_merge(
			$row,
			array(
				'id'              => 0,
				'status'          => RustMail_Log_Store::STATUS_SENDING,
				'sealed'          => 0,
				'recipient_count' => count( $row['envelope']['to'] ),
				'expires_at'      => gmdate( 'Y-m-d H:i:s', time() + max( 1, (int) RustMail_Settings_Store::get( 'retry_hours' ) ) * HOUR_IN_SECONDS ),
				'lease_owner'     => '',
				'attempts'        => 0,
				'attempt_log'     => array(),
			)
		);
	}

	/**
	 * On multisite each site drains its own mail, in its own request: the outcome's actions reach the listeners that
	 * site runs, and never another site's (the CLI drain runs one process per site).
	 */
	private static function this_site_only() {
		global $wpdb;
		return is_multisite() ? $wpdb->prepare( ' AND blog_id = %d', get_current_blog_id() ) : '';
	}

	/**
	 * A lease: the worst case of the send it guards (`$send_seconds`, then the fallback's whole timeout, and the wait
	 * for an OAuth2 token that another worker is fetching), and the time to write the outcome.
	 */
	public static function lease_seconds( $send_seconds ) {
		// A message routed to a named connection waits for that connection's timeout, which may be longer.
		foreach ( array_keys( RustMail_Settings_Connections::named() ) as $name ) {
			$send_seconds = max( $send_seconds, (int) RustMail_Settings_Store::get( RustMail_Settings_Connections::prefix( $name ) . 'timeout' ) );
		}
		$seconds = $send_seconds + self::LEASE_MARGIN;
		if ( RustMail_Settings_Store::has_fallback() ) {
			$seconds += (int) RustMail_Settings_Store::get( RustMail_Settings_Schema::FALLBACK . 'timeout' );
		}
		if ( RustMail_OAuth_Token::is_configured() ) {
			$seconds += RustMail_OAuth_Grant::WAIT_SECONDS + RustMail_OAuth_Token::TIMEOUT;
		}
		return $seconds;
	}

	/**
	 * Claims due messages, and those whose claimer's lease ran out before it handed them to a server. The candidates
	 * are read without locks, then claimed by primary key with the condition checked again on each locked row: of two
	 * processes that picked the same candidate, exactly one changes it. A message this drain has tried already waits
	 * for the next drain, even when its retry is due at once.
	 */
	public static function claim( $owner, $ids, array $tried ) {
		global $wpdb;
		$table = RustMail_Log_Store::table();
		$now   = gmdate( 'Y-m-d H:i:s' );
		$only  = self::this_site_only();
		$due   = $wpdb->prepare( '((status = %s AND next_attempt_at <= %s) OR (status = %s AND lease_until < %s AND in_flight_at IS NULL))', RustMail_Log_Store::STATUS_QUEUED, $now, RustMail_Log_Store::STATUS_SENDING, $now );
		$only .= null === $ids ? '' : ' AND id IN (' . ( $ids ? implode( ',', array_map( 'intval', $ids ) ) : '0' ) . ')';
		$only .= $tried ? ' AND id NOT IN (' . implode( ',', $tried ) . ')' : '';
		$candidates = self::within_batch_bytes( $wpdb->get_results( $wpdb->prepare( "SELECT id, LENGTH(raw) AS bytes FROM $table WHERE $due$only ORDER BY next_attempt_at, id LIMIT %d", RustMail_Outbox_Drain::BATCH ), ARRAY_A ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		if ( ! $candidates ) {
			return array();
		}
		$in = implode( ',', array_map( 'intval', $candidates ) );
		self::write( $wpdb->prepare( "UPDATE $table SET status = %s, lease_owner = %s, lease_until = %s, in_flight_at = NULL WHERE id IN ($in) AND $due", RustMail_Log_Store::STATUS_SENDING, $owner, gmdate( 'Y-m-d H:i:s', time() + self::lease_seconds( (int) RustMail_Settings_Store::get( 'timeout' ) ) ) ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$claimed = $wpdb->get_results( $wpdb->prepare( "SELECT * FROM $table WHERE id IN ($in) AND lease_owner = %s AND status = %s ORDER BY id", $owner, RustMail_Log_Store::STATUS_SENDING ), ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		// Others took every candidate: look again (they are busy with those) rather than stop.
		return $claimed ? $claimed : self::claim( $owner, $ids, array_merge( $tried, $candidates ) );
	}

	/**
	 * The first candidates whose bytes add up to BATCH_BYTES at most, or the first alone when it is larger.
	 *
	 * @param array[] $candidates `id` and `bytes` of each.
	 * @return int[]
	 */
	private static function within_batch_bytes( array $candidates ) {
		$ids   = array();
		$bytes = 0;
		foreach ( $candidates as $candidate ) {
			$bytes += (int) $candidate['bytes'];
			if ( $ids && $bytes > self::BATCH_BYTES ) {
				break;
			}
			$ids[] = (int) $candidate['id'];
		}
		return $ids;
	}

	/**
	 * Messages whose worker handed them to a server and then stopped before writing the answer (its process died, or
	 * its lease ran out): they may have arrived, so they are marked possibly sent rather than sent again. Their bytes
	 * stay for "Send again" where finish() would keep a failed message's. Once at the start of each drain.
	 */
	public static function give_up_abandoned() {
		global $wpdb;
		$table = RustMail_Log_Store::table();
		$now   = gmdate( 'Y-m-d H:i:s' );
		$only  = self::this_site_only();
		$why   = __( 'Possibly sent: the process sending this message stopped after handing it to the server and before recording the answer. It may have arrived, so it is not sent again on its own; use "Send again" if its recipients did not get it.', 'rust-mail' );
		self::write( $wpdb->prepare( "UPDATE $table SET status = %s, error_message = %s, lease_owner = '', lease_until = NULL, next_attempt_at = NULL, mail_data = NULL, raw = " . self::kept_raw_sql() . " WHERE status = %s AND lease_until < %s AND in_flight_at IS NOT NULL$only", RustMail_Log_Store::STATUS_UNCONFIRMED, $why, RustMail_Log_Store::STATUS_SENDING, $now ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	}

	/**
	 * Runs a write, again if the database chose it as a deadlock's victim or it waited too long for a lock: an
	 * outcome that is not written would leave its message for a takeover.
	 *
	 * @return int|false the rows it changed.
	 */
	private static function write( $sql ) {
		global $wpdb;
		for ( $try = 1; ; $try++ ) {
			$result = $wpdb->query( $sql ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared -- prepared by the callers.
			if ( false !== $result || $try >= 5 || ! preg_match( '/Deadlock|Lock wait timeout/i', $wpdb->last_error ) ) {
				return $result;
			}
			usleep( 20000 * $try );
		}
	}

	/**
	 * Renews this drain's lease for the worst case of its next send, and marks the messages it is about to hand to a
	 * server as in flight. False when one of them is no longer this drain's (its lease ran out and another worker took
	 * it over): it must not be sent.
	 *
	 * @param int[] $ids the messages about to be sent; none when only the lease is renewed.
	 */
	public static function hold( $owner, array $ids, $send_seconds ) {
		global $wpdb;
		$table = RustMail_Log_Store::table();
		$in    = $ids ? implode( ',', array_map( 'intval', $ids ) ) : '0';
		self::write( $wpdb->prepare( "UPDATE $table SET lease_until = %s, in_flight_at = IF(id IN ($in), %s, in_flight_at) WHERE lease_owner = %s AND status = %s", gmdate( 'Y-m-d H:i:s', time() + self::lease_seconds( $send_seconds ) ), gmdate( 'Y-m-d H:i:s' ), $owner, RustMail_Log_Store::STATUS_SENDING ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		return ! $ids || count( $ids ) === (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM $table WHERE id IN ($in) AND lease_owner = %s AND status = %s", $owner, RustMail_Log_Store::STATUS_SENDING ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	}

	/** Hands unsent claims back, due at once, for the next drain. */
	public static function release( $owner ) {
		global $wpdb;
		$table = RustMail_Log_Store::table();
		self::write( $wpdb->prepare( "UPDATE $table SET status = %s, lease_owner = '', lease_until = NULL, in_flight_at = NULL WHERE lease_owner = %s AND status = %s", RustMail_Log_Store::STATUS_QUEUED, $owner, RustMail_Log_Store::STATUS_SENDING ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	}

	/** A row's envelope: decoded from the database, or as store() returned it. */
	public static function envelope( array $row ) {
		return is_array( $row['envelope'] ) ? $row['envelope'] : json_decode( (string) $row['envelope'], true );
	}

	/**
	 * A message's bytes stay after its outcome only where "send again" is offered: a failed message (sealed, unless
	 * "Store message bodies" is on), and with "Store message bodies" on a sent one too; never a message that carries
	 * a key. kept_raw_sql() is the failed message's rule in SQL.
	 */
	public static function keeps_bytes( $status, array $row ) {
		if ( ! empty( $row['carries_key'] ) ) {
			return false;
		}
		if ( RustMail_Settings_Store::get( 'log_bodies' ) ) {
			return true;
		}
		// Sealed when stored, or (a message not stored yet, add_outcome()) sealed when it is.
		$sealed = $row['id'] ? ! empty( $row['sealed'] ) : RustMail_Settings_Secrets::can_encrypt();
		return RustMail_Log_Store::STATUS_FAILED === $status && $sealed;
	}

	/** The `raw` column's new value, in SQL, for a message that ends without being sent: keeps_bytes() of a failed one. */
	private static function kept_raw_sql() {
		return 'IF(carries_key = 0 AND ' . ( RustMail_Settings_Store::get( 'log_bodies' ) ? '1' : 'sealed = 1' ) . ', raw, NULL)';
	}

	/** Over every connection's rate limit: back in the queue (or into it) until the first limit frees up. */
	public static function wait( array $row, $seconds ) {
		if ( ! $row['id'] ) {
			self::store( $row, $seconds );
			return;
		}
		self::update_claimed(
			$row,
			array(
				'status'          => RustMail_Log_Store::STATUS_QUEUED,
				'next_attempt_at' => gmdate( 'Y-m-d H:i:s', time() + $seconds ),
				'lease_owner'     => '',
				'lease_until'     => null,
				'in_flight_at'    => null,
			),
			false
		);
	}

	/**
	 * Writes fields of a claimed row, through write()'s retry (each value as a string, NULL as NULL), fenced by the
	 * claim: only while the row still carries the token it was claimed with. A row a takeover marked possibly sent
	 * (give_up_abandoned()) takes the outcome of the worker that was sending it after all, when that outcome is that
	 * the server took it: any other (a timeout after the message) leaves it as unsure as it was.
	 *
	 * @param bool $sent whether the server took the message.
	 * @return bool false when the claim was lost and nothing was written.
	 */
	public static function update_claimed( array $row, array $fields, $sent ) {
		global $wpdb;
		if ( ! $row['id'] ) {
			return self::add_outcome( $row, $fields, $sent );
		}
		if ( $sent && null !== self::$sent_outcomes ) {
			// A message the server took: the row takes its outcome whether still claimed or marked possibly sent.
			self::$sent_outcomes[ (string) $row['lease_owner'] ][ (int) $row['id'] ] = $fields;
			return true;
		}
		$set    = array();
		$values = array();
		foreach ( $fields as $column => $value ) {
			$set[] = "`$column` = " . ( null === $value ? 'NULL' : '%s' );
			if ( null !== $value ) {
				$values[] = $value;
			}
		}
		array_push( $values, (int) $row['id'], (string) $row['lease_owner'], RustMail_Log_Store::STATUS_SENDING, $sent ? RustMail_Log_Store::STATUS_UNCONFIRMED : '' );
		return (bool) self::write( $wpdb->prepare( 'UPDATE ' . RustMail_Log_Store::table() . ' SET ' . implode( ', ', $set ) . ' WHERE id = %d AND ((lease_owner = %s AND status = %s) OR status = %s)', $values ) ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared -- column names are the code's own.
	}

	/**
	 * The one row of a message sent before it was stored (unstored()), with its outcome: deferred when the server took
	 * it (RustMail_Log_Store::add()), at once otherwise, so that a failure is in the log before wp_mail_failed's
	 * listeners run. Bytes kept for "Send again" (finish() left `raw` in) are sealed where the site has a key.
	 */
	private static function add_outcome( array $row, array $fields, $sent ) {
		$row = array_merge( $row, $fields );
		if ( isset( $row['raw'] ) ) {
			$sealed        = RustMail_Settings_Secrets::encrypt( (string) $row['raw'], 'outbox_raw', true );
			$row['raw']    = $sealed ?? $row['raw'];
			$row['sealed'] = null === $sealed ? 0 : 1;
		}
		unset( $row['id'] );
		return RustMail_Log_Store::add( $row, $sent ) > 0 || $sent;
	}

	/**
	 * From now on, the outcomes of messages a server took (update_claimed() with `$sent`) wait for
	 * write_sent_outcomes(): a drain writes a batch's in one UPDATE instead of one per message. Such an outcome
	 * cannot be refused (see update_claimed()), so nothing is known later than before; the others go one by one.
	 */
	public static function collect_sent_outcomes() {
		self::$sent_outcomes = array();
	}

	/** Writes the collected outcomes, one UPDATE per claim, and stops collecting. */
	public static function write_sent_outcomes() {
		global $wpdb;
		$by_owner            = (array) self::$sent_outcomes;
		self::$sent_outcomes = null;
		foreach ( $by_owner as $owner => $outcomes ) {
			$columns = array_keys( array_merge( ...array_values( $outcomes ) ) );
			$set     = array();
			foreach ( $columns as $column ) {
				$values = array();
				foreach ( $outcomes as $id => $fields ) {
					if ( array_key_exists( $column, $fields ) ) {
						$values[ $id ] = RustMail_Log_Store::sql_value( $fields[ $column ] );
					}
				}
				if ( count( $values ) === count( $outcomes ) && 1 === count( array_unique( $values ) ) ) {
					$set[] = "`$column` = " . reset( $values ); // The same for every row (the status, the cleared lease).
					continue;
				}
				$cases = '';
				foreach ( $values as $id => $value ) {
					$cases .= ' WHEN ' . (int) $id . ' THEN ' . $value;
				}
				$set[] = "`$column` = CASE id$cases ELSE `$column` END";
			}
			$ids = implode( ',', array_keys( $outcomes ) );
			self::write( $wpdb->prepare( 'UPDATE ' . RustMail_Log_Store::table() . ' SET ' . implode( ', ', $set ) . " WHERE id IN ($ids) AND ((lease_owner = %s AND status = %s) OR status = %s)", $owner, RustMail_Log_Store::STATUS_SENDING, RustMail_Log_Store::STATUS_UNCONFIRMED ) ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared -- column names are the code's own, values through sql_value().
		}
	}

	/**
	 * Cancels a queued message: it is never sent. Its bytes stay where a failed message's would, so that a message
	 * cancelled by mistake can still be sent again from the log.
	 */
	public static function cancel( $id ) {
		global $wpdb;
		$table = RustMail_Log_Store::table();
		return (bool) self::write( $wpdb->prepare( "UPDATE $table SET status = %s, next_attempt_at = NULL, mail_data = NULL, raw = " . self::kept_raw_sql() . ' WHERE id = %d AND status = %s', RustMail_Log_Store::STATUS_CANCELLED, (int) $id, RustMail_Log_Store::STATUS_QUEUED ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	}

	/**
	 * Cancels every queued message as cancel() does one, saying why (RustMail_Outbox_Drain::deactivate()).
	 *
	 * @return int how many were cancelled.
	 */
	public static function cancel_all( $reason ) {
		global $wpdb;
		return (int) $wpdb->update(
			RustMail_Log_Store::table(),
			RustMail_Log_Store::CANCELLED_FIELDS + array( 'error_message' => $reason ),
			array( 'status' => RustMail_Log_Store::STATUS_QUEUED )
		);
	}
}
