<?php
/**
 * Rate limits per connection (messages a minute, messages a day, recipients a day), counted from the log's own
 * record of what each connection delivered, so that every PHP process and web node sees the same count. Mail over a
 * limit waits in the outbox; it does not fail. Two processes deciding at the same instant may each send one more
 * than the limit: the limits are set below the provider's, as the presets do.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Outbox_Rate_Limit {

	/** Each limit: the window it counts over, and whether it counts messages or recipients. */
	const WINDOWS = array(
		'rate_per_minute'    => array( MINUTE_IN_SECONDS, 'messages' ),
		'rate_per_day'       => array( DAY_IN_SECONDS, 'messages' ),
		'recipients_per_day' => array( DAY_IN_SECONDS, 'recipients' ),
	);

	/**
	 * Seconds until a message with `$recipients` recipients may go through the connection without exceeding any of
	 * its limits; 0 when it may go now.
	 *
	 * @param string $connection the connection's name, as the log records it (primary, fallback, or its own).
	 * @param string $prefix     the connection's settings prefix.
	 */
	public static function wait_seconds( $connection, $prefix, $recipients ) {
		$wait = 0;
		foreach ( RustMail_Settings_Store::limits( $prefix ) as $key => $limit ) {
			list( $window, $counted ) = self::WINDOWS[ $key ];
			$wait = max( $wait, self::wait_in_window( $connection, $window, $limit, 'recipients' === $counted ? $recipients : 0 ) );
		}
		return $wait;
	}

	/**
	 * @param int $recipients 0 to count messages, else the recipients the message would add.
	 */
	private static function wait_in_window( $connection, $window, $limit, $recipients ) {
		global $wpdb;
		$table = RustMail_Log_Store::table();
		$since = gmdate( 'Y-m-d H:i:s', time() - $window );
		RustMail_Log_Store::write_deferred(); // This request's own deliveries count too.
		$used  = $wpdb->get_row( $wpdb->prepare( "SELECT COUNT(*) AS messages, COALESCE(SUM(recipient_count), 0) AS recipients, MIN(sent_at) AS oldest FROM $table WHERE connection = %s AND sent_at > %s", $connection, $since ), ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$fits  = $recipients ? (int) $used['recipients'] + $recipients <= $limit : (int) $used['messages'] < $limit;
		if ( $fits || null === $used['oldest'] ) {
			return 0;
		}
		// Until the oldest delivery in the window leaves it; the next try counts again.
		return max( 1, strtotime( $used['oldest'] . ' UTC' ) + $window - time() + 1 );
	}
}
