<?php
/**
 * Core's wp_mail() arguments, which a queued message's outcome announces (RustMail_Outbox_Outcome::announce()), are
 * stored without the message's body where the composed bytes hold that body exactly: a large mail is then stored
 * once, not twice. The body is cut out of the bytes again when the outcome is announced. Rows stored with the body
 * in their arguments (before this, or a body the bytes do not hold as it was given) are announced as they are.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Outbox_Core_Data {

	/** In stored arguments whose `message` was left out: where it is in the bytes (line ends, offset, length). */
	const MESSAGE_IN_RAW = 'rust_mail_message_in_raw';

	/** Bytes of a body turned into CRLF line ends at a time, to compare it with the bytes without a copy of it whole. */
	const CHUNK = 1048576;

	/**
	 * Where a body may begin: after each of the first empty lines, which end the header (a single-part mail), and in
	 * a mail with attachments the preamble ("This is a multi-part message in MIME format.") and the header of its
	 * first part, the text.
	 */
	const BODY_STARTS = 3;

	/**
	 * The arguments to store for a message composed into `$raw`: without `message` where `$raw` holds it after one of
	 * the first empty lines (BODY_STARTS), as PHPMailer writes a 7bit or 8bit body: the same bytes, or with its LF line
	 * ends as CRLF. Otherwise (an encoded body, an HTML mail with its text version first, mixed line ends) as they are.
	 */
	public static function for_storing( array $data, $raw ) {
		$message = $data['message'] ?? null;
		if ( ! is_string( $message ) || '' === $message || ! is_string( $raw ) ) {
			return $data;
		}
		$lf_only = false === strpos( $message, "\r" );
		for ( $start = 0, $tries = 0; $tries < self::BODY_STARTS && false !== ( $start = strpos( $raw, "\r\n\r\n", $start ) ); $tries++ ) {
			$start += 4;
			if ( self::holds_at( $raw, $start, $message ) ) {
				$found = array( 'same', $start, strlen( $message ) );
			} elseif ( $lf_only && self::holds_crlf_at( $raw, $start, $message ) ) {
				$found = array( 'lf', $start, strlen( $message ) + substr_count( $message, "\n" ) );
			} else {
				continue;
			}
			$data['message']              = '';
			$data[ self::MESSAGE_IN_RAW ] = $found;
			return $data;
		}
		return $data;
	}

	/**
	 * The stored arguments as core gave them: the message cut out of the row's bytes again where for_storing() left
	 * it out.
	 */
	public static function for_announcing( array $data, array $row ) {
		if ( ! isset( $data[ self::MESSAGE_IN_RAW ] ) ) {
			return $data;
		}
		list( $line_ends, $start, $length ) = $data[ self::MESSAGE_IN_RAW ];
		unset( $data[ self::MESSAGE_IN_RAW ] );
		$message         = substr( RustMail_Log_Store::unseal( $row, 'outbox_raw' ), $start, $length );
		$data['message'] = 'lf' === $line_ends ? str_replace( "\r\n", "\n", $message ) : $message;
		return $data;
	}

	private static function holds_at( $raw, $start, $message ) {
		return strlen( $raw ) - $start >= strlen( $message ) && 0 === substr_compare( $raw, $message, $start, strlen( $message ) );
	}

	/** Whether `$raw` holds `$message` (LF line ends only) at `$start` with CRLF line ends. */
	private static function holds_crlf_at( $raw, $start, $message ) {
		for ( $offset = 0; $offset < strlen( $message ); $offset += self::CHUNK ) {
			$chunk = str_replace( "\n", "\r\n", substr( $message, $offset, self::CHUNK ) );
			if ( ! self::holds_at( $raw, $start, $chunk ) ) {
				return false;
			}
			$start += strlen( $chunk );
		}
		return true;
	}
}
