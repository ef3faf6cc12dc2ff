<?php
/**
 * The weekly summary, off by default: sent, failed and queued mail, the top causes of failure and the top senders,
 * to every alert channel, by WP-Cron once a week while it is on.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Alerts_Summary {

	const CRON_HOOK = 'rust_mail_weekly_summary';

	/** How many causes and senders the summary names. */
	const TOP = 5;

	public static function register() {
		add_action( self::CRON_HOOK, array( __CLASS__, 'send' ) );
	}

	/**
	 * The weekly event exists exactly while the summary is on: called when the alert settings are saved (not on every
	 * request, which would read the option on every page a visitor opens).
	 */
	public static function schedule() {
		$on   = RustMail_Alerts_Channels::settings()['summary'];
		$next = wp_next_scheduled( self::CRON_HOOK );
		if ( $on && ! $next ) {
			wp_schedule_event( time() + WEEK_IN_SECONDS, 'weekly', self::CRON_HOOK );
		} elseif ( ! $on && $next ) {
			wp_clear_scheduled_hook( self::CRON_HOOK );
		}
	}

	/**
	 * The last seven days' figures.
	 *
	 * @return array{sent: int, failed: int, queued: int, causes: array<string, int>, callers: array<string, int>}
	 */
	public static function figures() {
		global $wpdb;
		$table  = RustMail_Log_Store::table();
		$since  = gmdate( 'Y-m-d H:i:s', time() - WEEK_IN_SECONDS );
		$count  = static fn ( $status ) => (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM $table WHERE status = %s AND created_at >= %s", $status, $since ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$top    = static fn ( $column, $where ) => array_map( 'intval', array_column( $wpdb->get_results( $wpdb->prepare( "SELECT $column AS name, COUNT(*) AS n FROM $table WHERE $where AND created_at >= %s AND $column <> '' GROUP BY $column ORDER BY n DESC, name LIMIT %d", $since, self::TOP ), ARRAY_A ), 'n', 'name' ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		return array(
			'sent'    => $count( RustMail_Log_Store::STATUS_SENT ),
			'failed'  => $count( RustMail_Log_Store::STATUS_FAILED ),
			'queued'  => RustMail_Admin_Notices::queued_count(),
			'causes'  => $top( 'error_cause', $wpdb->prepare( 'status = %s', RustMail_Log_Store::STATUS_FAILED ) ),
			'callers' => $top( 'caller', '1=1' ),
		);
	}

	/** WP-Cron, weekly: the summary to every channel; an event left from a summary switched off is removed. */
	public static function send() {
		if ( RustMail_Alerts_Channels::settings()['summary'] ) {
			RustMail_Alerts_Channels::send_all( RustMail_Alerts_Message::summary( self::figures() ) );
		} else {
			self::schedule();
		}
	}
}
