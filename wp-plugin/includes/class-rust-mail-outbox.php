<?php
/**
 * The outbox: every message the plugin routes is stored before any network I/O (its log row holds the composed
 * bytes, the envelope and the attempts), then sent:
 *
 * - delivery "queued" (the default): wp_mail() returns true once the message is stored, as mail() does once a local
 *   MTA has queued it; the message is sent after the response (fastcgi_finish_request()), and a transient failure
 *   (4xx, a refused or timed-out connection, TLS or DNS trouble) is retried with exponential backoff by WP-Cron or
 *   the CLI drain (cli/drain.php) until `retry_hours` have passed. A permanent failure (5xx) fails it at once.
 * - delivery "immediate": core's semantics; wp_mail() waits for the server and returns its answer.
 *
 * Both try the fallback connection when the primary fails transiently, and keep a message that would exceed a
 * connection's rate limit waiting instead of failing it.
 *
 * Claiming is one conditional UPDATE that sets an owner (the claim's token) and a lease: two workers (or a worker and
 * cron, or two web nodes sharing the database) never send the same message. The claim fences every later write: an
 * outcome, a wait or a hand-back changes the row only while it still carries this worker's token. A worker renews its
 * lease before each send, for that send's worst case, and marks the messages it hands to a server (`in_flight_at`).
 * A claim whose process died is taken over once its lease has run out: sent if it never reached a server, else
 * marked "possibly sent" (STATUS_UNCONFIRMED) and left to the admin, never sent twice on a guess. The guarantee is
 * at most once, with the one unknown case shown in the log.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class Rust_Mail_Outbox {

	/** WP-Cron event that drains the outbox every minute: retries, leftovers, takeovers. */
	const CRON_HOOK     = 'rust_mail_drain';
	const CRON_SCHEDULE = 'rust_mail_every_minute';

	/** Messages claimed by one UPDATE. */
	const BATCH = 20;

	/** Seconds one drain (after a response, or by cron) may go on claiming. */
	const DRAIN_SECONDS = 25;

	/** Longest stretch of sent messages whose outcomes wait for one commit (send_batch()). */
	const COMMIT_SECONDS = 0.2;

	/** Seconds a lease outlives the worst case of the send it guards: the time to write an outcome after the last reply. */
	const LEASE_MARGIN = 5;

	/** Longest wait between two attempts, whatever the backoff says. */
	const MAX_RETRY_DELAY = 6 * HOUR_IN_SECONDS;

	/** Option: when cron last drained the outbox (the notice and Site Health say when cron stopped). */
	const LAST_CRON_OPTION = 'rust_mail_last_cron';

	/** Option: when the last alert mail went to the administrator (at most one an hour). */
	const LAST_ALERT_OPTION = 'rust_mail_last_alert';

	/** A queued message older than this is "stuck" for the notice and Site Health. */
	const STUCK_AFTER = HOUR_IN_SECONDS;

	/** @var int[] ids of the messages this request stored in queued mode: sent after the response */
	private static $stored_here = array();

	/**
	 * @var array|null while a drain runs, each connection's transport, read once: thousands of messages must not
	 *                 read the settings (and decrypt the password) thousands of times.
	 */
	private static $drain_transports = null;

	public static function register() {
		add_filter( 'cron_schedules', array( __CLASS__, 'add_cron_schedule' ) );
		add_action( self::CRON_HOOK, array( __CLASS__, 'cron_drain' ) );
		add_action( 'init', array( __CLASS__, 'schedule' ) );
	}

	public static function add_cron_schedule( $schedules ) {
		$schedules[ self::CRON_SCHEDULE ] = array(
			'interval' => MINUTE_IN_SECONDS,
			'display'  => __( 'Every minute (Rust Mail outbox)', 'rust-mail' ),
		);
		return $schedules;
	}

	public static function schedule() {
		if ( ! wp_next_scheduled( self::CRON_HOOK ) ) {
			wp_schedule_event( time() + MINUTE_IN_SECONDS, self::CRON_SCHEDULE, self::CRON_HOOK );
		}
	}

	/** The delivery setting, which the filter `rust_mail_delivery` may change for a call (the admin's test mail waits). */
	public static function is_queued_mode() {
		return 'queued' === apply_filters( 'rust_mail_delivery', Rust_Mail_Settings::get( 'delivery' ) );
	}

	/* ---------------------------------------------------------------- Storing */

	/**
	 * Stores a message with its log row, before any network I/O.
	 *
	 * @param array $row    log row fields (Rust_Mail_Log::add()) plus `raw` (bytes), `envelope` (from, to) and
	 *                      `mail_data` (core's wp_mail() arguments, for the outcome's actions).
	 * @param bool  $queued true: wait for a drain; false: claimed by this process, which sends it at once.
	 * @return array the row as stored, with its `id` (0 when it could not be stored): what attempt() takes.
	 */
	public static function store( array $row, $queued ) {
		$now       = time();
		$owner     = $queued ? '' : wp_generate_uuid4();
		$raw       = Rust_Mail_Settings::encrypt( (string) $row['raw'], 'outbox_raw' );
		$mail_data = Rust_Mail_Settings::encrypt( (string) wp_json_encode( $row['mail_data'] ), 'outbox_mail_data' );
		$sealed    = null !== $raw && null !== $mail_data;
		if ( ! $sealed && ! empty( $row['carries_key'] ) ) {
			// A key (a password reset) is never stored in clear: without a strong key to seal it, it is not stored.
			return array( 'id' => 0 );
		}
		$row = array_merge(
			$row,
			array(
				'status'          => $queued ? Rust_Mail_Log::STATUS_QUEUED : Rust_Mail_Log::STATUS_SENDING,
				'raw'             => $sealed ? $raw : $row['raw'],
				'mail_data'       => $sealed ? $mail_data : wp_json_encode( $row['mail_data'] ),
				'sealed'          => $sealed ? 1 : 0,
				'recipient_count' => count( $row['envelope']['to'] ),
				'next_attempt_at' => gmdate( 'Y-m-d H:i:s', $now ),
				'expires_at'      => gmdate( 'Y-m-d H:i:s', $now + max( 1, (int) Rust_Mail_Settings::get( 'retry_hours' ) ) * HOUR_IN_SECONDS ),
				'lease_owner'     => $owner,
				// Delivery "immediate" hands the message to the server at once: claimed and in flight from the start.
				'lease_until'     => $queued ? null : gmdate( 'Y-m-d H:i:s', $now + self::lease_seconds( (int) Rust_Mail_Settings::get( 'timeout' ) ) ),
				'in_flight_at'    => $queued ? null : gmdate( 'Y-m-d H:i:s', $now ),
			)
		);
		$row['id'] = Rust_Mail_Log::add( $row );
		return $row + array( 'attempts' => 0, 'attempt_log' => array() );
	}

	/**
	 * A stored message's bytes or core's arguments in clear. Every message is stored sealed (encrypted) where the site
	 * has a strong key, so that neither the database nor a dump of it holds a body, or a key it carries, in clear.
	 */
	public static function unseal( array $row, $field ) {
		$data = (string) $row[ 'outbox_raw' === $field ? 'raw' : 'mail_data' ];
		return empty( $row['sealed'] ) ? $data : (string) Rust_Mail_Settings::decrypt( $data, $field );
	}

	/** Queued mode: the message goes out after this request's response. */
	public static function send_after_response( $id ) {
		if ( ! self::$stored_here ) {
			register_shutdown_function( array( __CLASS__, 'drain_stored_here' ) );
		}
		self::$stored_here[] = (int) $id;
	}

	/**
	 * Shutdown: the visitor's page is complete (fastcgi_finish_request() under PHP-FPM) before the SMTP conversation
	 * starts. The filter `rust_mail_send_after_response` returning false leaves every message to cron instead.
	 */
	public static function drain_stored_here() {
		if ( ! apply_filters( 'rust_mail_send_after_response', true ) ) {
			return;
		}
		if ( function_exists( 'fastcgi_finish_request' ) ) {
			fastcgi_finish_request();
		}
		self::drain( self::$stored_here );
		self::$stored_here = array();
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
	 * On multisite, the other sites with mail to send or take over (for the CLI drain, which runs each in a process
	 * of its own); none on a single site.
	 *
	 * @return WP_Site[]
	 */
	public static function other_sites_with_mail() {
		global $wpdb;
		if ( ! is_multisite() ) {
			return array();
		}
		$table = Rust_Mail_Log::table();
		$ids   = $wpdb->get_col( $wpdb->prepare( "SELECT DISTINCT blog_id FROM $table WHERE status IN (%s, %s) AND blog_id <> %d", Rust_Mail_Log::STATUS_QUEUED, Rust_Mail_Log::STATUS_SENDING, get_current_blog_id() ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		return array_filter( array_map( 'get_site', $ids ) );
	}

	/* ---------------------------------------------------------------- Draining */

	/** WP-Cron: everything that is due, and a note of when cron last ran. */
	public static function cron_drain() {
		Rust_Mail_Settings::update_plugin_option( self::LAST_CRON_OPTION, time() );
		$counts = self::drain();
		self::maybe_alert();
		return $counts;
	}

	/**
	 * Sends what is due, claiming it batch by batch, for at most `$seconds`.
	 *
	 * @param int[]|null $ids only these messages (those a request stored); null for every message that is due.
	 * @return array<string, int> how many messages ended how: sent, partial, failed, retry, waiting.
	 */
	public static function drain( $ids = null, $seconds = self::DRAIN_SECONDS ) {
		$counts                 = array();
		$owner                  = wp_generate_uuid4();
		$deadline               = microtime( true ) + $seconds;
		$tried                  = array();
		self::$drain_transports = array();
		try {
			while ( microtime( true ) < $deadline ) {
				$rows = self::claim( $owner, $ids, $tried );
				if ( ! $rows || ! self::send_batch( $owner, $rows, $deadline, $counts, $tried ) ) {
					break;
				}
			}
		} finally {
			self::$drain_transports = null;
		}
		return $counts;
	}

	/**
	 * Sends one claimed batch. Its outcomes are written in one transaction, committed at the end of the batch and at
	 * least every COMMIT_SECONDS: to a near server a commit per message costs more than the send. Before each send,
	 * what is pending is committed with the renewed lease and the in-flight mark (hold()): should the process die,
	 * each of its messages is either unsent (taken over once the lease runs out) or possibly sent (marked so).
	 *
	 * @return bool false when the deadline came first or the claim was lost (the rest of the batch is handed back).
	 */
	private static function send_batch( $owner, array $rows, $deadline, array &$counts, array &$tried ) {
		global $wpdb;
		$timeout = (int) Rust_Mail_Settings::get( 'timeout' );
		$sent    = array();
		if ( self::sends_in_parallel( $rows ) ) {
			// The batch's deadline, which its lease covers: each connection's share of it, each message in its whole
			// timeout, and no later than the drain's own deadline.
			$share  = (int) ceil( count( $rows ) / Rust_Mail_Engine::parallel_connections() ) * $timeout;
			$budget = max( $timeout, min( $share, (int) ceil( $deadline - microtime( true ) ) ) );
			if ( ! self::hold( $owner, array_column( $rows, 'id' ), $budget ) ) {
				self::release( $owner );
				return false;
			}
			$sent = self::send_in_parallel( $rows, $budget );
		}
		$lease_until = time() + self::lease_seconds( $timeout );
		$stop        = false;
		$wpdb->query( 'START TRANSACTION' );
		$opened = microtime( true );
		try {
			foreach ( $rows as $row ) {
				$id      = (int) $row['id'];
				$primary = $sent[ $id ] ?? null;
				// A message already sent in parallel is finished whatever happens: handing it back would send it twice.
				if ( null === $primary ) {
					if ( $stop || microtime( true ) >= $deadline ) {
						$stop = true;
						continue;
					}
					$wpdb->query( 'COMMIT' );
					$stop = ! self::hold( $owner, array( $id ), $timeout );
					$wpdb->query( 'START TRANSACTION' );
					$opened      = microtime( true );
					$lease_until = time() + self::lease_seconds( $timeout );
					if ( $stop ) {
						continue;
					}
				} elseif ( empty( $primary['ok'] ) && $lease_until - time() < self::lease_seconds( $timeout ) ) {
					// The fallback may still send it: the claims must outlive that too. A renewal only counts once committed.
					$wpdb->query( 'COMMIT' );
					self::hold( $owner, array(), $timeout );
					$wpdb->query( 'START TRANSACTION' );
					$opened      = microtime( true );
					$lease_until = time() + self::lease_seconds( $timeout );
				}
				$outcome            = self::attempt( $row, true, $primary )['outcome'];
				$counts[ $outcome ] = ( $counts[ $outcome ] ?? 0 ) + 1;
				$tried[]            = $id;
				if ( microtime( true ) - $opened >= self::COMMIT_SECONDS ) {
					$wpdb->query( 'COMMIT' );
					$wpdb->query( 'START TRANSACTION' );
					$opened = microtime( true );
				}
			}
			if ( $stop ) {
				self::release( $owner );
			}
			return ! $stop;
		} finally {
			$wpdb->query( 'COMMIT' );
		}
	}

	/**
	 * A lease: the worst case of the send it guards (`$send_seconds`, then the fallback's whole timeout, and the wait
	 * for an OAuth2 token that another worker is fetching), and the time to write the outcome.
	 */
	private static function lease_seconds( $send_seconds ) {
		$seconds = $send_seconds + self::LEASE_MARGIN;
		if ( Rust_Mail_Settings::has_fallback() ) {
			$seconds += (int) Rust_Mail_Settings::get( Rust_Mail_Settings::FALLBACK . 'timeout' );
		}
		if ( Rust_Mail_OAuth::is_configured() ) {
			$seconds += Rust_Mail_OAuth_Grant::WAIT_SECONDS + Rust_Mail_OAuth::TIMEOUT;
		}
		return $seconds;
	}

	/**
	 * Claims due messages, and those whose claimer's lease ran out before it handed them to a server. The candidates
	 * are read without locks, then claimed by primary key with the condition checked again on each locked row: of two
	 * processes that picked the same candidate, exactly one changes it. A message this drain has tried already waits
	 * for the next drain, even when its retry is due at once.
	 */
	private static function claim( $owner, $ids, array $tried ) {
		global $wpdb;
		$table = Rust_Mail_Log::table();
		$now   = gmdate( 'Y-m-d H:i:s' );
		$only  = self::this_site_only();
		self::give_up_abandoned( $now, $only );
		$due   = $wpdb->prepare( '((status = %s AND next_attempt_at <= %s) OR (status = %s AND lease_until < %s AND in_flight_at IS NULL))', Rust_Mail_Log::STATUS_QUEUED, $now, Rust_Mail_Log::STATUS_SENDING, $now );
		$only .= null === $ids ? '' : ' AND id IN (' . ( $ids ? implode( ',', array_map( 'intval', $ids ) ) : '0' ) . ')';
		$only .= $tried ? ' AND id NOT IN (' . implode( ',', $tried ) . ')' : '';
		$candidates = $wpdb->get_col( $wpdb->prepare( "SELECT id FROM $table WHERE $due$only ORDER BY next_attempt_at, id LIMIT %d", self::BATCH ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		if ( ! $candidates ) {
			return array();
		}
		$in = implode( ',', array_map( 'intval', $candidates ) );
		self::write( $wpdb->prepare( "UPDATE $table SET status = %s, lease_owner = %s, lease_until = %s, in_flight_at = NULL WHERE id IN ($in) AND $due", Rust_Mail_Log::STATUS_SENDING, $owner, gmdate( 'Y-m-d H:i:s', time() + self::lease_seconds( (int) Rust_Mail_Settings::get( 'timeout' ) ) ) ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$claimed = $wpdb->get_results( $wpdb->prepare( "SELECT * FROM $table WHERE id IN ($in) AND lease_owner = %s AND status = %s ORDER BY id", $owner, Rust_Mail_Log::STATUS_SENDING ), ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		// Others took every candidate: look again (they are busy with those) rather than stop.
		return $claimed ? $claimed : self::claim( $owner, $ids, array_merge( $tried, $candidates ) );
	}

	/**
	 * Messages whose worker handed them to a server and then stopped before writing the answer (its process died, or
	 * its lease ran out): they may have arrived, so they are marked possibly sent rather than sent again. Their bytes
	 * stay for "Send again" where finish() would keep a failed message's.
	 */
	private static function give_up_abandoned( $now, $only ) {
		global $wpdb;
		$table = Rust_Mail_Log::table();
		$keep  = Rust_Mail_Settings::get( 'log_bodies' ) ? '1' : 'sealed = 1';
		$why   = __( 'Possibly sent: the process sending this message stopped after handing it to the server and before recording the answer. It may have arrived, so it is not sent again on its own; use "Send again" if its recipients did not get it.', 'rust-mail' );
		self::write( $wpdb->prepare( "UPDATE $table SET status = %s, error_message = %s, lease_owner = '', lease_until = NULL, next_attempt_at = NULL, mail_data = NULL, raw = IF(carries_key = 0 AND $keep, raw, NULL) WHERE status = %s AND lease_until < %s AND in_flight_at IS NOT NULL$only", Rust_Mail_Log::STATUS_UNCONFIRMED, $why, Rust_Mail_Log::STATUS_SENDING, $now ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
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
	private static function hold( $owner, array $ids, $send_seconds ) {
		global $wpdb;
		$table = Rust_Mail_Log::table();
		$in    = $ids ? implode( ',', array_map( 'intval', $ids ) ) : '0';
		self::write( $wpdb->prepare( "UPDATE $table SET lease_until = %s, in_flight_at = IF(id IN ($in), %s, in_flight_at) WHERE lease_owner = %s AND status = %s", gmdate( 'Y-m-d H:i:s', time() + self::lease_seconds( $send_seconds ) ), gmdate( 'Y-m-d H:i:s' ), $owner, Rust_Mail_Log::STATUS_SENDING ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		return ! $ids || count( $ids ) === (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM $table WHERE id IN ($in) AND lease_owner = %s AND status = %s", $owner, Rust_Mail_Log::STATUS_SENDING ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	}

	/** Hands unsent claims back, due at once, for the next drain. */
	private static function release( $owner ) {
		global $wpdb;
		$table = Rust_Mail_Log::table();
		self::write( $wpdb->prepare( "UPDATE $table SET status = %s, lease_owner = '', lease_until = NULL, in_flight_at = NULL WHERE lease_owner = %s AND status = %s", Rust_Mail_Log::STATUS_QUEUED, $owner, Rust_Mail_Log::STATUS_SENDING ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	}

	/* ---------------------------------------------------------------- One attempt */

	/**
	 * The primary connection's tries of a claimed batch at once, over parallel connections (Rust_Mail_Engine::
	 * send_many()): a backlog drains several times faster than one message after the other. Only where nothing needs
	 * them one by one: the extension is loaded, and the primary connection has no rate limit (counted per delivery).
	 * The fallback, retries and the outcome stay attempt()'s.
	 *
	 * @param int $seconds the whole batch's deadline: what is not started by then comes back unsent.
	 * @return array<int, array> row id => the primary's result, for the messages that reached a server.
	 */
	private static function send_in_parallel( array $rows, $seconds ) {
		$messages = array();
		foreach ( $rows as $row ) {
			$messages[ $row['id'] ] = array(
				'raw'      => self::unseal( $row, 'outbox_raw' ),
				'envelope' => self::envelope( $row ),
			);
		}
		try {
			$results = Rust_Mail_Engine::send_many( $messages, self::transport( '' ), $seconds );
		} catch ( Throwable $e ) {
			// No token, settings that may not be used, a transport refused: each message then gets its own reason.
			return array();
		}
		// A refused OAuth2 token is dropped; those messages are tried one by one, with a fresh one. A message whose
		// turn never came (the deadline) is handed back as unsent: it costs no attempt.
		return array_filter(
			$results,
			static function ( $result ) {
				return ! self::never_started( $result ) && ! self::drop_refused_token( $result, '' );
			}
		);
	}

	/** Whether the batch may go over parallel connections: the extension is loaded and nothing counts it one by one. */
	private static function sends_in_parallel( array $rows ) {
		return count( $rows ) > 1 && Rust_Mail_Engine::sends_in_parallel() && ! Rust_Mail_Settings::limits( '' );
	}

	/**
	 * A message rust_mail_send_many() never started: the batch's deadline came before its turn (error kind `timeout` at
	 * stage `connect`, and not a word to or from a server). A server that did not answer in time is another kind.
	 */
	private static function never_started( array $result ) {
		$error = $result['error'] ?? null;
		if ( ! is_array( $error ) || 'timeout' !== ( $error['kind'] ?? '' ) || 'connect' !== ( $error['stage'] ?? '' ) ) {
			return false;
		}
		foreach ( (array) ( $result['transcript'] ?? array() ) as $line ) {
			if ( 'info' !== ( $line['dir'] ?? 'info' ) ) {
				return false;
			}
		}
		return true;
	}

	/**
	 * Sends a claimed message through the primary connection, then through the fallback if the primary failed
	 * transiently or is over its rate limit, and writes the outcome.
	 *
	 * @param array $row      the message's log row, as stored.
	 * @param bool  $may_wait true when a transient failure is retried later and the outcome announced by the outbox
	 *                        (queued mode, or a takeover); false for delivery "immediate", whose caller is waiting
	 *                        and whose outcome core's wp_mail() announces.
	 * @param array|null $primary_result the primary connection's result when it was already tried (send_in_parallel()).
	 * @return array{outcome: string, result: array} the outcome and rust_mail_send()'s result (of the last attempt).
	 */
	public static function attempt( array $row, $may_wait, $primary_result = null ) {
		$envelope    = self::envelope( $row );
		$raw         = self::unseal( $row, 'outbox_raw' );
		$attempts    = array();
		$wait        = null;
		$result      = null;
		foreach ( self::connections() as $name => $prefix ) {
			if ( 'primary' === $name && null !== $primary_result ) {
				$result = $primary_result;
			} else {
				$over_limit = Rust_Mail_Rate_Limit::wait_seconds( $name, $prefix, count( $envelope['to'] ) );
				if ( $over_limit > 0 ) {
					$wait = null === $wait ? $over_limit : min( $wait, $over_limit );
					continue;
				}
				$result = self::send_through( $raw, $envelope, $prefix );
			}
			$attempts[] = self::attempt_record( $name, $result );
			if ( ! empty( $result['ok'] ) || ! self::is_transient( $result ) ) {
				break;
			}
		}
		if ( null === $result ) {
			// Every connection is over its limit: the message waits, which costs no attempt.
			self::wait( $row, $wait );
			return array( 'outcome' => 'waiting', 'result' => array( 'ok' => true, 'queued' => true ) );
		}
		return array( 'outcome' => self::finish( $row, $envelope, $attempts, $result, $may_wait ), 'result' => $result );
	}

	/** A row's envelope: decoded from the database, or as store() returned it. */
	private static function envelope( array $row ) {
		return is_array( $row['envelope'] ) ? $row['envelope'] : json_decode( (string) $row['envelope'], true );
	}

	/** @return array<string, string> connection name => settings prefix, the primary first */
	private static function connections() {
		$connections = array( 'primary' => '' );
		if ( Rust_Mail_Settings::has_fallback() ) {
			$connections['fallback'] = Rust_Mail_Settings::FALLBACK;
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
	private static function drop_refused_token( array $result, $prefix ) {
		if ( '' !== $prefix || ! Rust_Mail_OAuth::forget_if_refused( Rust_Mail_Result::error( $result )['cause'] ) ) {
			return false;
		}
		unset( self::$drain_transports[ $prefix ] );
		return true;
	}

	/** One try through one connection with its transport as it is now. */
	private static function send_once( $raw, array $envelope, $prefix ) {
		try {
			$result = Rust_Mail_Engine::send_raw( $raw, $envelope, self::transport( $prefix ) );
		} catch ( Rust_Mail_OAuth_Exception $e ) {
			// No OAuth2 token, so no connection was opened: the reason is the token endpoint's answer. A token endpoint
			// that cannot be reached is worth another try; a refusal of the app, or of the mailbox's sign-in, is not.
			$result = self::failure( $e->kind(), $e->getMessage(), $e->is_transient() );
		} catch ( Rust_Mail_Settings_Exception $e ) {
			// The settings forbid this send (a secret from wp-config.php and a server from the page): nothing was opened.
			$result = self::failure( 'settings', $e->getMessage(), false );
		} catch ( Throwable $e ) {
			// RustMailException: the extension refused the input (for example a setting it does not accept).
			$result = self::failure( 'invalid_input', $e->getMessage(), false );
		}
		return $result;
	}

	/** A connection's transport: read once per drain, else each time. */
	private static function transport( $prefix ) {
		if ( null === self::$drain_transports ) {
			return Rust_Mail_Settings::transport( true, $prefix );
		}
		if ( ! isset( self::$drain_transports[ $prefix ] ) ) {
			self::$drain_transports[ $prefix ] = Rust_Mail_Settings::transport( true, $prefix );
		}
		return self::$drain_transports[ $prefix ];
	}

	private static function failure( $kind, $message, $transient ) {
		return array(
			'ok'    => false,
			'error' => array( 'kind' => $kind, 'message' => $message, 'transient' => $transient ),
		);
	}

	private static function is_transient( array $result ) {
		return Rust_Mail_Result::error( $result )['transient'];
	}

	/** What the log shows of one attempt. */
	private static function attempt_record( $connection, array $result ) {
		$error = Rust_Mail_Result::error( $result );
		return array(
			'at'            => gmdate( 'Y-m-d H:i:s' ),
			'connection'    => $connection,
			'engine'        => Rust_Mail_Engine::current(),
			'ok'            => ! empty( $result['ok'] ),
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
	 * 4xx are retried on their own; those refused with a 5xx are not.
	 *
	 * @return string the outcome: sent, partial, retry or failed.
	 */
	private static function finish( array $row, array $envelope, array $attempts, array $result, $may_wait ) {
		$log     = array_merge( is_array( $row['attempt_log'] ) ? $row['attempt_log'] : ( json_decode( (string) $row['attempt_log'], true ) ?: array() ), $attempts );
		$last    = end( $attempts );
		$error   = Rust_Mail_Result::error( $result );
		$retry   = array();
		$refused = '';
		foreach ( (array) ( $result['rejected'] ?? array() ) as $address => $reply ) {
			if ( '4' === substr( (string) $reply, 0, 1 ) ) {
				$retry[] = $address;
			}
		}
		// Recipients refused for good, by this attempt or an earlier one that sent to the others.
		foreach ( $log as $earlier ) {
			foreach ( (array) ( $earlier['rejected'] ?? array() ) as $address => $reply ) {
				if ( '4' !== substr( (string) $reply, 0, 1 ) ) {
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
			$status                    = '' === trim( $refused ) ? Rust_Mail_Log::STATUS_SENT : Rust_Mail_Log::STATUS_PARTIAL;
			$transient                 = (bool) $retry;
		} else {
			$fields['error_kind']    = $error['kind'];
			$fields['error_cause']   = $error['cause'];
			$fields['error_message'] = trim( $error['message'] . "\n" . $refused );
			$status                  = Rust_Mail_Log::STATUS_FAILED;
			$transient               = $error['transient'];
			$retry                   = $envelope['to'];
		}

		$next = $may_wait && $transient ? time() + self::retry_delay( $fields['attempts'], $row ) : null;
		if ( null !== $next && $next <= strtotime( $row['expires_at'] . ' UTC' ) ) {
			$fields['status']          = Rust_Mail_Log::STATUS_QUEUED;
			$fields['next_attempt_at'] = gmdate( 'Y-m-d H:i:s', $next );
			$fields['envelope']        = wp_json_encode( array( 'from' => $envelope['from'], 'to' => array_values( $retry ) ) );
			return self::update_claimed( $row, $fields, false ) ? 'retry' : 'lost';
		}
		if ( null !== $next ) {
			/* translators: %d: number of attempts */
			$fields['error_message'] = trim( sprintf( __( 'Gave up after %d attempts: the retry period is over.', 'rust-mail' ), $fields['attempts'] ) . "\n" . $fields['error_message'] );
			if ( Rust_Mail_Log::STATUS_FAILED !== $status ) {
				$status = Rust_Mail_Log::STATUS_PARTIAL;
			}
		}
		$fields['status']          = $status;
		$fields['next_attempt_at'] = null;
		if ( ! self::keeps_bytes( $status, $row ) ) {
			$fields['raw'] = null;
		}
		// Core's arguments (the body among them) were only kept to announce the outcome.
		$fields['mail_data'] = null;
		if ( ! self::update_claimed( $row, $fields, ! empty( $result['ok'] ) ) ) {
			return 'lost';
		}
		if ( $may_wait ) {
			self::announce( $row, $status, $fields['error_message'] );
		}
		return $status;
	}

	/**
	 * A message's bytes stay after its outcome only where "send again" is offered: a failed message (sealed, unless
	 * "Store message bodies" is on), and with "Store message bodies" on a sent one too; never a message that carries
	 * a key. give_up_abandoned() applies the failed message's rule in SQL.
	 */
	private static function keeps_bytes( $status, array $row ) {
		if ( ! empty( $row['carries_key'] ) ) {
			return false;
		}
		if ( Rust_Mail_Settings::get( 'log_bodies' ) ) {
			return true;
		}
		return Rust_Mail_Log::STATUS_FAILED === $status && ! empty( $row['sealed'] );
	}

	/** The delay before the next attempt: exponential from a minute, capped, with jitter; `rust_mail_retry_delay` changes it. */
	public static function retry_delay( $attempts, array $row ) {
		$base  = min( self::MAX_RETRY_DELAY, MINUTE_IN_SECONDS * ( 2 ** max( 0, $attempts - 1 ) ) );
		$delay = (int) round( $base * ( 0.8 + 0.4 * wp_rand( 0, 1000 ) / 1000 ) );
		return max( 0, (int) apply_filters( 'rust_mail_retry_delay', $delay, $attempts, $row ) );
	}

	/** Over every connection's rate limit: back in the queue until the first limit frees up. */
	private static function wait( array $row, $seconds ) {
		self::update_claimed(
			$row,
			array(
				'status'          => Rust_Mail_Log::STATUS_QUEUED,
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
	private static function update_claimed( array $row, array $fields, $sent ) {
		global $wpdb;
		$set    = array();
		$values = array();
		foreach ( $fields as $column => $value ) {
			$set[] = "`$column` = " . ( null === $value ? 'NULL' : '%s' );
			if ( null !== $value ) {
				$values[] = $value;
			}
		}
		array_push( $values, (int) $row['id'], (string) $row['lease_owner'], Rust_Mail_Log::STATUS_SENDING, $sent ? Rust_Mail_Log::STATUS_UNCONFIRMED : '' );
		return (bool) self::write( $wpdb->prepare( 'UPDATE ' . Rust_Mail_Log::table() . ' SET ' . implode( ', ', $set ) . ' WHERE id = %d AND ((lease_owner = %s AND status = %s) OR status = %s)', $values ) ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared -- column names are the code's own.
	}

	/**
	 * The final outcome of a message sent after its wp_mail() call returned: core's actions, with core's data, so that
	 * listeners (other log plugins, shops) learn what really happened.
	 */
	private static function announce( array $row, $status, $error_message ) {
		$mail_data = json_decode( self::unseal( $row, 'outbox_mail_data' ), true );
		$mail_data = is_array( $mail_data ) ? $mail_data : array();
		if ( Rust_Mail_Log::STATUS_SENT === $status ) {
			do_action( 'wp_mail_succeeded', $mail_data );
			return;
		}
		// PHPMailer's STOP_CONTINUE (some recipients refused) and STOP_CRITICAL, as core passes them; PHPMailer itself is
		// not loaded in a cron run.
		$mail_data['phpmailer_exception_code'] = Rust_Mail_Log::STATUS_PARTIAL === $status ? 1 : 2;
		do_action( 'wp_mail_failed', new WP_Error( 'wp_mail_failed', Rust_Mail_Result::smtp_error_text( $error_message ), $mail_data ) );
		if ( Rust_Mail_Log::STATUS_FAILED === $status ) {
			self::maybe_alert();
		}
	}

	/* ---------------------------------------------------------------- The admin's actions on one message */

	/** Sends a queued (or waiting) message now, in this request. */
	public static function send_now( $id ) {
		global $wpdb;
		$wpdb->update( Rust_Mail_Log::table(), array( 'next_attempt_at' => gmdate( 'Y-m-d H:i:s' ) ), array( 'id' => (int) $id, 'status' => Rust_Mail_Log::STATUS_QUEUED ) );
		return self::drain( array( (int) $id ) );
	}

	/** Cancels a queued message: it is never sent, and its bytes are dropped. */
	public static function cancel( $id ) {
		global $wpdb;
		return (bool) $wpdb->update(
			Rust_Mail_Log::table(),
			Rust_Mail_Log::CANCELLED_FIELDS,
			array( 'id' => (int) $id, 'status' => Rust_Mail_Log::STATUS_QUEUED )
		);
	}

	/**
	 * Sends a failed or sent message again, as a new message (with a log row of its own) to its original recipients.
	 *
	 * @return int the new row's id, or 0 when the message's bytes are no longer kept.
	 */
	public static function resend( $id ) {
		$row = Rust_Mail_Log::get( $id );
		if ( ! $row || null === $row['raw'] || ! in_array( $row['status'], Rust_Mail_Log::FINAL_STATUSES, true ) ) {
			return 0;
		}
		$stored = self::store(
			array(
				'from_address' => $row['from_address'],
				'recipients'   => $row['recipients'],
				'subject'      => $row['subject'],
				'message_id'   => $row['message_id'],
				'caller'       => $row['caller'],
				'body'         => $row['body'],
				/* translators: %d: id of the log entry sent again */
				'error_message' => sprintf( __( 'Sent again from log entry %d.', 'rust-mail' ), $id ),
				'raw'          => self::unseal( $row, 'outbox_raw' ),
				'envelope'     => array( 'from' => $row['envelope']['from'] ?? '', 'to' => self::original_recipients( $row ) ),
				'mail_data'    => array(),
			),
			true
		);
		if ( $stored['id'] ) {
			self::drain( array( $stored['id'] ) );
		}
		return $stored['id'];
	}

	/** The recipients a message was first addressed to (a retry narrows the envelope to those still owed it). */
	private static function original_recipients( array $row ) {
		$addresses = array();
		foreach ( preg_split( '/[;,]\s*/', preg_replace( '/\b(Cc|Bcc): /', '', $row['recipients'] ) ) as $address ) {
			if ( is_email( trim( $address ) ) ) {
				$addresses[] = trim( $address );
			}
		}
		return $addresses ? $addresses : (array) ( $row['envelope']['to'] ?? array() );
	}

	/* ---------------------------------------------------------------- Health */

	/**
	 * What is wrong with the outbox, for the admin notice, Site Health and the alert mail.
	 *
	 * @return array{stuck: int, oldest: string|null, failed_today: int, unconfirmed: int, cron_stopped: bool}
	 */
	public static function health() {
		global $wpdb;
		$table  = Rust_Mail_Log::table();
		$oldest = $wpdb->get_var( $wpdb->prepare( "SELECT MIN(created_at) FROM $table WHERE status IN (%s, %s)", Rust_Mail_Log::STATUS_QUEUED, Rust_Mail_Log::STATUS_SENDING ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$stuck  = null !== $oldest && strtotime( $oldest . ' UTC' ) < time() - self::STUCK_AFTER;
		$failed = (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM $table WHERE status = %s AND created_at > %s", Rust_Mail_Log::STATUS_FAILED, gmdate( 'Y-m-d H:i:s', time() - DAY_IN_SECONDS ) ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$unsure = (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM $table WHERE status = %s AND created_at > %s", Rust_Mail_Log::STATUS_UNCONFIRMED, gmdate( 'Y-m-d H:i:s', time() - DAY_IN_SECONDS ) ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$due    = (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM $table WHERE status = %s AND next_attempt_at < %s", Rust_Mail_Log::STATUS_QUEUED, gmdate( 'Y-m-d H:i:s', time() - 10 * MINUTE_IN_SECONDS ) ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$last   = (int) Rust_Mail_Settings::get_plugin_option( self::LAST_CRON_OPTION, 0 );
		return array(
			'stuck'        => $stuck ? 1 : 0,
			'oldest'       => $oldest,
			'failed_today' => $failed,
			'unconfirmed'  => $unsure,
			// Messages overdue by ten minutes and no cron run in that time: nothing will retry them.
			'cron_stopped' => $due > 0 && $last < time() - 10 * MINUTE_IN_SECONDS,
		);
	}

	/** @return string[] the problems, each a sentence an administrator can act on */
	public static function problems() {
		$health   = self::health();
		$problems = array();
		if ( $health['cron_stopped'] ) {
			$problems[] = __( 'WP-Cron has not run for ten minutes while mail waits to be retried. If DISABLE_WP_CRON is set, add the system cron line from the plugin\'s readme: * * * * * php wp-content/plugins/rust-mail/cli/drain.php', 'rust-mail' );
		}
		if ( $health['stuck'] ) {
			/* translators: %s: date and time in UTC */
			$problems[] = sprintf( __( 'Mail has been waiting in the outbox since %s UTC: the server keeps refusing it or cannot be reached. The connection log says why.', 'rust-mail' ), $health['oldest'] );
		}
		if ( $health['failed_today'] ) {
			/* translators: %d: number of messages */
			$problems[] = sprintf( _n( '%d message failed in the last 24 hours.', '%d messages failed in the last 24 hours.', $health['failed_today'], 'rust-mail' ), $health['failed_today'] );
		}
		if ( $health['unconfirmed'] ) {
			/* translators: %d: number of messages */
			$problems[] = sprintf( _n( '%d message is possibly sent: the process sending it stopped before the server\'s answer was recorded. The connection log lists it under "Possibly sent"; send it again if its recipients did not get it.', '%d messages are possibly sent: the process sending them stopped before the server\'s answer was recorded. The connection log lists them under "Possibly sent"; send them again if their recipients did not get them.', $health['unconfirmed'], 'rust-mail' ), $health['unconfirmed'] );
		}
		return $problems;
	}

	/**
	 * With "alert mail" on, at most one mail an hour tells the administrator what is wrong, through the fallback
	 * connection when there is one (the primary may be what fails). Straight to the engine, not through
	 * wp_mail(), so that an alert is never queued behind the mail it is about.
	 */
	public static function maybe_alert() {
		if ( ! Rust_Mail_Settings::get( 'alert_mail' ) ) {
			return;
		}
		$last     = (int) Rust_Mail_Settings::get_plugin_option( self::LAST_ALERT_OPTION, 0 );
		$problems = self::problems();
		if ( ! $problems || $last > time() - HOUR_IN_SECONDS ) {
			return;
		}
		Rust_Mail_Settings::update_plugin_option( self::LAST_ALERT_OPTION, time() );
		$admin  = is_multisite() ? get_site_option( 'admin_email' ) : get_option( 'admin_email' );
		$from   = (string) Rust_Mail_Settings::get( 'from' );
		$prefix = Rust_Mail_Settings::has_fallback() ? Rust_Mail_Settings::FALLBACK : '';
		try {
			Rust_Mail_Engine::send_text(
				is_email( $from ) ? $from : $admin,
				$admin,
				/* translators: %s: site name */
				sprintf( __( '[%s] Mail is not going out', 'rust-mail' ), wp_specialchars_decode( get_bloginfo( 'name' ), ENT_QUOTES ) ),
				implode( "\n\n", $problems ) . "\n\n" . Rust_Mail_Admin::log_url() . "\n",
				Rust_Mail_Settings::transport( true, $prefix )
			);
		} catch ( Throwable $e ) {
			// The alert is a courtesy: the notice and Site Health still say it.
			return;
		}
	}

	/** Site Health > Status: one test for the outbox. */
	public static function site_health_test() {
		$problems = self::problems();
		return array(
			'label'       => $problems ? __( 'Mail is not going out as it should', 'rust-mail' ) : __( 'Mail goes out', 'rust-mail' ),
			'status'      => $problems ? 'critical' : 'good',
			'badge'       => array( 'label' => __( 'Mail', 'rust-mail' ), 'color' => $problems ? 'red' : 'blue' ),
			'description' => $problems ? '<p>' . implode( '</p><p>', array_map( 'esc_html', $problems ) ) . '</p>' : '<p>' . esc_html__( 'The Rust Mail outbox has nothing stuck and no recent failure.', 'rust-mail' ) . '</p>',
			'actions'     => '<a href="' . esc_url( Rust_Mail_Admin::log_url() ) . '">' . esc_html__( 'Connection log', 'rust-mail' ) . '</a>',
			'test'        => 'rust_mail_outbox',
		);
	}

	/* ---------------------------------------------------------------- Before the plugin stops */

	/** Every queued message due now, then a drain: "Send them now" on the Plugins screen, before deactivating. */
	public static function send_all_now() {
		global $wpdb;
		$wpdb->update( Rust_Mail_Log::table(), array( 'next_attempt_at' => gmdate( 'Y-m-d H:i:s' ) ), array( 'status' => Rust_Mail_Log::STATUS_QUEUED ) );
		return self::drain();
	}

	/**
	 * Cancels every queued message as cancel() does one, saying why (Rust_Mail_Log::deactivate()).
	 *
	 * @return int how many were cancelled.
	 */
	public static function cancel_all( $reason ) {
		global $wpdb;
		return (int) $wpdb->update(
			Rust_Mail_Log::table(),
			Rust_Mail_Log::CANCELLED_FIELDS + array( 'error_message' => $reason ),
			array( 'status' => Rust_Mail_Log::STATUS_QUEUED )
		);
	}
}
