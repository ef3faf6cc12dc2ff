<?php
/**
 * Header lines within RFC 5322's 998 octets, as a pure function over the header section (no WordPress, no I/O).
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Mail_Header_Lines {

	/** RFC 5322 2.1.1: no line of a message may be longer than this, CRLF not counted. */
	const MAX_LINE_OCTETS = 998;

	/**
	 * Folds every header line longer than 998 octets (RFC 5322 2.1.1), as often as needed: before its last whitespace
	 * within the limit that follows the field's first word, else by splitting the encoded-word that crosses the limit
	 * in two (RFC 2047 6.2: the whitespace between two encoded-words is not part of the text). PHPMailer (6.6 and
	 * others) wraps a long subject's encoded-words at 998 octets without counting "Subject: ", so its first line is
	 * 1,006 octets long, and a server that enforces the limit refuses the whole message. Lines within the limit are
	 * left as they are: every other message keeps stock's bytes. A line with neither stays as it is.
	 *
	 * @param string $header the header section, CRLF between lines.
	 */
	public static function fold( $header ) {
		$lines = array();
		foreach ( explode( "\r\n", $header ) as $line ) {
			while ( strlen( $line ) > self::MAX_LINE_OCTETS ) {
				$split = self::fold_point( $line );
				if ( null === $split ) {
					break;
				}
				$lines[] = $split[0];
				$line    = $split[1];
			}
			$lines[] = $line;
		}
		return implode( "\r\n", $lines );
	}

	/** @return array{0: string, 1: string}|null a long line's first line and the rest (starting with a space), or null */
	private static function fold_point( $line ) {
		$head = substr( $line, 0, self::MAX_LINE_OCTETS + 1 );
		// A fold at whitespace, once the field has some text: a fold right after "Name:" would start the value with it.
		if ( preg_match( '/^(\s*\S+[ \t]+\S.*)[ \t]/s', $head, $match ) ) {
			return array( substr( $line, 0, strlen( $match[1] ) ), substr( $line, strlen( $match[1] ) ) );
		}
		if ( ! preg_match_all( '/=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=/', $line, $words, PREG_OFFSET_CAPTURE | PREG_SET_ORDER ) ) {
			return null;
		}
		foreach ( $words as $word ) {
			$start = $word[0][1];
			if ( $start + strlen( $word[0][0] ) <= self::MAX_LINE_OCTETS ) {
				continue;
			}
			$open = '=?' . $word[1][0] . '?' . $word[2][0] . '?';
			$text = $word[3][0];
			// As much of the text as fits before the limit with "?=" after it, not inside a Q "=XX" nor a B quartet.
			$take = self::MAX_LINE_OCTETS - $start - strlen( $open ) - 2;
			if ( 'b' === strtolower( $word[2][0] ) ) {
				$take -= $take % 4;
			} else {
				$equals = strrpos( substr( $text, 0, max( 0, $take ) ), '=' );
				$take   = false !== $equals && $equals > $take - 3 ? $equals : $take;
			}
			if ( $take < 1 ) {
				return null;
			}
			return array(
				substr( $line, 0, $start ) . $open . substr( $text, 0, $take ) . '?=',
				' ' . $open . substr( $text, $take ) . '?=' . substr( $line, $start + strlen( $word[0][0] ) ),
			);
		}
		return null;
	}
}
