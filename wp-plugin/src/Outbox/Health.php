<?php
/**
 * What is wrong with the outbox, for the admin notice and Site Health. Failures are incidents
 * (RustMail_Alerts_Incident), which the banner and Site Health show besides these.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Outbox_Health {

	/** A queued message older than this is "stuck" for the notice and Site Health. */
	const STUCK_AFTER = HOUR_IN_SECONDS;


	/**
	 * What is wrong with the outbox, for the admin notice, Site Health and the alert mail.
	 *
	 * @return array{stuck: int, oldest: string|null, failed_today: int, unconfirmed: int, cron_stopped: bool}
	 */
	public static function health() {
		global $wpdb;
		$table  = RustMail_Log_Store::table();
		$oldest = $wpdb->get_var( $wpdb->prepare( "SELECT MIN(created_at) FROM $table WHERE status IN (%s, %s)", RustMail_Log_Store::STATUS_QUEUED, RustMail_Log_Store::STATUS_SENDING ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$stuck  = null !== $oldest && strtotime( $oldest . ' UTC' ) < time() - self::STUCK_AFTER;
		$failed = (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM $table WHERE status = %s AND created_at > %s", RustMail_Log_Store::STATUS_FAILED, gmdate( 'Y-m-d H:i:s', time() - DAY_IN_SECONDS ) ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$unsure = (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM $table WHERE status = %s AND created_at > %s", RustMail_Log_Store::STATUS_UNCONFIRMED, gmdate( 'Y-m-d H:i:s', time() - DAY_IN_SECONDS ) ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$due    = (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM $table WHERE status = %s AND next_attempt_at < %s", RustMail_Log_Store::STATUS_QUEUED, gmdate( 'Y-m-d H:i:s', time() - 10 * MINUTE_IN_SECONDS ) ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$last   = (int) RustMail_Settings_Store::get_plugin_option( RustMail_Outbox_Drain::LAST_CRON_OPTION, 0 );
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
		if ( $health['unconfirmed'] ) {
			/* translators: %d: number of messages */
			$problems[] = sprintf( _n( '%d message is possibly sent: the process sending it stopped before the server\'s answer was recorded. The connection log lists it under "Possibly sent"; send it again if its recipients did not get it.', '%d messages are possibly sent: the process sending them stopped before the server\'s answer was recorded. The connection log lists them under "Possibly sent"; send them again if their recipients did not get them.', $health['unconfirmed'], 'rust-mail' ), $health['unconfirmed'] );
		}
		return $problems;
	}
}
