<?php
/**
 * What is wrong with the outbox, for the admin notice, Site Health and the alert mail.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Outbox_Health {

	/** Option: when the last alert mail went to the administrator (at most one an hour). */
	const LAST_ALERT_OPTION = 'rust_mail_last_alert';

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
		if ( ! RustMail_Settings_Store::get( 'alert_mail' ) ) {
			return;
		}
		$last     = (int) RustMail_Settings_Store::get_plugin_option( self::LAST_ALERT_OPTION, 0 );
		$problems = self::problems();
		if ( ! $problems || $last > time() - HOUR_IN_SECONDS ) {
			return;
		}
		RustMail_Settings_Store::update_plugin_option( self::LAST_ALERT_OPTION, time() );
		$admin  = is_multisite() ? get_site_option( 'admin_email' ) : get_option( 'admin_email' );
		$from   = (string) RustMail_Settings_Store::get( 'from' );
		$prefix = RustMail_Settings_Store::has_fallback() ? RustMail_Settings_Schema::FALLBACK : '';
		try {
			RustMail_Transport_Registry::send_text(
				is_email( $from ) ? $from : $admin,
				$admin,
				/* translators: %s: site name */
				sprintf( __( '[%s] Mail is not going out', 'rust-mail' ), wp_specialchars_decode( get_bloginfo( 'name' ), ENT_QUOTES ) ),
				implode( "\n\n", $problems ) . "\n\n" . RustMail_Log_Store::url() . "\n",
				RustMail_Transport_Connection::transport( true, $prefix )
			);
		} catch ( Throwable $e ) {
			// The alert is a courtesy: the notice and Site Health still say it.
			return;
		}
	}
}
