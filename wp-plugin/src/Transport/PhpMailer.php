<?php
/**
 * The PHPMailer transport (the engine the log calls "phpmailer"): sends composed bytes over PHPMailer's SMTP client
 * (shipped with WordPress, RustMail_Transport_Smtp_Client) when the rust_mail extension is not loaded. Takes the same
 * transport array as rust_mail_send() and returns a result of the same shape (RustMail_Transport_Result), so that the
 * log, the outbox and the explanations do not care which transport carried a message.
 *
 * Connections are kept open for the rest of the request (keep-alive), one per transport; the extension keeps them
 * across requests too.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

final class RustMail_Transport_PhpMailer implements RustMail_Transport_Interface {

	/** A transcript is bounded, as the extension's is: a server that talks forever does not fill the log. */
	const TRANSCRIPT_LINES = 200;
	const LINE_BYTES       = 500;

	/** The extension's largest ca_file (src/smtp/tls.rs): a bundle of every public CA is about 200 KiB. */
	const MAX_CA_FILE = 1048576;

	/** @var array<string, RustMail_Transport_Smtp_Client> open connections of this request, by transport */
	private static $open = array();

	/** The result being built: transcript and timings, reset by each send. */
	private static $transcript = array();
	private static $started    = 0.0;

	public static function name() {
		return 'phpmailer';
	}

	public static function label() {
		return __( 'PHPMailer (the extension was not loaded)', 'rust-mail' );
	}

	public static function reason() {
		return __( 'The rust_mail PHP extension is not loaded in this PHP, so mail goes out through PHPMailer, the SMTP client that ships with WordPress, with the same settings, log and outbox.', 'rust-mail' );
	}

	/** PHPMailer ships with WordPress: always there. */
	public static function is_available() {
		return true;
	}

	public static function send( $raw, array $envelope, array $transport ) {
		if ( ! empty( $transport['api'] ) ) {
			// An HTTP API instead of an SMTP server: WordPress's HTTP API carries it.
			return RustMail_Transport_Http_Api::send( $raw, $envelope, $transport );
		}
		self::$transcript = array();
		self::$started    = microtime( true );
		$t                = self::settings( $transport );
		$timings          = array();
		$problem          = self::input_problem( $envelope, $t );
		if ( '' !== $problem ) {
			return self::failed( $t, 'invalid_input', 'message', $problem, null, $timings );
		}
		$key = hash( 'sha256', serialize( $t ) ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions -- an in-memory key.
		try {
			return self::session( $raw, $envelope, $t, $key, $timings );
		} catch ( RustMail_Transport_Reply_Too_Large $e ) {
			// A broken or hostile server: its connection, in the middle of a reply, is closed and of no more use.
			unset( self::$open[ $key ] );
			return self::failed( $t, 'protocol', $e->stage, $e->getMessage(), null, $timings );
		}
	}

	/** The SMTP session of send(): over the open connection of the transport `$key`, or a new one. */
	private static function session( $raw, array $envelope, array $t, $key, array &$timings ) {
		$smtp   = self::$open[ $key ] ?? null;
		$reused = $smtp && $smtp->connected() && $smtp->reset();
		if ( $reused ) {
			self::note( 'info', 'reusing the open connection to ' . $t['host'] . ':' . $t['port'] );
		} else {
			unset( self::$open[ $key ] );
			$smtp    = self::new_client( $t );
			$failure = self::open( $smtp, $t, $timings );
			if ( $failure ) {
				// The reply that refused (AUTH's 535, STARTTLS's 454 ...), not a 220 or 250 before a local failure.
				$reply = $smtp->last_reply_parts();
				$smtp->close();
				return self::failed( $t, $failure[0], $failure[1], $failure[2], $failure[3], $timings, $reply['code'] >= 400 ? $reply : null );
			}
		}

		$sent_at  = microtime( true );
		$accepted = array();
		$rejected = array();
		if ( ! $smtp->mail( $envelope['from'] ) ) {
			return self::abandon( $smtp, $key, $t, 'sender_rejected', 'mail', 'the server refused the sender <' . $envelope['from'] . '>', $timings );
		}
		foreach ( $envelope['to'] as $recipient ) {
			if ( $smtp->recipient( $recipient ) ) {
				$accepted[] = $recipient;
				continue;
			}
			$reply = $smtp->last_reply_parts();
			if ( null === $reply['code'] ) {
				return self::abandon( $smtp, $key, $t, 'protocol', 'rcpt', 'the server closed the connection', $timings );
			}
			$rejected[ $recipient ] = trim( $reply['code'] . ' ' . $reply['enhanced'] . ' ' . $reply['text'] );
		}
		if ( ! $accepted ) {
			return self::abandon( $smtp, $key, $t, 'recipient_rejected', 'rcpt', 'the server refused every recipient (last: <' . end( $envelope['to'] ) . '>)', $timings );
		}
		if ( ! $smtp->data( $raw ) ) {
			return self::abandon( $smtp, $key, $t, 'data_rejected', 'data', 'the server refused the message', $timings );
		}
		$timings['send'] = self::ms_since( $sent_at );
		// The message's 250, read before a QUIT would replace it with the 221.
		$reply = $smtp->last_reply_parts();
		if ( $t['pool'] ) {
			self::$open[ $key ] = $smtp;
		} else {
			$smtp->quit();
			$smtp->close();
		}
		$result               = self::result( $t, $reply, $timings, $reused );
		$result['ok']         = true;
		$result['message_id'] = preg_match( '/^Message-ID:\s*(.+?)\r?$/mi', substr( $raw, 0, (int) strpos( $raw . "\r\n\r\n", "\r\n\r\n" ) ), $m ) ? trim( $m[1] ) : '';
		$result['accepted']   = $accepted;
		$result['rejected']   = $rejected;
		return $result;
	}

	/**
	 * The transport with the settings' defaults filled in, and port, security and auth as the extension derives them
	 * from each other. An empty HELO name is this machine's, as the extension's is.
	 */
	private static function settings( array $transport ) {
		$keys = array_keys( RustMail_Settings_Schema::transport_keys() );
		$t    = array_merge( array_combine( $keys, array_map( array( 'RustMail_Settings_Schema', 'default_value' ), $keys ) ), $transport );
		if ( '' === (string) $t['helo'] ) {
			$t['helo'] = gethostname() ? gethostname() : 'localhost';
		}
		$t['host']    = trim( (string) ( $t['host'] ?? '' ) );
		$t['timeout'] = max( 1, min( 3600, (int) $t['timeout'] ) );
		if ( '' === $t['host'] ) {
			return $t; // Refused by input_problem(), before anything is derived from it.
		}
		$derived = RustMail_Explain_Classifier::transport_defaults( $transport );
		unset( $derived['user'] );
		return array_merge( $t, $derived );
	}

	/**
	 * Header injection through the envelope, nothing to send, or a ca_file the extension would not read: refused before
	 * any connection, as the extension does.
	 */
	private static function input_problem( array $envelope, array $t ) {
		$addresses = array_merge( array( (string) ( $envelope['from'] ?? '' ) ), (array) ( $envelope['to'] ?? array() ) );
		foreach ( array_merge( $addresses, array( (string) $t['host'], (string) $t['helo'], (string) $t['username'] ) ) as $value ) {
			if ( preg_match( '/[\r\n\0]/', (string) $value ) ) {
				return 'a CR, LF or NUL character in an address or setting (header injection) was refused';
			}
		}
		if ( '' === (string) $t['host'] ) {
			return 'no host is set';
		}
		if ( empty( $envelope['to'] ) ) {
			return 'the message has no recipient';
		}
		if ( '' !== (string) $t['ca_file'] ) {
			$problem = self::ca_file_problem( (string) $t['ca_file'] );
			return '' === $problem ? '' : "\$transport['ca_file'] {$problem}";
		}
		return '';
	}

	/**
	 * Why a ca_file cannot be used, in the extension's words (src/files.rs, src/smtp/tls.rs); '' when it can. OpenSSL
	 * reads the file whole, with neither PHP's open_basedir nor a limit: /dev/zero would fill memory. So it must pass
	 * the extension's rules first: within open_basedir, a regular file of at most 1 MiB, with a PEM certificate in it.
	 */
	public static function ca_file_problem( $path ) {
		// PHP's own open_basedir check, which the extension asks too: only its warning tells it from a missing file.
		$warning = '';
		set_error_handler( // phpcs:ignore WordPress.PHP.DevelopmentFunctions
			static function ( $errno, $message ) use ( &$warning ) {
				$warning = $message;
				return true;
			}
		);
		$stat = stat( $path );
		restore_error_handler();
		if ( false !== strpos( $warning, 'open_basedir restriction' ) ) {
			return "'{$path}' is outside open_basedir: PHP's open_basedir setting does not allow it";
		}
		if ( false === $stat || ! is_readable( $path ) ) {
			return "'{$path}' cannot be read: it does not exist, or PHP's user may not read it";
		}
		// A device or a pipe (/dev/zero, /dev/stdin) would be read without end or block forever.
		if ( ! is_file( $path ) ) {
			return "'{$path}' is not a regular file";
		}
		if ( $stat['size'] > self::MAX_CA_FILE ) {
			return "'{$path}' is {$stat['size']} bytes, more than the " . self::MAX_CA_FILE . ' allowed';
		}
		// At most one byte past the limit, whatever the size said: a file can grow after it was checked.
		$pem = (string) file_get_contents( $path, false, null, 0, self::MAX_CA_FILE + 1 ); // phpcs:ignore WordPress.WP.AlternativeFunctions
		if ( strlen( $pem ) > self::MAX_CA_FILE ) {
			return "'{$path}' grew to more than the " . self::MAX_CA_FILE . ' bytes allowed while it was read';
		}
		if ( ! preg_match( '/-----BEGIN CERTIFICATE-----[A-Za-z0-9+\/=\s]+-----END CERTIFICATE-----/', $pem ) ) {
			return "'{$path}' holds no PEM certificate";
		}
		return '';
	}

	private static function new_client( array $t ) {
		require_once ABSPATH . WPINC . '/PHPMailer/SMTP.php';
		require_once ABSPATH . WPINC . '/PHPMailer/Exception.php';
		$smtp                = new RustMail_Transport_Smtp_Client();
		$smtp->Timeout       = $t['timeout'];
		$smtp->Timelimit     = $t['timeout'];
		$smtp->crypto_method = '1.3' === $t['tls_min_version'] ? STREAM_CRYPTO_METHOD_TLSv1_3_CLIENT : STREAM_CRYPTO_METHOD_TLSv1_2_CLIENT | STREAM_CRYPTO_METHOD_TLSv1_3_CLIENT;
		$smtp->setDebugLevel( PHPMailer\PHPMailer\SMTP::DEBUG_CONNECTION );
		$smtp->setDebugOutput( array( __CLASS__, 'capture' ) );
		return $smtp;
	}

	/**
	 * Connect, greeting, EHLO, TLS and login.
	 *
	 * @return array|null null when the connection is ready for MAIL, else [kind, stage, message, cause or null].
	 */
	private static function open( RustMail_Transport_Smtp_Client $smtp, array $t, array &$timings ) {
		$tls     = 'tls' === $t['security'];
		$address = ( $tls ? 'ssl://' : 'tcp://' ) . ( false !== strpos( $t['host'], ':' ) ? '[' . $t['host'] . ']' : $t['host'] );
		$ssl     = array(
			'verify_peer'       => (bool) $t['verify_peer'],
			'verify_peer_name'  => (bool) $t['verify_peer'],
			'allow_self_signed' => false,
			'peer_name'         => $t['host'],
			'SNI_enabled'       => true,
			'crypto_method'     => $smtp->crypto_method,
		);
		if ( '' !== (string) $t['ca_file'] ) {
			$ssl['cafile'] = $t['ca_file'];
		}
		$start = microtime( true );
		if ( ! $smtp->connect( $address, $t['port'], $t['timeout'], array( 'ssl' => $ssl ) ) ) {
			$timings['connect'] = self::ms_since( $start );
			return self::connect_failure( $smtp, $t, $tls );
		}
		$timings['connect'] = self::ms_since( $start );
		if ( ! $smtp->hello( $t['helo'] ) ) {
			return array( 'protocol', 'ehlo', 'the server refused EHLO and HELO', null );
		}
		$encrypted = $tls;
		if ( ! $tls && 'none' !== $t['security'] && ( 'starttls' === $t['security'] || $smtp->getServerExt( 'STARTTLS' ) ) ) {
			if ( ! $smtp->getServerExt( 'STARTTLS' ) ) {
				return array( 'tls', 'starttls', 'the server does not offer STARTTLS, and security is starttls', 'starttls_unavailable' );
			}
			$start = microtime( true );
			if ( ! $smtp->startTLS() ) {
				$reply = $smtp->last_reply_parts();
				if ( 220 !== $reply['code'] ) {
					return array( 'tls', 'starttls', 'the server refused STARTTLS', null );
				}
				return array( 'tls', 'tls_handshake', 'the TLS handshake failed: ' . $smtp->low_level_error(), self::tls_cause( $smtp->low_level_error() ) );
			}
			$timings['tls'] = self::ms_since( $start );
			$encrypted      = true;
			if ( ! $smtp->hello( $t['helo'] ) ) {
				return array( 'protocol', 'ehlo', 'the server refused EHLO after STARTTLS', null );
			}
		}
		if ( 'none' === $t['auth'] ) {
			return null;
		}
		$start   = microtime( true );
		$failure = self::login( $smtp, $t, $encrypted );
		$timings['auth'] = self::ms_since( $start );
		return $failure;
	}

	/** @return array|null null when logged in, else a failure as open() returns it. */
	private static function login( RustMail_Transport_Smtp_Client $smtp, array $t, $encrypted ) {
		if ( ! $encrypted && ! ( $t['allow_insecure_auth'] && $smtp->peer_is_loopback() ) ) {
			// The extension's words: the address connected to, which decided, rather than the host's name.
			$message = "refusing to send the password without TLS to {$smtp->peer()}: use security 'starttls' or 'tls' "
				. '(allow_insecure_auth applies only to a server on loopback, 127.0.0.0/8 or ::1)';
			return array( 'auth', 'auth', $message, 'auth_unavailable' );
		}
		$offered   = (array) $smtp->getServerExt( 'AUTH' );
		$mechanism = strtoupper( $t['auth'] );
		if ( 'AUTO' === $mechanism ) {
			$mechanism = in_array( 'PLAIN', $offered, true ) ? 'PLAIN' : 'LOGIN';
		}
		if ( ! in_array( $mechanism, $offered, true ) ) {
			$listed = $offered ? implode( ', ', $offered ) : 'none';
			return array( 'auth', 'auth', "the server does not offer AUTH {$mechanism} (offered: {$listed})", 'auth_unavailable' );
		}
		$token = null;
		if ( 'XOAUTH2' === $mechanism ) {
			// PHPMailer asks an OAuth provider object for the SASL XOAUTH2 string; the token is the password.
			$token = new class( $t['username'], $t['password'] ) {
				private $user;
				private $token;
				public function __construct( $user, $token ) {
					$this->user  = $user;
					$this->token = $token;
				}
				public function getOauth64() { // phpcs:ignore WordPress.NamingConventions -- PHPMailer's name.
					return base64_encode( "user={$this->user}\x01auth=Bearer {$this->token}\x01\x01" );
				}
			};
		}
		if ( $smtp->authenticate( $t['username'], $t['password'], $mechanism, $token ) ) {
			return null;
		}
		$smtp->close_sasl_challenge();
		return array( 'auth', 'auth', 'the server refused the login of ' . $t['username'], null );
	}

	/** A failed connect, by what PHP's socket layer said. */
	private static function connect_failure( RustMail_Transport_Smtp_Client $smtp, array $t, $tls ) {
		$reply = $smtp->last_reply_parts();
		if ( null !== $reply['code'] ) {
			// Connected, but the greeting was no 220.
			return array( 'protocol', 'greeting', 'the server refused the connection in its greeting', null );
		}
		$error  = $smtp->getError();
		$errno  = (int) $error['smtp_code'];
		$words  = strtolower( $smtp->low_level_error() );
		$target = $t['host'] . ':' . $t['port'];
		if ( false !== strpos( $words, 'getaddrinfo' ) || false !== strpos( $words, 'name or service not known' ) || false !== strpos( $words, 'no address associated' ) ) {
			return array( 'dns', 'dns', 'could not resolve ' . $t['host'] . ': ' . $smtp->low_level_error(), null );
		}
		if ( 111 === $errno || false !== strpos( $words, 'connection refused' ) ) {
			return array( 'connect_refused', 'connect', 'connection to ' . $target . ' refused', null );
		}
		if ( $tls && ( false !== strpos( $words, 'ssl' ) || false !== strpos( $words, 'crypto' ) ) ) {
			return array( 'tls', 'tls_handshake', 'the TLS handshake with ' . $target . ' failed: ' . $smtp->low_level_error(), self::tls_cause( $words ) );
		}
		if ( in_array( $errno, array( 110, 101, 113 ), true ) || false !== strpos( $words, 'timed out' ) ) {
			return array( 'connect_timeout', 'connect', 'connection to ' . $target . ' timed out after ' . $t['timeout'] . ' s', null );
		}
		if ( '' === trim( $smtp->getLastReply() ) && 0 === $errno ) {
			return array( 'timeout', 'greeting', 'the server at ' . $target . ' accepted the connection but sent no greeting within ' . $t['timeout'] . ' s', null );
		}
		return array( 'protocol', 'connect', 'could not connect to ' . $target . ': ' . $smtp->low_level_error(), null );
	}

	/** OpenSSL's words for the three TLS causes the classifier tells apart. */
	private static function tls_cause( $words ) {
		$words = strtolower( $words );
		if ( false !== strpos( $words, 'certificate' ) || false !== strpos( $words, 'peer_name' ) || false !== strpos( $words, 'did not match' ) ) {
			return 'tls_certificate_invalid';
		}
		if ( false !== strpos( $words, 'unsupported protocol' ) || false !== strpos( $words, 'version' ) ) {
			return 'tls_version_unsupported';
		}
		return 'tls_handshake_failed';
	}

	/** A failure after the connection was open: the connection is closed and forgotten. */
	private static function abandon( RustMail_Transport_Smtp_Client $smtp, $key, array $t, $kind, $stage, $message, array $timings ) {
		$reply = $smtp->last_reply_parts();
		if ( null === $reply['code'] ) {
			// No reply at all: the server hung up, or said nothing until the timeout.
			$kind    = self::ms_since( self::$started ) >= $t['timeout'] * 1000 - 50 ? 'timeout' : 'protocol';
			$message = 'timeout' === $kind ? 'the server stopped answering' : 'the server closed the connection';
		}
		unset( self::$open[ $key ] );
		$smtp->quit();
		$smtp->close();
		return self::failed( $t, $kind, $stage, $message, null, $timings, $reply );
	}

	/**
	 * A failed result, classified by the rules the extension exports (wp-plugin/data/classifier.json): the same
	 * cause, advice and transient flag as rust_mail_send() would give.
	 */
	private static function failed( array $t, $kind, $stage, $message, $cause, array $timings, $reply = null ) {
		$reply  = $reply ?? array( 'code' => null, 'enhanced' => '', 'text' => '' );
		$result = self::result( $t, $reply, $timings, false );
		if ( null !== $reply['code'] ) {
			$message .= ': ' . trim( $reply['code'] . ' ' . $reply['enhanced'] . ' ' . $reply['text'] );
		}
		$failure = array(
			'kind'          => $kind,
			'message'       => $message,
			'code'          => $reply['code'],
			'enhanced_code' => $reply['enhanced'],
			'reply'         => $reply['text'],
		);
		if ( null !== $cause ) {
			$failure['cause'] = $cause;
		}
		return RustMail_Transport_Result::with_error( $result, $failure, $stage, self::described( $t ) );
	}

	/** The transport as the classifier may see it: no secret. */
	private static function described( array $t ) {
		unset( $t['password'] );
		if ( '' === (string) $t['username'] ) {
			unset( $t['username'] );
		}
		if ( '' === (string) $t['ca_file'] ) {
			unset( $t['ca_file'] );
		}
		return $t;
	}

	/** A result without an error yet: the last reply, this send's transcript (redacted) and timings. */
	private static function result( array $t, array $reply, array $timings, $reused ) {
		$timings['total'] = self::ms_since( self::$started );
		return RustMail_Transport_Result::of_reply( $reply, self::redacted( self::$transcript, $t ), $timings, $reused );
	}

	/** PHPMailer's debug output, line by line, as transcript entries like the extension's. */
	public static function capture( $text, $level ) {
		if ( count( self::$transcript ) >= self::TRANSCRIPT_LINES ) {
			return;
		}
		// PHPMailer prints the stream options (several lines) after the address; the host and port are enough.
		$text = preg_replace( '/^(Connection: opening to .*?), options=.*$/s', '$1', rtrim( (string) $text ) );
		$direction = 'info';
		foreach ( preg_split( '/\r?\n/', $text ) as $line ) {
			// A multi-line reply comes in one piece: its later lines belong to the server too.
			if ( preg_match( '/^(CLIENT -> SERVER|SERVER -> CLIENT): ?(.*)$/', $line, $m ) ) {
				$direction = 'CLIENT -> SERVER' === $m[1] ? 'client' : 'server';
				$line      = $m[2];
			}
			if ( '' !== trim( $line ) ) {
				self::note( $direction, $line );
			}
		}
	}

	private static function note( $direction, $line ) {
		self::$transcript[] = array(
			'ms'   => self::ms_since( self::$started ),
			'dir'  => $direction,
			'line' => substr( $line, 0, self::LINE_BYTES ),
		);
	}

	/** No password or token in any line, in clear or in the base64 forms AUTH uses. */
	private static function redacted( array $lines, array $t ) {
		$secrets = RustMail_Explain_Redactor::secret_forms( $t );
		foreach ( $lines as &$entry ) {
			$entry['line'] = RustMail_Explain_Redactor::text( $entry['line'], $secrets );
			// PHPMailer's own hiding of a login line, in the one marker.
			if ( '[credentials hidden]' === $entry['line'] ) {
				$entry['line'] = RustMail_Explain_Redactor::marker();
			}
		}
		return $lines;
	}

	private static function ms_since( $start ) {
		return (int) round( ( microtime( true ) - $start ) * 1000 );
	}
}
