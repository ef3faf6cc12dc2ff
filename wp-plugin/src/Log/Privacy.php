<?php
/**
 * Personal data: the log's rows about an address, for Tools > Export Personal Data and Erase Personal Data.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Log_Privacy {


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
		$table = RustMail_Log_Store::table();
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
				__( 'Status', 'rust-mail' )       => RustMail_Log_Store::status_label( $row['status'] ),
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
			$row        = $wpdb->get_row( $wpdb->prepare( 'SELECT * FROM ' . RustMail_Log_Store::table() . ' WHERE id = %d FOR UPDATE', $row['id'] ), ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
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
				max( 1, (int) RustMail_Settings_Store::get( 'retention_days' ), (int) ceil( (int) RustMail_Settings_Store::get( 'retry_hours' ) / 24 ) )
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
		if ( RustMail_Log_Store::STATUS_SENDING === $row['status'] ) {
			return 'sending';
		}
		$others = array_filter(
			self::recipient_entries( $row['recipients'] ),
			static function ( $entry ) use ( $email ) {
				return 0 !== strcasecmp( $entry['address'], $email );
			}
		);
		$fields = array();
		$queued = RustMail_Log_Store::STATUS_QUEUED === $row['status'];
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
				$fields = RustMail_Log_Store::CANCELLED_FIELDS + array( 'error_message' => __( 'Cancelled: the personal data of the only recipient it still had to go to was erased.', 'rust-mail' ) );
			}
		}
		if ( ! $others ) {
			$wpdb->delete( RustMail_Log_Store::table(), array( 'id' => (int) $row['id'] ), array( '%d' ) );
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
		$wpdb->update( RustMail_Log_Store::table(), $fields, array( 'id' => (int) $row['id'] ) );
		return $queued && false !== stripos( RustMail_Log_Store::unseal( $row, 'outbox_raw' ), $email ) ? 'kept' : 'redacted';
	}
}
