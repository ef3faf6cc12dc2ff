<?php
/**
 * The connection log: one row per wp_mail() call, in a table of its own, purged after the retention period.
 * On multisite one table for the whole network (each row names its site), read only on the network admin screens.
 *
 * The same row is the message's place in the outbox (Rust_Mail_Outbox): its composed bytes, envelope and attempts,
 * written in the one INSERT that logs it, before any network I/O. The bytes are dropped once the message has its
 * final outcome, unless it may be sent again (see Rust_Mail_Outbox::finish()).
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class Rust_Mail_Log {

	/** Bump when the table definition changes; maybe_upgrade() then runs dbDelta() again. */
	const DB_VERSION        = '4';
	const DB_VERSION_OPTION = 'rust_mail_db_version';
	const PURGE_HOOK        = 'rust_mail_purge_log';

	const STATUS_SENT      = 'sent';
	const STATUS_FAILED    = 'failed';
	const STATUS_PARTIAL   = 'partial';
	const STATUS_QUEUED    = 'queued';
	const STATUS_SENDING   = 'sending';
	const STATUS_CANCELLED = 'cancelled';

	/**
	 * Possibly sent: the worker sending it stopped (killed, or its lease ran out) after handing it to a server and
	 * before recording the answer. It may have arrived, so it is never sent again on its own: the admin decides.
	 */
	const STATUS_UNCONFIRMED = 'unconfirmed';

	/** A cancelled message: never sent, its bytes and core's arguments dropped. */
	const CANCELLED_FIELDS = array( 'status' => self::STATUS_CANCELLED, 'next_attempt_at' => null, 'raw' => null, 'mail_data' => null );

	/** Statuses after which nothing more happens to a message unless someone sends it again. */
	const FINAL_STATUSES = array( self::STATUS_SENT, self::STATUS_FAILED, self::STATUS_PARTIAL, self::STATUS_CANCELLED, self::STATUS_UNCONFIRMED );

	public static function table() {
		global $wpdb;
		return ( is_multisite() ? $wpdb->base_prefix : $wpdb->prefix ) . 'rust_mail_log';
	}

	public static function activate() {
		self::install_table();
		self::schedule_purge();
	}

	/**
	 * Nothing of the plugin runs while it is inactive: mail left queued would wait, contents and all, for an
	 * activation that may never come. It is cancelled (its bytes dropped, its log line kept); the Plugins screen said
	 * so beforehand and offered to send it (Rust_Mail_Admin::show_outbox_before_deactivation()). One site of a
	 * network leaves the network's outbox to the sites that still run the plugin.
	 *
	 * @param bool $network_wide deactivated for the whole network.
	 */
	public static function deactivate( $network_wide = false ) {
		wp_clear_scheduled_hook( self::PURGE_HOOK );
		wp_clear_scheduled_hook( Rust_Mail_Outbox::CRON_HOOK );
		if ( ! is_multisite() || $network_wide ) {
			Rust_Mail_Outbox::cancel_all( __( 'Cancelled: Rust Mail was deactivated while this message waited in the outbox.', 'rust-mail' ) );
		}
	}

	/** Creates or upgrades the table when the stored version differs (also covers updates by copying files). */
	public static function maybe_upgrade() {
		if ( Rust_Mail_Settings::get_plugin_option( self::DB_VERSION_OPTION ) !== self::DB_VERSION ) {
			self::install_table();
		}
		self::schedule_purge();
	}

	private static function schedule_purge() {
		if ( ! wp_next_scheduled( self::PURGE_HOOK ) ) {
			wp_schedule_event( time() + HOUR_IN_SECONDS, 'daily', self::PURGE_HOOK );
		}
	}

	private static function install_table() {
		global $wpdb;
		require_once ABSPATH . 'wp-admin/includes/upgrade.php';
		$table   = self::table();
		$charset = $wpdb->get_charset_collate();
		// dbDelta() wants two spaces after PRIMARY KEY and one column per line.
		dbDelta(
			"CREATE TABLE $table (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  created_at datetime NOT NULL,
  blog_id bigint(20) unsigned NOT NULL DEFAULT 0,
  status varchar(20) NOT NULL,
  from_address varchar(320) NOT NULL DEFAULT '',
  recipients text NOT NULL,
  subject text NOT NULL,
  message_id varchar(255) NOT NULL DEFAULT '',
  smtp_code smallint(5) unsigned DEFAULT NULL,
  enhanced_code varchar(32) NOT NULL DEFAULT '',
  reply text NOT NULL,
  error_kind varchar(64) NOT NULL DEFAULT '',
  error_cause varchar(64) NOT NULL DEFAULT '',
  error_message text NOT NULL,
  duration_ms int(10) unsigned DEFAULT NULL,
  caller varchar(255) NOT NULL DEFAULT '',
  transcript longtext NOT NULL,
  body longtext,
  raw longblob,
  envelope text,
  mail_data longtext,
  carries_key tinyint(1) NOT NULL DEFAULT 0,
  attempts smallint(5) unsigned NOT NULL DEFAULT 0,
  attempt_log longtext,
  next_attempt_at datetime DEFAULT NULL,
  expires_at datetime DEFAULT NULL,
  lease_owner varchar(40) NOT NULL DEFAULT '',
  lease_until datetime DEFAULT NULL,
  in_flight_at datetime DEFAULT NULL,
  sealed tinyint(1) NOT NULL DEFAULT 0,
  connection varchar(16) NOT NULL DEFAULT '',
  recipient_count int(10) unsigned NOT NULL DEFAULT 0,
  sent_at datetime DEFAULT NULL,
  PRIMARY KEY  (id),
  KEY created_at (created_at),
  KEY status (status),
  KEY due (status,next_attempt_at),
  KEY sent (connection,sent_at),
  KEY lease_owner (lease_owner),
  KEY error_cause (error_cause)
) $charset;"
		);
		// Before version 4 only a message that carries a key was sealed, and nothing said so but that flag.
		$wpdb->query( "UPDATE $table SET sealed = 1 WHERE carries_key = 1 AND sealed = 0 AND raw IS NOT NULL" ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		Rust_Mail_Settings::update_plugin_option( self::DB_VERSION_OPTION, self::DB_VERSION );
	}

	/**
	 * Adds one row. Missing fields get empty values; `transcript` is stored as JSON.
	 *
	 * @return int the new row's id
	 */
	public static function add( array $row ) {
		global $wpdb;
		$row = array_merge(
			array(
				'created_at'    => gmdate( 'Y-m-d H:i:s' ),
				'blog_id'       => get_current_blog_id(),
				'status'        => self::STATUS_FAILED,
				'from_address'  => '',
				'recipients'    => '',
				'subject'       => '',
				'message_id'    => '',
				'smtp_code'     => null,
				'enhanced_code' => '',
				'reply'         => '',
				'error_kind'    => '',
				'error_cause'   => '',
				'error_message' => '',
				'duration_ms'   => null,
				'caller'        => '',
				'transcript'    => array(),
				'body'          => null,
			),
			$row
		);
		$row['transcript'] = wp_json_encode( $row['transcript'] );
		foreach ( array( 'envelope', 'mail_data', 'attempt_log' ) as $json ) {
			if ( isset( $row[ $json ] ) && ! is_string( $row[ $json ] ) ) {
				$row[ $json ] = wp_json_encode( $row[ $json ] );
			}
		}
		// The table must never stop mail: a failed insert is only reported to the debug log.
		if ( false === $wpdb->insert( self::table(), $row ) ) {
			if ( defined( 'WP_DEBUG' ) && WP_DEBUG ) {
				error_log( 'rust-mail: could not write the connection log: ' . $wpdb->last_error ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions
			}
			return 0;
		}
		return (int) $wpdb->insert_id;
	}

	public static function get( $id ) {
		global $wpdb;
		$table = self::table();
		$row   = $wpdb->get_row( $wpdb->prepare( "SELECT * FROM $table WHERE id = %d", $id ), ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		if ( $row ) {
			// mail_data stays as stored: it may be sealed (Rust_Mail_Outbox::seal()).
			foreach ( array( 'transcript', 'envelope', 'attempt_log' ) as $json ) {
				$row[ $json ] = json_decode( (string) $row[ $json ], true ) ?: array();
			}
		}
		return $row;
	}

	/**
	 * Rows for the list page, newest first.
	 *
	 * @param array $args status ('' for all), search, per_page, page.
	 * @return array{rows: array, total: int}
	 */
	public static function query( array $args ) {
		global $wpdb;
		$table  = self::table();
		$where  = array( '1=1' );
		$params = array();
		if ( ! empty( $args['status'] ) ) {
			$where[]  = 'status = %s';
			$params[] = $args['status'];
		}
		if ( ! empty( $args['cause'] ) ) {
			$where[]  = 'error_cause = %s';
			$params[] = $args['cause'];
		}
		if ( ! empty( $args['search'] ) ) {
			$like     = '%' . $wpdb->esc_like( $args['search'] ) . '%';
			$where[]  = '(subject LIKE %s OR recipients LIKE %s OR from_address LIKE %s OR error_message LIKE %s OR caller LIKE %s)';
			$params   = array_merge( $params, array( $like, $like, $like, $like, $like ) );
		}
		$where_sql = implode( ' AND ', $where );
		$count_sql = "SELECT COUNT(*) FROM $table WHERE $where_sql";
		$total     = (int) $wpdb->get_var( $params ? $wpdb->prepare( $count_sql, $params ) : $count_sql ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared

		$per_page = max( 1, (int) $args['per_page'] );
		$offset   = max( 0, ( (int) $args['page'] - 1 ) * $per_page );
		$rows_sql = "SELECT id, created_at, blog_id, status, from_address, recipients, subject, smtp_code, enhanced_code, error_kind, error_cause, error_message, duration_ms, caller, attempts, next_attempt_at, connection
			FROM $table WHERE $where_sql ORDER BY id DESC LIMIT %d OFFSET %d";
		$rows     = $wpdb->get_results( $wpdb->prepare( $rows_sql, array_merge( $params, array( $per_page, $offset ) ) ), ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
		return array( 'rows' => $rows, 'total' => $total );
	}

	/** @return string[] the causes of failure the log holds, for the list's filter */
	public static function causes() {
		global $wpdb;
		$table = self::table();
		return $wpdb->get_col( "SELECT DISTINCT error_cause FROM $table WHERE error_cause <> '' ORDER BY error_cause" ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	}

	/** @return array<string, int> row count per status */
	public static function status_counts() {
		global $wpdb;
		$table  = self::table();
		$counts = array();
		foreach ( $wpdb->get_results( "SELECT status, COUNT(*) AS n FROM $table GROUP BY status", ARRAY_A ) as $row ) { // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
			$counts[ $row['status'] ] = (int) $row['n'];
		}
		return $counts;
	}

	/** How the chart groups statuses: what reached the server, what did not, what is still to go. */
	const CHART_GROUPS = array(
		self::STATUS_SENT      => 'sent',
		self::STATUS_PARTIAL   => 'sent',
		self::STATUS_FAILED    => 'failed',
		self::STATUS_QUEUED    => 'queued',
		self::STATUS_SENDING   => 'queued',
		self::STATUS_UNCONFIRMED => 'failed',
	);

	/**
	 * Mail per day (UTC) for the last `$days` days, oldest first, every day present.
	 *
	 * @return array<string, array{sent: int, failed: int, queued: int}>
	 */
	public static function daily_counts( $days ) {
		global $wpdb;
		$table  = self::table();
		$counts = array();
		for ( $day = $days - 1; $day >= 0; $day-- ) {
			$counts[ gmdate( 'Y-m-d', time() - $day * DAY_IN_SECONDS ) ] = array( 'sent' => 0, 'failed' => 0, 'queued' => 0 );
		}
		$since = array_key_first( $counts ) . ' 00:00:00';
		$rows  = $wpdb->get_results( $wpdb->prepare( "SELECT DATE(created_at) AS day, status, COUNT(*) AS n FROM $table WHERE created_at >= %s GROUP BY day, status", $since ), ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		foreach ( $rows as $row ) {
			$group = self::CHART_GROUPS[ $row['status'] ] ?? null;
			if ( $group && isset( $counts[ $row['day'] ] ) ) {
				$counts[ $row['day'] ][ $group ] += (int) $row['n'];
			}
		}
		return $counts;
	}

	/** The scheduled purge: deletes rows older than the retention period, but never a message still to be sent. */
	public static function purge_expired() {
		global $wpdb;
		$days   = max( 1, (int) Rust_Mail_Settings::get( 'retention_days' ) );
		$cutoff = gmdate( 'Y-m-d H:i:s', time() - $days * DAY_IN_SECONDS );
		$table  = self::table();
		$final  = "'" . implode( "','", self::FINAL_STATUSES ) . "'";
		return (int) $wpdb->query( $wpdb->prepare( "DELETE FROM $table WHERE created_at < %s AND status IN ($final)", $cutoff ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	}

	/* ---------------------------------------------------------------- Personal data (Tools > Export/Erase Personal Data) */

	/** Rows per page of an export, as WordPress asks for them page by page. */
	const EXPORT_PAGE_SIZE = 100;

	/**
	 * Rows in which the address is the sender or one of the recipients.
	 *
	 * @param int $page 0 for all of them.
	 * @return array{0: array, 1: bool} the rows and whether this was the last page.
	 */
	private static function rows_of( $email, $columns, $page ) {
		global $wpdb;
		$table = self::table();
		$like  = '%' . $wpdb->esc_like( $email ) . '%';
		$sql   = $wpdb->prepare( "SELECT $columns FROM $table WHERE from_address = %s OR recipients LIKE %s ORDER BY id", $email, $like ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		if ( $page > 0 ) {
			$sql .= $wpdb->prepare( ' LIMIT %d OFFSET %d', self::EXPORT_PAGE_SIZE, ( $page - 1 ) * self::EXPORT_PAGE_SIZE );
		}
		$rows = $wpdb->get_results( $sql, ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
		$last = 0 === $page || count( $rows ) < self::EXPORT_PAGE_SIZE;
		// LIKE also matches "xbob@example.com" for "bob@example.com": keep the rows that hold the address itself.
		$rows = array_filter(
			$rows,
			static function ( $row ) use ( $email ) {
				return (bool) self::roles( $row, $email );
			}
		);
		return array( array_values( $rows ), $last );
	}

	/**
	 * The recipients column as entries: "a@x, b@x; Cc: c@x; Bcc: d@x" as the router writes it, or a call that failed
	 * early's "Name <a@x>, b@x".
	 *
	 * @return array<int, array{header: string, address: string, text: string}>
	 */
	private static function recipient_entries( $recipients ) {
		$entries = array();
		foreach ( explode( '; ', (string) $recipients ) as $part ) {
			$header = preg_match( '/^(Cc|Bcc): /', $part, $match ) ? $match[1] : 'To';
			foreach ( explode( ',', 'To' === $header ? $part : substr( $part, strlen( $header ) + 2 ) ) as $text ) {
				$text    = trim( $text );
				$address = preg_match( '/<([^<>]*)>/', $text, $match ) ? $match[1] : $text;
				if ( '' !== $address ) {
					$entries[] = array( 'header' => $header, 'address' => $address, 'text' => $text );
				}
			}
		}
		return $entries;
	}

	/** The recipients column again from its entries. */
	private static function recipients_text( array $entries ) {
		$parts = array();
		foreach ( $entries as $entry ) {
			$parts[ $entry['header'] ][] = $entry['text'];
		}
		$text = array();
		foreach ( $parts as $header => $texts ) {
			$text[] = ( 'To' === $header ? '' : $header . ': ' ) . implode( ', ', $texts );
		}
		return implode( '; ', $text );
	}

	/** @return string[] where the address stands in a row: From, To, Cc, Bcc; none when the row is not about it. */
	private static function roles( array $row, $email ) {
		$roles = 0 === strcasecmp( trim( $row['from_address'] ), $email ) ? array( 'From' ) : array();
		foreach ( self::recipient_entries( $row['recipients'] ) as $entry ) {
			if ( 0 === strcasecmp( $entry['address'], $email ) ) {
				$roles[] = $entry['header'];
			}
		}
		return array_values( array_unique( $roles ) );
	}

	/**
	 * The exporter of Tools > Export Personal Data: per mail, its time, status and subject, and the person's own
	 * address with where it stood (From, To, Cc, Bcc). No other address: the recipients are other people (a Bcc one
	 * hidden from the rest), and so may be the sender.
	 */
	public static function export_personal_data( $email, $page = 1 ) {
		list( $rows, $last ) = self::rows_of( $email, 'id, created_at, status, from_address, recipients, subject', max( 1, (int) $page ) );
		$items               = array();
		foreach ( $rows as $row ) {
			$values = array(
				__( 'Time (UTC)', 'rust-mail' )   => $row['created_at'],
				__( 'Status', 'rust-mail' )       => Rust_Mail_Admin::status_label( $row['status'] ),
				__( 'Subject', 'rust-mail' )      => $row['subject'],
				/* translators: 1: email address, 2: where it stood: From, To, Cc or Bcc */
				__( 'Your address', 'rust-mail' ) => sprintf( __( '%1$s (%2$s)', 'rust-mail' ), $email, implode( ', ', self::roles( $row, $email ) ) ),
			);
			$data   = array();
			foreach ( $values as $name => $value ) {
				$data[] = array( 'name' => $name, 'value' => $value );
			}
			$items[] = array(
				'group_id'    => 'rust-mail-log',
				'group_label' => __( 'Mail sent by the site', 'rust-mail' ),
				'item_id'     => 'rust-mail-log-' . $row['id'],
				'data'        => $data,
			);
		}
		return array( 'data' => $items, 'done' => $last );
	}

	/**
	 * The eraser of Tools > Erase Personal Data, all in one call. A mail that concerns nobody else (they were its only
	 * recipient) is deleted, queued or not. A mail to others too is theirs as well and is kept:
	 *
	 * - queued: the address leaves its envelope and recipients, and the mail goes to the others; with nobody left to
	 *   send to (the others had it already), it is cancelled and its bytes dropped;
	 * - finished: the address is replaced with WordPress's anonymous one in every column, and the message's bytes
	 *   (kept for "send again") are dropped.
	 *
	 * Each row is locked while it changes, so that a drain cannot claim it half done; a row being sent at that moment
	 * is left alone and reported. The bytes of a queued mail are not rewritten: they go to the others as composed
	 * (a DKIM signature covers To and Cc), and are dropped once it is sent, or with the log after the retention period.
	 */
	public static function erase_personal_data( $email ) {
		global $wpdb;
		list( $rows ) = self::rows_of( $email, 'id, from_address, recipients', 0 );
		$outcomes     = array();
		foreach ( $rows as $row ) {
			$wpdb->query( 'START TRANSACTION' );
			$row        = $wpdb->get_row( $wpdb->prepare( 'SELECT * FROM ' . self::table() . ' WHERE id = %d FOR UPDATE', $row['id'] ), ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
			$outcomes[] = $row ? self::erase_from_row( $row, $email ) : 'gone';
			$wpdb->query( 'COMMIT' );
		}
		$counts   = array_count_values( $outcomes );
		$messages = array();
		if ( ! empty( $counts['sending'] ) ) {
			/* translators: %d: number of mails */
			$messages[] = sprintf( _n( '%d mail to or from this address was being sent at that moment and was left as it is: erase again in a minute.', '%d mails to or from this address were being sent at that moment and were left as they are: erase again in a minute.', $counts['sending'], 'rust-mail' ), $counts['sending'] );
		}
		if ( ! empty( $counts['kept'] ) ) {
			$messages[] = sprintf(
				/* translators: 1: number of mails, 2: number of days */
				_n( '%1$d mail waiting in the outbox still goes to its other recipients as it was written: the address is no longer among its recipients, but the message itself still holds it; the outbox drops it within %2$d days.', '%1$d mails waiting in the outbox still go to their other recipients as they were written: the address is no longer among their recipients, but the messages themselves still hold it; the outbox drops them within %2$d days.', $counts['kept'], 'rust-mail' ),
				$counts['kept'],
				// Sent, or given up, within the retry period; a failed one's bytes go with its row after the retention period.
				max( 1, (int) Rust_Mail_Settings::get( 'retention_days' ), (int) ceil( (int) Rust_Mail_Settings::get( 'retry_hours' ) / 24 ) )
			);
		}
		return array(
			'items_removed'  => ! empty( $counts['deleted'] ) || ! empty( $counts['redacted'] ) || ! empty( $counts['kept'] ),
			'items_retained' => (bool) $messages,
			'messages'       => $messages,
			'done'           => true,
		);
	}

	/**
	 * Erases the address from one locked row.
	 *
	 * @return string deleted, redacted, kept (queued for others, its bytes still naming the address) or sending.
	 */
	private static function erase_from_row( array $row, $email ) {
		global $wpdb;
		if ( self::STATUS_SENDING === $row['status'] ) {
			return 'sending';
		}
		$others = array_filter(
			self::recipient_entries( $row['recipients'] ),
			static function ( $entry ) use ( $email ) {
				return 0 !== strcasecmp( $entry['address'], $email );
			}
		);
		$fields = array();
		$queued = self::STATUS_QUEUED === $row['status'];
		if ( $queued ) {
			$envelope = (array) json_decode( (string) $row['envelope'], true );
			$left     = array_values(
				array_filter(
					(array) ( $envelope['to'] ?? array() ),
					static function ( $address ) use ( $email ) {
						return 0 !== strcasecmp( $address, $email );
					}
				)
			);
			if ( $left ) {
				$fields['envelope']        = wp_json_encode( array( 'from' => $envelope['from'] ?? '', 'to' => $left ) );
				$fields['recipient_count'] = count( $left );
				$fields['recipients']      = self::recipients_text( $others );
			} else {
				$queued = false;
				$fields = self::CANCELLED_FIELDS + array( 'error_message' => __( 'Cancelled: the personal data of the only recipient it still had to go to was erased.', 'rust-mail' ) );
			}
		}
		if ( ! $others ) {
			$wpdb->delete( self::table(), array( 'id' => (int) $row['id'] ), array( '%d' ) );
			return 'deleted';
		}
		if ( ! $queued ) {
			// Kept for "send again" only, and they name the address.
			$fields += array( 'raw' => null, 'mail_data' => null );
		}
		// The address wherever it is written (transcripts, refusals, a subject that names it), as a whole address.
		$pattern   = '/(?<![\w.!#$%&\'*+\/=?^`{|}~-])' . preg_quote( $email, '/' ) . '(?![\w-]|\.\w)/i';
		$anonymous = wp_privacy_anonymize_data( 'email' );
		$columns   = array( 'from_address', 'recipients', 'subject', 'reply', 'error_message', 'transcript', 'body', 'attempt_log', 'mail_data', 'envelope' );
		foreach ( $columns as $column ) {
			$value = array_key_exists( $column, $fields ) ? $fields[ $column ] : $row[ $column ];
			// A queued mail's envelope keeps its sender (MAIL FROM), or the mail could no longer be sent.
			if ( null !== $value && ! ( $queued && 'envelope' === $column ) ) {
				$fields[ $column ] = preg_replace( $pattern, $anonymous, (string) $value );
			}
		}
		$wpdb->update( self::table(), $fields, array( 'id' => (int) $row['id'] ) );
		return $queued && false !== stripos( Rust_Mail_Outbox::unseal( $row, 'outbox_raw' ), $email ) ? 'kept' : 'redacted';
	}
}
