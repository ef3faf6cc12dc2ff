<?php
/**
 * What an alert says, the same on every channel: a title, lines of text, the link to the filtered log, and for the
 * generic webhook the incident's facts. RustMail_Alerts_Channels puts it in each channel's format.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Alerts_Message {

	/**
	 * @param string     $event    incident.failing, incident.resolved, test or summary (the webhook's `event`).
	 * @param string     $title    one line.
	 * @param string[]   $lines    the text, one paragraph each.
	 * @param string     $url      where to look (the filtered log), or ''.
	 * @param array|null $incident the facts of an incident, for the webhook.
	 * @return array{event: string, title: string, lines: string[], url: string, incident: array|null}
	 */
	private static function make( $event, $title, array $lines, $url, $incident = null ) {
		return array(
			'event'    => $event,
			/* translators: 1: site name, 2: what happened */
			'title'    => sprintf( __( '[%1$s] %2$s', 'rust-mail' ), self::site_name(), $title ),
			'lines'    => array_values( array_filter( $lines, 'strlen' ) ),
			'url'      => $url,
			'incident' => $incident,
		);
	}

	private static function site_name() {
		return wp_specialchars_decode( is_multisite() ? get_network()->site_name : get_bloginfo( 'name' ), ENT_QUOTES );
	}

	/** The failure alert: what failed (cause, advice, the first messages), since when, and the link. */
	public static function failing( array $incident ) {
		$explained  = RustMail_Alerts_Incident::explanation( $incident );
		$connection = RustMail_Settings_Connections::label( $incident['connection'] );
		$lines      = array(
			/* translators: 1: connection name, 2: what went wrong */
			sprintf( __( 'The %1$s connection fails: %2$s', 'rust-mail' ), $connection, $explained['cause'] ),
			/* translators: %s: date and time in UTC */
			sprintf( __( 'Since: %s UTC', 'rust-mail' ), $incident['since'] ),
		);
		foreach ( (array) $explained['advice'] as $advice ) {
			/* translators: %s: what to do */
			$lines[] = sprintf( __( 'What to do: %s', 'rust-mail' ), $advice );
		}
		/* translators: %d: number of messages */
		$lines[] = sprintf( _n( '%d message not delivered so far. The first:', '%d messages not delivered so far. The first:', $incident['undelivered'], 'rust-mail' ), $incident['undelivered'] );
		foreach ( $incident['mails'] as $mail ) {
			/* translators: 1: subject, 2: the plugin or theme that sent it */
			$lines[] = sprintf( __( '- "%1$s" from %2$s', 'rust-mail' ), $mail['subject'], RustMail_Mail_Caller::label( $mail['caller'] ) );
		}
		$lines[] = __( 'Failed mail waits in the outbox or can be sent again from the connection log. You get one more message when mail flows again.', 'rust-mail' );
		/* translators: %s: connection name */
		return self::make( 'incident.failing', sprintf( __( 'Mail is not going out (%s connection)', 'rust-mail' ), $connection ), $lines, RustMail_Alerts_Incident::log_url( $incident ), self::facts( $incident, $explained ) );
	}

	/** The "resolved" alert: mail flows again through the connection. */
	public static function resolved( array $incident ) {
		$connection = RustMail_Settings_Connections::label( $incident['connection'] );
		$lines      = array(
			/* translators: 1: connection name, 2: date and time in UTC, 3: date and time in UTC */
			sprintf( __( 'Mail goes out again through the %1$s connection since %3$s UTC. It failed from %2$s UTC.', 'rust-mail' ), $connection, $incident['since'], $incident['closed_at'] ),
			/* translators: %d: number of messages */
			sprintf( _n( '%d message was not delivered during the incident: the connection log lists it; send it again if it failed for good.', '%d messages were not delivered during the incident: the connection log lists them; send again those that failed for good.', $incident['undelivered'], 'rust-mail' ), $incident['undelivered'] ),
		);
		/* translators: %s: connection name */
		return self::make( 'incident.resolved', sprintf( __( 'Mail goes out again (%s connection)', 'rust-mail' ), $connection ), $lines, RustMail_Alerts_Incident::log_url( $incident ), self::facts( $incident, RustMail_Alerts_Incident::explanation( $incident ) ) );
	}

	/** The test alert a channel's button sends. */
	public static function test() {
		return self::make( 'test', __( 'Test alert from Rust Mail', 'rust-mail' ), array( __( 'This channel works: Rust Mail will tell you here when mail stops going out, and when it flows again.', 'rust-mail' ) ), RustMail_Log_Store::url() );
	}

	/**
	 * The weekly summary.
	 *
	 * @param array{sent: int, failed: int, queued: int, causes: array<string, int>, callers: array<string, int>} $figures
	 */
	public static function summary( array $figures ) {
		$lines = array(
			/* translators: 1: sent, 2: failed, 3: waiting in the outbox */
			sprintf( __( 'Last 7 days: %1$d sent, %2$d failed. Waiting in the outbox now: %3$d.', 'rust-mail' ), $figures['sent'], $figures['failed'], $figures['queued'] ),
		);
		if ( $figures['causes'] ) {
			$lines[] = __( 'Top causes of failure:', 'rust-mail' );
			foreach ( $figures['causes'] as $cause => $count ) {
				$lines[] = sprintf( '- %s: %d', $cause, $count );
			}
		}
		if ( $figures['callers'] ) {
			$lines[] = __( 'Top senders:', 'rust-mail' );
			foreach ( $figures['callers'] as $caller => $count ) {
				$lines[] = sprintf( '- %s: %d', RustMail_Mail_Caller::label( $caller ), $count );
			}
		}
		$message            = self::make( 'summary', __( 'Weekly mail summary', 'rust-mail' ), $lines, RustMail_Log_Store::url() );
		$message['summary'] = $figures;
		return $message;
	}

	/** The incident as the generic webhook sends it (its schema is in the readme). */
	private static function facts( array $incident, array $explained ) {
		return array(
			'id'          => $incident['id'],
			'connection'  => $incident['connection'],
			'since'       => gmdate( 'c', strtotime( $incident['since'] . ' UTC' ) ),
			'resolved_at' => empty( $incident['closed_at'] ) ? null : gmdate( 'c', strtotime( $incident['closed_at'] . ' UTC' ) ),
			'cause'       => $incident['cause'],
			'summary'     => $explained['cause'],
			'advice'      => array_values( (array) $explained['advice'] ),
			'failed'      => $incident['failed'],
			'undelivered' => $incident['undelivered'],
			'mails'       => array_map(
				static fn ( $mail ) => array( 'subject' => $mail['subject'], 'caller' => $mail['caller'], 'log_url' => RustMail_Log_Store::url( array( 'entry' => $mail['id'] ) ) ),
				$incident['mails']
			),
		);
	}

	/** The message as plain text: title, paragraphs, link. */
	public static function text( array $message, $with_title = true ) {
		$parts = $with_title ? array( $message['title'] ) : array();
		$parts = array_merge( $parts, $message['lines'] );
		if ( '' !== $message['url'] ) {
			$parts[] = $message['url'];
		}
		return implode( "\n", $parts );
	}
}
