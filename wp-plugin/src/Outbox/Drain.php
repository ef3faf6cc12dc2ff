<?php
/**
 * The outbox: every message the plugin routes has a log row (its composed bytes, the envelope and the attempts), and
 * is sent:
 *
 * - delivery "queued" (the default): wp_mail() returns true once the message is stored, as mail() does once a local
 *   MTA has queued it; the message is sent after the response (fastcgi_finish_request()), and a transient failure
 *   (4xx, a refused or timed-out connection, TLS or DNS trouble) is retried with exponential backoff by WP-Cron or
 *   the CLI drain (cli/drain.php) until `retry_hours` have passed. A permanent failure (5xx) fails it at once.
 * - delivery "immediate": core's semantics; wp_mail() waits for the server and returns its answer. Nothing is stored
 *   before the send: the row is written once, with the outcome (RustMail_Outbox_Store::unstored()).
 *
 * Both try the fallback connection when the connection a message was routed to fails transiently, and keep a message
 * that would exceed a connection's rate limit waiting instead of failing it.
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

class RustMail_Outbox_Drain {

	/** WP-Cron event that drains the outbox every minute: retries, leftovers, takeovers. */
	const CRON_HOOK     = 'rust_mail_drain';
	const CRON_SCHEDULE = 'rust_mail_every_minute';

	/**
	 * Messages claimed by one UPDATE, and sent over parallel connections as one group: larger batches cost fewer
	 * writes a message, but a drain killed mid-batch leaves its whole batch possibly sent, for its lease.
	 */
	const BATCH = 50;

	/** Seconds one drain (after a response, or by cron) may go on claiming. */
	const DRAIN_SECONDS = 25;

	/** Longest stretch of sent messages whose outcomes wait for one commit (send_batch()). */
	const COMMIT_SECONDS = 0.2;

	/** Option: when cron last drained the outbox (the notice and Site Health say when cron stopped). */
	const LAST_CRON_OPTION = 'rust_mail_last_cron';

	/** @var int[] ids of the messages this request stored in queued mode: sent after the response */
	private static $stored_here = array();

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
		$table = RustMail_Log_Store::table();
		$ids   = $wpdb->get_col( $wpdb->prepare( "SELECT DISTINCT blog_id FROM $table WHERE status IN (%s, %s) AND blog_id <> %d", RustMail_Log_Store::STATUS_QUEUED, RustMail_Log_Store::STATUS_SENDING, get_current_blog_id() ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		return array_filter( array_map( 'get_site', $ids ) );
	}


	/** WP-Cron: everything that is due, and a note of when cron last ran. */
	public static function cron_drain() {
		RustMail_Settings_Store::update_plugin_option( self::LAST_CRON_OPTION, time() );
		return self::drain();
	}

	/**
	 * Sends what is due, claiming it batch by batch, for at most `$seconds`.
	 *
	 * @param int[]|null $ids only these messages (those a request stored); null for every message that is due.
	 * @return array<string, int> how many messages ended how: sent, partial, failed, retry, waiting.
	 */
	public static function drain( $ids = null, $seconds = self::DRAIN_SECONDS ) {
		if ( null === RustMail_Explain_Data::get() || RustMail_Outbox_Hold::stops_drains() ) {
			// Without the exported rules there are no transport settings; mail held stays held. Either way the mail
			// waits, and the admin notice says why.
			return array();
		}
		$counts                 = array();
		$owner                  = wp_generate_uuid4();
		$deadline               = microtime( true ) + $seconds;
		$tried                  = array();
		RustMail_Outbox_Delivery::keep_transports();
		RustMail_Outbox_Store::give_up_abandoned();
		try {
			while ( microtime( true ) < $deadline ) {
				$rows = RustMail_Outbox_Store::claim( $owner, $ids, $tried );
				if ( ! $rows || ! self::send_batch( $owner, $rows, $deadline, $counts, $tried ) ) {
					break;
				}
			}
		} finally {
			RustMail_Outbox_Delivery::forget_transports();
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
		$timeout = (int) RustMail_Settings_Store::get( 'timeout' );
		$sent    = array();
		$groups  = self::parallel_groups( $rows );
		if ( $groups ) {
			// The batch's deadline, which its lease covers: each connection's share of it, each message in its whole
			// timeout, and no later than the drain's own deadline.
			$ids    = array_merge( ...array_map( static fn ( $group ) => array_column( $group, 'id' ), array_values( $groups ) ) );
			$share  = (int) ceil( count( $ids ) / RustMail_Transport_Registry::parallel_connections() ) * $timeout;
			$budget = max( $timeout, min( $share, (int) ceil( $deadline - microtime( true ) ) ) );
			if ( ! RustMail_Outbox_Store::hold( $owner, $ids, $budget ) ) {
				RustMail_Outbox_Store::release( $owner );
				return false;
			}
			$sent = self::send_in_parallel( $groups, $budget );
		}
		$lease_until = time() + RustMail_Outbox_Store::lease_seconds( $timeout );
		$stop        = false;
		self::begin();
		$opened = microtime( true );
		try {
			foreach ( $rows as $row ) {
				$id      = (int) $row['id'];
				$routed  = $sent[ $id ] ?? null;
				// A message already sent in parallel is finished whatever happens: handing it back would send it twice.
				if ( null === $routed ) {
					if ( $stop || microtime( true ) >= $deadline ) {
						$stop = true;
						continue;
					}
					self::commit();
					$stop = ! RustMail_Outbox_Store::hold( $owner, array( $id ), $timeout );
					self::begin();
					$opened      = microtime( true );
					$lease_until = time() + RustMail_Outbox_Store::lease_seconds( $timeout );
					if ( $stop ) {
						continue;
					}
				} elseif ( empty( $routed['ok'] ) && $lease_until - time() < RustMail_Outbox_Store::lease_seconds( $timeout ) ) {
					// The fallback may still send it: the claims must outlive that too. A renewal only counts once committed.
					self::commit();
					RustMail_Outbox_Store::hold( $owner, array(), $timeout );
					self::begin();
					$opened      = microtime( true );
					$lease_until = time() + RustMail_Outbox_Store::lease_seconds( $timeout );
				}
				$outcome            = RustMail_Outbox_Delivery::attempt( $row, true, $routed )['outcome'];
				$counts[ $outcome ] = ( $counts[ $outcome ] ?? 0 ) + 1;
				if ( 'sent' !== $outcome && 'failed' !== $outcome ) {
					// Only a message that may be due again is kept out of this drain's next claims: the list goes into
					// every claim's SQL, and a long drain's finished messages would make each claim slower.
					$tried[] = $id;
				}
				if ( microtime( true ) - $opened >= self::COMMIT_SECONDS ) {
					self::commit();
					self::begin();
					$opened = microtime( true );
				}
			}
			if ( $stop ) {
				RustMail_Outbox_Store::release( $owner );
			}
			return ! $stop;
		} finally {
			self::commit();
		}
	}

	/** Opens the transaction of a batch's outcomes; those of sent messages wait for commit() (one UPDATE). */
	private static function begin() {
		global $wpdb;
		$wpdb->query( 'START TRANSACTION' );
		RustMail_Outbox_Store::collect_sent_outcomes();
	}

	private static function commit() {
		global $wpdb;
		RustMail_Outbox_Store::write_sent_outcomes();
		$wpdb->query( 'COMMIT' );
	}


	/**
	 * Each connection's tries of a claimed batch at once, over parallel connections (RustMail_Transport_Registry::
	 * send_many()): a backlog drains several times faster than one message after the other. The connections' groups
	 * go one after the other, each within what is left of the batch's deadline. The fallback, retries and the outcome
	 * stay attempt()'s.
	 *
	 * @param array<string, array[]> $groups  connection name => its rows (parallel_groups()).
	 * @param int                    $seconds the whole batch's deadline: what is not started by then comes back unsent.
	 * @return array<int, array> row id => the routed connection's result, for the messages that reached a server.
	 */
	private static function send_in_parallel( array $groups, $seconds ) {
		$until = microtime( true ) + $seconds;
		$sent  = array();
		foreach ( $groups as $name => $rows ) {
			$prefix   = RustMail_Settings_Connections::prefix( $name );
			$messages = array();
			foreach ( $rows as $row ) {
				$messages[ $row['id'] ] = array(
					'raw'      => RustMail_Log_Store::unseal( $row, 'outbox_raw' ),
					'envelope' => RustMail_Outbox_Store::envelope( $row ),
				);
			}
			try {
				$results = RustMail_Transport_Registry::send_many( $messages, RustMail_Outbox_Delivery::transport( $prefix ), max( 1, (int) floor( $until - microtime( true ) ) ) );
			} catch ( Throwable $e ) {
				// No token, settings that may not be used, a transport refused: each message then gets its own reason.
				continue;
			}
			// A refused OAuth2 token is dropped; those messages are tried one by one, with a fresh one. A message whose
			// turn never came (the deadline) is handed back as unsent: it costs no attempt.
			$sent += array_filter(
				$results,
				static function ( $result ) use ( $prefix ) {
					return ! self::never_started( $result ) && ! RustMail_Outbox_Delivery::drop_refused_token( $result, $prefix );
				}
			);
		}
		return $sent;
	}

	/**
	 * The batch's rows that may go over parallel connections, by the connection they are routed to: the extension is
	 * loaded, and a connection has two or more of them and no rate limit (counted per delivery, one by one).
	 *
	 * @return array<string, array[]> connection name => rows
	 */
	private static function parallel_groups( array $rows ) {
		if ( count( $rows ) < 2 || ! RustMail_Transport_Registry::sends_in_parallel() ) {
			return array();
		}
		$groups = array();
		foreach ( $rows as $row ) {
			$groups[ RustMail_Outbox_Delivery::route( $row ) ][] = $row;
		}
		return array_filter(
			$groups,
			static fn ( $group, $name ) => count( $group ) > 1 && ! RustMail_Settings_Store::limits( RustMail_Settings_Connections::prefix( $name ) ),
			ARRAY_FILTER_USE_BOTH
		);
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


	/** Sends a queued (or waiting) message now, in this request. */
	public static function send_now( $id ) {
		global $wpdb;
		$wpdb->update( RustMail_Log_Store::table(), array( 'next_attempt_at' => gmdate( 'Y-m-d H:i:s' ) ), array( 'id' => (int) $id, 'status' => RustMail_Log_Store::STATUS_QUEUED ) );
		return self::drain( array( (int) $id ) );
	}

	/**
	 * Sends a message of the log again, as a new entry, if its bytes are kept and nothing more happens to it.
	 *
	 * @return int the new entry's id, or 0 when it cannot be sent again.
	 */
	public static function resend( $id, array $to = array() ) {
		return self::resend_all( array( $id ), $to )[ $id ] ?? 0;
	}

	/**
	 * Sends messages of the log again, each as a new entry, in one drain: through the extension, in parallel. Those
	 * whose bytes are no longer kept, or that are not in a final status, are left out.
	 *
	 * @param int[]    $ids
	 * @param string[] $to  other recipients to send them to instead of their own (checked addresses), or none.
	 * @return array<int, int> each id sent again => its new entry's id.
	 */
	public static function resend_all( array $ids, array $to = array() ) {
		$new = array();
		foreach ( $ids as $id ) {
			$stored = self::store_again( (int) $id, $to );
			if ( $stored ) {
				$new[ (int) $id ] = $stored;
			}
		}
		if ( $new ) {
			self::drain( array_values( $new ) );
		}
		return $new;
	}

	/**
	 * A copy of a final message of the log, queued as a new entry; 0 when its bytes are no longer kept. To other
	 * recipients, the copy is the message as it was (its To and Cc unchanged) with Resent- fields on top, as RFC 5322
	 * 3.6.6 has it for a message "reintroduced into the transport system".
	 *
	 * @param string[] $to other recipients, or none for the message's own.
	 */
	private static function store_again( $id, array $to ) {
		$row = RustMail_Log_Store::get( $id );
		if ( ! $row || null === $row['raw'] || ! in_array( $row['status'], RustMail_Log_Store::FINAL_STATUSES, true ) ) {
			return 0;
		}
		$raw = RustMail_Log_Store::unseal( $row, 'outbox_raw' );
		if ( $to ) {
			$raw = self::resent_fields( '' !== (string) $row['from_address'] ? $row['from_address'] : (string) ( $row['envelope']['from'] ?? '' ), $to, $raw ) . $raw;
		}
		$stored = RustMail_Outbox_Store::store(
			array(
				'from_address' => $row['from_address'],
				'recipients'   => $to ? implode( ', ', $to ) : $row['recipients'],
				'subject'      => $row['subject'],
				'message_id'   => $row['message_id'],
				'caller'       => $row['caller'],
				'route'        => RustMail_Settings_Routes::pick( $row['from_address'], $row['caller'] ),
				'body'         => $row['body'],
				'error_message' => $to
					/* translators: 1: id of the log entry sent again, 2: the addresses it was sent to */
					? sprintf( __( 'Sent again from log entry %1$d, to %2$s instead of its own recipients.', 'rust-mail' ), $id, implode( ', ', $to ) )
					/* translators: %d: id of the log entry sent again */
					: sprintf( __( 'Sent again from log entry %d.', 'rust-mail' ), $id ),
				'raw'          => $raw,
				'envelope'     => array( 'from' => $row['envelope']['from'] ?? '', 'to' => $to ? $to : self::original_recipients( $row ) ),
				'mail_data'    => array(),
			)
		);
		return (int) $stored['id'];
	}

	/**
	 * The Resent- block put on top of a message sent again to other recipients, in the message's own line ends. The
	 * addresses were checked by the caller (is_email(): no CR, LF or spaces), and a list of short addresses is folded
	 * between them.
	 *
	 * @param string[] $to
	 */
	private static function resent_fields( $from, array $to, $raw ) {
		$eol = false === strpos( $raw, "\r\n" ) ? "\n" : "\r\n";
		return 'Resent-Date: ' . gmdate( 'D, d M Y H:i:s' ) . ' +0000' . $eol
			. 'Resent-From: ' . $from . $eol
			. 'Resent-To: ' . implode( ',' . $eol . ' ', $to ) . $eol;
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


	/** Every queued message due now, then a drain: "Send them now" on the Plugins screen, before deactivating. */
	public static function send_all_now() {
		global $wpdb;
		$wpdb->update( RustMail_Log_Store::table(), array( 'next_attempt_at' => gmdate( 'Y-m-d H:i:s' ) ), array( 'status' => RustMail_Log_Store::STATUS_QUEUED ) );
		return self::drain();
	}

	/**
	 * Nothing of the plugin runs while it is inactive: mail left queued would wait, contents and all, for an
	 * activation that may never come. It is cancelled (its bytes dropped, its log line kept); the Plugins screen said
	 * so beforehand and offered to send it (RustMail_Admin_Notices::show_outbox_before_deactivation()). One site of a
	 * network leaves the network's outbox to the sites that still run the plugin.
	 *
	 * @param bool $network_wide deactivated for the whole network.
	 */
	public static function deactivate( $network_wide = false ) {
		wp_clear_scheduled_hook( RustMail_Log_Store::PURGE_HOOK );
		wp_clear_scheduled_hook( self::CRON_HOOK );
		if ( ! is_multisite() || $network_wide ) {
			RustMail_Outbox_Store::cancel_all( __( 'Cancelled: Rust Mail was deactivated while this message waited in the outbox.', 'rust-mail' ) );
		}
	}
}
