<?php
/**
 * PHPMailer's SMTP client, with the changes the PHPMailer engine needs: STARTTLS with the TLS versions the settings
 * allow, the message written in one piece with its lines as the extension puts them on the wire, replies bounded as the
 * extension bounds them, the connected peer's address, and a transcript that never holds a body or a credential.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Transport_Smtp_Client extends PHPMailer\PHPMailer\SMTP {

	/** client_send()'s name for the message body, which the transcript notes by its size only. */
	const BODY = 'message body';

	/**
	 * The extension's bounds on a reply (src/smtp/client/connection.rs): the longest real replies (an EHLO list, a 5xx
	 * with a help text) are a few KiB, so a reply past these comes from a broken or hostile server.
	 */
	const MAX_LINE        = 16384;
	const MAX_REPLY_LINES = 1000;
	const MAX_REPLY_BYTES = 65536;

	/**
	 * The stage of the session whose reply is read, by PHPMailer's name for the command sent, as the extension's errors
	 * name stages. Any other name is AUTH's: 'AUTH' and its SASL answers ('User & Password', 'Username', 'Password').
	 */
	const STAGES = array(
		'EHLO'      => 'ehlo',
		'HELO'      => 'ehlo',
		'STARTTLS'  => 'starttls',
		'MAIL FROM' => 'mail',
		'RCPT TO'   => 'rcpt',
		'DATA'      => 'data',
		self::BODY  => 'message',
		'RSET'      => 'rset',
		'QUIT'      => 'quit',
	);

	/** Before any command, the reply read is the greeting. */
	private $stage = 'greeting';

	/** PHP's warnings during this connection (socket and TLS errors), which PHPMailer overwrites with its own words. */
	private $warnings = array();

	/** STREAM_CRYPTO_METHOD_* flags: TLS 1.2 and 1.3, or 1.3 only. */
	public $crypto_method = 0;

	/**
	 * PHPMailer's own startTLS() also allows TLS 1.0 and 1.1 (RFC 8996 retired them) and ignores the settings.
	 * The certificate checks (verify_peer, cafile, peer_name) come from the connection's stream context.
	 */
	public function startTLS() {
		if ( ! $this->sendCommand( 'STARTTLS', 'STARTTLS', 220 ) ) {
			return false;
		}
		set_error_handler( array( $this, 'errorHandler' ) ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions
		$ok = stream_socket_enable_crypto( $this->smtp_conn, true, $this->crypto_method );
		restore_error_handler();
		return (bool) $ok;
	}

	/**
	 * The message and its final dot in one write, where PHPMailer writes line by line and then the dot, and waits for a
	 * delayed ACK (about 40 ms a message, even on loopback). The lines are the extension's (src/smtp/data.rs): each
	 * bare CR and bare LF becomes a CRLF of its own, and each line that starts with a dot gets another (RFC 5321
	 * section 4.5.2). Left as they are, "\r.\r\n" or "\n.\n" in a message ends DATA early on a receiver that takes a
	 * bare CR or LF as a line end, and what follows is read as a second message nobody checked (SMTP smuggling).
	 */
	public function data( $message ) {
		if ( ! $this->sendCommand( 'DATA', 'DATA', 354 ) ) {
			return false;
		}
		// CRLF first, so that a CR right before an LF stays one line end; every line end is CRLF when ^ is sought.
		$wire = preg_replace( array( '/\r\n|\r|\n/', '/^\./m' ), array( "\r\n", '..' ), $message );
		// The terminating dot must start a line of its own; an empty message is one empty line.
		if ( '' === $wire || "\r\n" !== substr( $wire, -2 ) ) {
			$wire .= "\r\n";
		}
		$this->edebug( sprintf( '[message: %d bytes]', strlen( $message ) ), self::DEBUG_CLIENT );
		$this->edebug( 'CLIENT -> SERVER: .', self::DEBUG_CLIENT );
		$this->client_send( $wire . ".\r\n", self::BODY );
		$this->last_reply = $this->get_lines();
		$this->edebug( 'SERVER -> CLIENT: ' . $this->last_reply, self::DEBUG_SERVER );
		if ( 250 === (int) substr( $this->last_reply, 0, 3 ) ) {
			return true;
		}
		$this->setError( 'DATA END command failed', $this->last_reply, substr( $this->last_reply, 0, 3 ) );
		return false;
	}

	/** The body is noted once by data(); an AUTH line keeps its mechanism and loses its payload. */
	public function client_send( $data, $command = '' ) {
		$this->stage = self::STAGES[ $command ] ?? 'auth';
		if ( self::BODY === $command ) {
			return $this->write_unlogged( $data );
		}
		if ( 'AUTH' === $command && preg_match( '/^AUTH \S+ /', $data ) ) {
			$this->edebug( 'CLIENT -> SERVER: ' . strtok( $data, ' ' ) . ' ' . strtok( ' ' ) . ' ' . RustMail_Explain_Redactor::marker(), self::DEBUG_CLIENT );
			return $this->write_unlogged( $data );
		}
		return parent::client_send( $data, $command );
	}

	/**
	 * A reply, read as PHPMailer reads it (511 bytes at a time, each read waiting at most Timeout seconds, the reply at
	 * most Timelimit), within the extension's bounds: PHPMailer's own get_lines() keeps every line a server sends, and
	 * a reply continued forever ends the request at PHP's memory limit. A reply past the bounds closes the connection
	 * (it is in the middle of a reply) and throws.
	 *
	 * @throws RustMail_Transport_Reply_Too_Large naming the bound and the stage.
	 */
	protected function get_lines() {
		if ( ! is_resource( $this->smtp_conn ) ) {
			return '';
		}
		stream_set_timeout( $this->smtp_conn, $this->Timeout );
		$ends  = microtime( true ) + $this->Timelimit;
		$reply = '';
		$line  = '';
		$lines = 0;
		while ( microtime( true ) < $ends ) {
			$piece = fgets( $this->smtp_conn, self::MAX_REPLY_LENGTH );
			if ( false === $piece ) {
				break; // Closed, or silent for Timeout seconds: the caller finds no complete reply.
			}
			$reply .= $piece;
			$line  .= $piece;
			$ended  = "\n" === substr( $line, -1 );
			$lines += $ended ? 1 : 0;
			$problem = self::reply_size_problem( $line, $ended, $lines, strlen( $reply ) );
			if ( '' !== $problem ) {
				$this->edebug( 'SERVER -> CLIENT: ' . $reply, self::DEBUG_SERVER );
				$this->close();
				throw new RustMail_Transport_Reply_Too_Large( $problem, $this->stage );
			}
			if ( ! $ended ) {
				continue;
			}
			// PHPMailer's end of a reply: a space (or nothing) after the code, where a continuation has a hyphen.
			if ( ! isset( $line[3] ) || in_array( $line[3], array( ' ', "\r", "\n" ), true ) ) {
				break;
			}
			$line = '';
		}
		return $reply;
	}

	/** Why a reply is refused, in the extension's words; '' while it is within the bounds. */
	private static function reply_size_problem( $line, $ended, $lines, $bytes ) {
		if ( ! $ended && strlen( $line ) >= self::MAX_LINE ) {
			$problem = sprintf( 'a reply line longer than %d KiB', self::MAX_LINE / 1024 );
		} elseif ( $lines > self::MAX_REPLY_LINES ) {
			$problem = sprintf( 'a reply of more than %d lines', self::MAX_REPLY_LINES );
		} elseif ( $bytes > self::MAX_REPLY_BYTES ) {
			$problem = sprintf( 'a reply of more than %d KiB', self::MAX_REPLY_BYTES / 1024 );
		} else {
			return '';
		}
		return "the server sent {$problem}, the most this client reads";
	}

	/**
	 * QUIT's answer changes nothing (the message was accepted or refused before it): a reply too large ends the
	 * connection, not the send.
	 */
	public function quit( $close_on_error = true ) {
		try {
			return parent::quit( $close_on_error );
		} catch ( RustMail_Transport_Reply_Too_Large $e ) {
			return false;
		}
	}

	/** The server's address as connected, not its name ("192.0.2.7:587", "[::1]:25"); '' without a connection. */
	public function peer() {
		return is_resource( $this->smtp_conn ) ? (string) stream_socket_get_name( $this->smtp_conn, true ) : '';
	}

	/**
	 * Whether the connected server is on loopback: 127.0.0.0/8 or ::1 (also as ::ffff:127.x.y.z), as the extension
	 * decides it (src/smtp/client/auth.rs). By the address connected to, since a name proves nothing: a name may
	 * start with "127." and point anywhere.
	 */
	public function peer_is_loopback() {
		$peer    = $this->peer();
		$address = trim( substr( $peer, 0, (int) strrpos( $peer, ':' ) ), '[]' );
		if ( ! filter_var( $address, FILTER_VALIDATE_IP ) ) {
			return false;
		}
		$packed = inet_pton( $address );
		if ( 0 === strpos( $packed, str_repeat( "\0", 10 ) . "\xff\xff" ) ) {
			$packed = substr( $packed, 12 ); // An IPv4-mapped IPv6 address is its IPv4 address.
		}
		return ( 4 === strlen( $packed ) && "\x7f" === $packed[0] ) || inet_pton( '::1' ) === $packed;
	}

	/** Writes what the parent would, without noting it in the debug output; a write error is kept as the parent keeps it. */
	private function write_unlogged( $data ) {
		set_error_handler( array( $this, 'errorHandler' ) ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions
		$written = fwrite( $this->smtp_conn, $data ); // phpcs:ignore WordPress.WP.AlternativeFunctions
		restore_error_handler();
		return $written;
	}

	/**
	 * A refused XOAUTH2 token gets a 334 with the error's details first (RFC 7628 section 3.2.2, as Exchange and Gmail
	 * answer); the client answers with an empty line and the server then sends its final 535. PHPMailer stops at the
	 * 334, so the refusal would be unknown.
	 */
	public function close_sasl_challenge() {
		if ( 334 === (int) substr( $this->getLastReply(), 0, 3 ) ) {
			$this->sendCommand( 'AUTH', '', 235 );
		}
	}

	/** The reply that failed, parsed: code, enhanced code (RFC 3463) and text. */
	public function last_reply_parts() {
		$lines = preg_split( '/\r?\n/', trim( $this->getLastReply() ) );
		$code  = (int) substr( $lines[0], 0, 3 );
		$text  = array();
		foreach ( $lines as $line ) {
			$text[] = trim( substr( $line, 4 ) );
		}
		$text     = implode( ' ', $text );
		$enhanced = preg_match( '/^([245]\.\d{1,3}\.\d{1,3})\b/', $text, $m ) ? $m[1] : '';
		return array(
			'code'     => $code >= 200 && $code <= 599 ? $code : null,
			'enhanced' => $enhanced,
			'text'     => $enhanced ? ltrim( substr( $text, strlen( $enhanced ) ) ) : $text,
		);
	}

	/** Keeps each warning, such as OpenSSL's "certificate verify failed" during an implicit TLS connect. */
	protected function errorHandler( $errno, $errmsg, $errfile = '', $errline = 0 ) {
		$this->warnings[] = (string) $errmsg;
		parent::errorHandler( $errno, $errmsg, $errfile, $errline );
	}

	/** What went wrong below SMTP (a socket or TLS error), in PHP's words. */
	public function low_level_error() {
		$error = $this->getError();
		$words = trim( (string) $error['detail'] . ' ' . (string) $error['smtp_code_ex'] . ' ' . implode( ' ', array_unique( $this->warnings ) ) );
		return trim( (string) $error['error'] . ': ' . $words . ' (' . (string) $error['smtp_code'] . ')' );
	}
}
