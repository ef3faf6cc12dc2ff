<?php
/**
 * The connection log: one row per wp_mail() call, in a table of its own, purged after the retention period.
 * On multisite one table for the whole network (each row names its site), read only on the network admin screens.
 *
 * The same row is the message's place in the outbox (RustMail_Outbox_Drain): its composed bytes, envelope and attempts,
 * written in the one INSERT that logs it, before any network I/O (delivery "immediate": once, with the outcome). The
 * bytes are dropped once the message has its final outcome, unless it may be sent again (see
 * RustMail_Outbox_Outcome::finish()). `route` names the connection
 * its routing rules chose (RustMail_Settings_Routes), which every retry uses; `connection` the one that delivered it.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Log_Store {

	/** Bump when the table definition changes; maybe_upgrade() then runs dbDelta() again. */
	const DB_VERSION        = '5';
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

	/** The log's admin screen, which the alert mail links to too. */
	const PAGE = 'rust-mail-log';

	/** The log's screen (one entry with `entry`, one status with `status`): on multisite in the network admin. */
	public static function url( array $args = array() ) {
		$path = 'admin.php?page=' . self::PAGE;
		return add_query_arg( $args, is_multisite() ? network_admin_url( $path ) : admin_url( $path ) );
	}

	public static function table() {
		global $wpdb;
		return ( is_multisite() ? $wpdb->base_prefix : $wpdb->prefix ) . 'rust_mail_log';
	}

	public static function activate() {
		self::install_table();
		self::schedule_purge();
	}

	/** Creates or upgrades the table when the stored version differs (also covers updates by copying files). */
	public static function maybe_upgrade() {
		if ( RustMail_Settings_Store::get_plugin_option( self::DB_VERSION_OPTION ) !== self::DB_VERSION ) {
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
  connection varchar(64) NOT NULL DEFAULT '',
  route varchar(64) NOT NULL DEFAULT '',
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
		RustMail_Settings_Store::update_plugin_option( self::DB_VERSION_OPTION, self::DB_VERSION );
	}

	/**
	 * A stored message's bytes or core's arguments in clear. Every message is stored sealed (encrypted) where the site
	 * has a strong key, so that neither the database nor a dump of it holds a body, or a key it carries, in clear.
	 */
	public static function unseal( array $row, $field ) {
		$data = (string) $row[ 'outbox_raw' === $field ? 'raw' : 'mail_data' ];
		return empty( $row['sealed'] ) ? $data : (string) RustMail_Settings_Secrets::decrypt( $data, $field );
	}

	/**
	 * Rows add() was asked to defer: written together, in one INSERT, by write_deferred(). A commit per row costs more
	 * than sending the mail to a near server (each one waits for the database's log to reach the disk).
	 *
	 * @var array[]
	 */
	private static $deferred = array();

	/** When the oldest deferred row was added (microtime). */
	private static $deferred_since = 0.0;

	/** A deferred row waits at most this long, or until this many wait, or the end of the request, whichever first. */
	const DEFER_SECONDS = 0.2;
	const DEFER_ROWS    = 200;

	/**
	 * Adds one row. Missing fields get empty values; `transcript` is stored as JSON.
	 *
	 * @param bool $defer write it with the rows that follow, within DEFER_SECONDS (see write_deferred()): for the
	 *                    row of a message already sent, whose caller has its answer and needs no id.
	 * @return int the new row's id; 0 when it could not be written, or is deferred.
	 */
	public static function add( array $row, $defer = false ) {
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
		foreach ( array( 'transcript', 'envelope', 'mail_data', 'attempt_log' ) as $json ) {
			if ( isset( $row[ $json ] ) && ! is_string( $row[ $json ] ) ) {
				$row[ $json ] = wp_json_encode( $row[ $json ] );
			}
		}
		// Once `shutdown` has begun, write_deferred() may have run already: a mail sent from then on is written at once.
		if ( $defer && ! did_action( 'shutdown' ) ) {
			if ( ! self::$deferred ) {
				self::$deferred_since = microtime( true );
				if ( ! has_action( 'shutdown', array( __CLASS__, 'write_deferred' ) ) ) {
					add_action( 'shutdown', array( __CLASS__, 'write_deferred' ), 0 );
				}
			}
			self::$deferred[] = $row;
			if ( count( self::$deferred ) >= self::DEFER_ROWS || microtime( true ) - self::$deferred_since >= self::DEFER_SECONDS ) {
				self::write_deferred();
			}
			return 0;
		}
		// Rows keep the order of their messages.
		self::write_deferred();
		return self::insert_one( $row );
	}

	/** The table must never stop mail: a failed insert is only reported to the debug log. */
	private static function insert_one( array $row ) {
		global $wpdb;
		$long = array_filter( $row, static fn ( $value ) => is_string( $value ) && strlen( $value ) >= self::LONG_VALUE );
		// Core's wpdb only: a db.php drop-in (HyperDB, LudicrousDB) may send writes elsewhere than its last connection.
		if ( $long && 'wpdb' === get_class( $wpdb ) && $wpdb->dbh instanceof mysqli ) {
			$id = self::insert_streaming( $row, array_keys( $long ) );
		} else {
			$id = false === $wpdb->insert( self::table(), $row ) ? 0 : (int) $wpdb->insert_id;
		}
		if ( ! $id && defined( 'WP_DEBUG' ) && WP_DEBUG ) {
			error_log( 'rust-mail: could not write the connection log: ' . $wpdb->last_error ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions
		}
		return $id;
	}

	/** A value this long (a message's bytes) goes to the database in chunks, never inside an SQL string. */
	const LONG_VALUE = 65536;
	const CHUNK      = 1048576;

	/**
	 * Inserts a row through a prepared statement on wpdb's connection, sending its long values in chunks: wpdb::insert()
	 * would build one SQL string with every value escaped in it, several copies of a large message at once. Every
	 * text value is checked first as wpdb::insert() checks it: a value the column cannot hold refuses the row.
	 *
	 * @param string[] $long the columns whose values are sent in chunks.
	 * @return int the new row's id; 0 when it could not be written (the reason in $wpdb->last_error).
	 */
	private static function insert_streaming( array $row, array $long ) {
		global $wpdb;
		$table = self::table();
		$types = '';
		$bound = array();
		foreach ( $row as $column => $value ) {
			$checked = $wpdb->strip_invalid_text_for_column( $table, $column, $value );
			if ( $checked !== $value ) {
				$wpdb->last_error = is_wp_error( $checked ) ? $checked->get_error_message() : "Invalid text in column $column.";
				return 0;
			}
			$is_long = in_array( $column, $long, true );
			$types  .= $is_long ? 'b' : 's';
			$bound[] = $is_long || null === $value ? null : (string) ( is_bool( $value ) ? (int) $value : $value );
		}
		try {
			$statement = $wpdb->dbh->prepare( "INSERT INTO $table (`" . implode( '`,`', array_keys( $row ) ) . '`) VALUES (' . implode( ',', array_fill( 0, count( $row ), '?' ) ) . ')' );
			if ( ! $statement ) {
				$wpdb->last_error = $wpdb->dbh->error;
				return 0;
			}
			$statement->bind_param( $types, ...$bound );
			$positions = array_flip( array_keys( $row ) );
			foreach ( $long as $column ) {
				for ( $offset = 0; $offset < strlen( $row[ $column ] ); $offset += self::CHUNK ) {
					$statement->send_long_data( $positions[ $column ], substr( $row[ $column ], $offset, self::CHUNK ) );
				}
			}
			$id               = $statement->execute() ? (int) $statement->insert_id : 0;
			$wpdb->last_error = $id ? '' : $statement->error;
			$statement->close();
			return $id;
		} catch ( mysqli_sql_exception $e ) {
			// A site (another plugin) that turned mysqli's exceptions on: the row is lost, not the mail.
			$wpdb->last_error = $e->getMessage();
			return 0;
		}
	}

	/**
	 * Writes the deferred rows: one INSERT for the rows that have the same columns. When the database refuses it (a
	 * value it cannot store), each row goes on its own, so that only that row is lost, as add() would lose it.
	 * Everything that reads the log in this request calls it first; `shutdown` calls it last.
	 */
	public static function write_deferred() {
		global $wpdb;
		$rows           = self::$deferred;
		self::$deferred = array();
		$groups         = array();
		foreach ( $rows as $row ) {
			$groups[ implode( ',', array_keys( $row ) ) ][] = $row;
		}
		foreach ( $groups as $group ) {
			$tuples = array();
			foreach ( $group as $row ) {
				$tuples[] = '(' . implode( ',', array_map( array( __CLASS__, 'sql_value' ), $row ) ) . ')';
			}
			$sql = 'INSERT INTO ' . self::table() . ' (`' . implode( '`,`', array_keys( $group[0] ) ) . '`) VALUES ' . implode( ',', $tuples );
			if ( false === $wpdb->query( $sql ) ) { // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared -- each value through sql_value().
				array_map( array( __CLASS__, 'insert_one' ), $group );
			}
		}
	}

	/** A value for a statement written without wpdb::prepare() (many rows at once): NULL, or a quoted string. */
	public static function sql_value( $value ) {
		global $wpdb;
		if ( null === $value ) {
			return 'NULL';
		}
		return "'" . $wpdb->_real_escape( (string) ( is_bool( $value ) ? (int) $value : $value ) ) . "'";
	}

	public static function get( $id ) {
		global $wpdb;
		self::write_deferred();
		$table = self::table();
		$row   = $wpdb->get_row( $wpdb->prepare( "SELECT * FROM $table WHERE id = %d", $id ), ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		if ( $row ) {
			// mail_data stays as stored: it may be sealed (see unseal()).
			foreach ( array( 'transcript', 'envelope', 'attempt_log' ) as $json ) {
				$row[ $json ] = json_decode( (string) $row[ $json ], true ) ?: array();
			}
		}
		return $row;
	}

	/**
	 * The WHERE clause of the list page's filters, for query() and the CSV export.
	 *
	 * @param array $args status ('' for all), cause, search, since / until: days (Y-m-d) in the site's time zone,
	 *                    both included, and before_id (rows older than that one).
	 * @return array{0: string, 1: array} the clause and its parameters for $wpdb->prepare().
	 */
	private static function filter_clause( array $args ) {
		global $wpdb;
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
		// Rows are stored in UTC; the admin picks days on the site's calendar.
		if ( ! empty( $args['since'] ) ) {
			$where[]  = 'created_at >= %s';
			$params[] = self::utc_day_start( $args['since'], 0 );
		}
		if ( ! empty( $args['until'] ) ) {
			$where[]  = 'created_at < %s';
			$params[] = self::utc_day_start( $args['until'], 1 );
		}
		if ( ! empty( $args['before_id'] ) ) {
			$where[]  = 'id < %d';
			$params[] = (int) $args['before_id'];
		}
		return array( implode( ' AND ', $where ), $params );
	}

	/** The UTC time at which the site's day `$day` (Y-m-d) plus `$days_later` days begins. */
	private static function utc_day_start( $day, $days_later ) {
		$start = new DateTimeImmutable( $day . ' 00:00:00', wp_timezone() );
		return $start->modify( "+$days_later day" )->setTimezone( new DateTimeZone( 'UTC' ) )->format( 'Y-m-d H:i:s' );
	}

	/** A day as the list's date filter takes it (Y-m-d, a real date), or ''. */
	public static function sanitize_day( $day ) {
		$day   = (string) $day;
		$parts = array_map( 'intval', explode( '-', $day ) );
		return 1 === preg_match( '/^\d{4}-\d{2}-\d{2}$/', $day ) && checkdate( $parts[1], $parts[2], $parts[0] ) ? $day : '';
	}

	/**
	 * Rows for the list page, newest first.
	 *
	 * @param array $args the filters of filter_clause(), per_page, page.
	 * @return array{rows: array, total: int}
	 */
	public static function query( array $args ) {
		global $wpdb;
		self::write_deferred();
		$table = self::table();
		list( $where_sql, $params ) = self::filter_clause( $args );
		$count_sql = "SELECT COUNT(*) FROM $table WHERE $where_sql";
		$total     = (int) $wpdb->get_var( $params ? $wpdb->prepare( $count_sql, $params ) : $count_sql ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared

		$per_page = max( 1, (int) $args['per_page'] );
		$offset   = max( 0, ( (int) $args['page'] - 1 ) * $per_page );
		$rows_sql = "SELECT id, created_at, blog_id, status, from_address, recipients, subject, smtp_code, enhanced_code, error_kind, error_cause, error_message, duration_ms, caller, attempts, next_attempt_at, connection, route
			FROM $table WHERE $where_sql ORDER BY id DESC LIMIT %d OFFSET %d";
		$rows     = $wpdb->get_results( $wpdb->prepare( $rows_sql, array_merge( $params, array( $per_page, $offset ) ) ), ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
		return array( 'rows' => $rows, 'total' => $total );
	}

	/**
	 * Every row the filters select, newest first, in batches: an export of a large log never holds it whole. Each
	 * batch starts below the last id seen, so mail logged during the export shifts nothing.
	 *
	 * @param array $args the filters of filter_clause().
	 * @return Generator<array> rows as query() returns them.
	 */
	public static function each_row( array $args ) {
		$batch = 500;
		$args  = array_merge( $args, array( 'per_page' => $batch, 'page' => 1 ) );
		do {
			$rows = self::query( $args )['rows'];
			yield from $rows;
			$args['before_id'] = $rows ? end( $rows )['id'] : 0;
		} while ( count( $rows ) === $batch );
	}

	/**
	 * Deletes log rows, never a message that is being sent or still waits (cancel it first).
	 *
	 * @param int[] $ids
	 * @return int how many were deleted.
	 */
	public static function delete( array $ids ) {
		$ids = array_filter( array_map( 'absint', $ids ) );
		return $ids ? self::delete_final_in_batches( 'id IN (' . implode( ',', $ids ) . ')' ) : 0;
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

	/** How many rows one DELETE of the purge removes: a large log is trimmed without holding its table for long. */
	const PURGE_BATCH = 1000;

	/**
	 * The scheduled purge (daily): deletes rows older than the retention period, then the oldest rows beyond the
	 * size cap (`log_max_rows`), in batches; never a message still to be sent.
	 *
	 * @return int how many rows were deleted.
	 */
	public static function purge_expired() {
		global $wpdb;
		$table   = self::table();
		$days    = max( 1, (int) RustMail_Settings_Store::get( 'retention_days' ) );
		$deleted = self::delete_final_in_batches( $wpdb->prepare( 'created_at < %s', gmdate( 'Y-m-d H:i:s', time() - $days * DAY_IN_SECONDS ) ) );
		// The newest row past the cap: it and every older one go.
		$boundary = (int) $wpdb->get_var( $wpdb->prepare( "SELECT id FROM $table ORDER BY id DESC LIMIT 1 OFFSET %d", max( 1, (int) RustMail_Settings_Store::get( 'log_max_rows' ) ) ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		if ( $boundary ) {
			$deleted += self::delete_final_in_batches( $wpdb->prepare( 'id <= %d', $boundary ) );
		}
		return $deleted;
	}

	/** Deletes the rows in a final status that `$condition` (prepared SQL, or integers) selects, oldest first, a batch at a time. */
	private static function delete_final_in_batches( $condition ) {
		global $wpdb;
		$table   = self::table();
		$final   = "'" . implode( "','", self::FINAL_STATUSES ) . "'";
		$deleted = 0;
		do {
			$batch    = (int) $wpdb->query( "DELETE FROM $table WHERE $condition AND status IN ($final) ORDER BY id LIMIT " . self::PURGE_BATCH ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- prepared by the callers; constants.
			$deleted += $batch;
		} while ( self::PURGE_BATCH === $batch );
		return $deleted;
	}

	/** @return array<string, string> every status with its label, in the order the log's views list them */
	public static function status_labels() {
		return array(
			RustMail_Log_Store::STATUS_SENT      => __( 'Sent', 'rust-mail' ),
			RustMail_Log_Store::STATUS_FAILED    => __( 'Failed', 'rust-mail' ),
			RustMail_Log_Store::STATUS_PARTIAL   => __( 'Partly sent', 'rust-mail' ),
			RustMail_Log_Store::STATUS_QUEUED    => __( 'Queued', 'rust-mail' ),
			RustMail_Log_Store::STATUS_SENDING   => __( 'Sending', 'rust-mail' ),
			RustMail_Log_Store::STATUS_CANCELLED => __( 'Cancelled', 'rust-mail' ),
			RustMail_Log_Store::STATUS_UNCONFIRMED => __( 'Possibly sent', 'rust-mail' ),
		);
	}

	public static function status_label( $status ) {
		return self::status_labels()[ $status ] ?? $status;
	}
}
