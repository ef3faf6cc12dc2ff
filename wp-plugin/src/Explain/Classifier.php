<?php
/**
 * Explains a logged failure when the extension is not loaded: the extension's own classifier and advice, applied
 * from data/classifier.json, which `./build.sh rules` exports from the Rust code (src/export.rs). No rule or text is
 * written here; a test runs every real reply of tests/replies.tsv through this class and through
 * rust_mail_explain() and expects the same cause, summary and advice.
 *
 * Plain PHP: no WordPress function, so the test runs it without WordPress.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

final class RustMail_Explain_Classifier {

	/**
	 * @throws RuntimeException when the exported data cannot be used: every caller explains without it (a logged
	 *                          failure says "not sent" and points to Diagnose).
	 */
	private static function data() {
		$data = RustMail_Explain_Data::get();
		if ( null === $data ) {
			throw new RuntimeException( RustMail_Explain_Data::problem() );
		}
		return $data;
	}

	/**
	 * What rust_mail_explain() says about a failure: same input, same output.
	 *
	 * @param array $failure   a log row's fields (kind, message, code, enhanced_code, reply, from, and cause when the
	 *                         extension gave one), or a whole rust_mail_send() result.
	 * @param array $transport the settings the mail was sent with; only those that change the advice are read.
	 * @return array{cause: string, summary: string, advice: string[]}
	 * @throws InvalidArgumentException where rust_mail_explain() throws RustMailException (a missing kind or host, an
	 *                                  unknown kind or cause, a code that is no SMTP reply code, a successful result).
	 */
	public static function explain( array $failure, array $transport ) {
		$failure  = self::failure_of_result( $failure );
		$settings = self::transport_defaults( $transport );
		$kind     = self::string_field( $failure, 'kind' );
		if ( null === $kind ) {
			throw new InvalidArgumentException( "\$failure['kind'] is required" );
		}
		$reply = null;
		if ( isset( $failure['code'] ) ) {
			$code = (int) $failure['code'];
			if ( $code < 200 || $code > 599 ) {
				throw new InvalidArgumentException( "\$failure['code'] must be an SMTP reply code, got $code" );
			}
			$enhanced = (string) self::string_field( $failure, 'enhanced_code' );
			$reply    = array(
				'code'     => $code,
				'enhanced' => $enhanced,
				'text'     => (string) self::string_field( $failure, 'reply' ),
			);
		}
		$given = self::string_field( $failure, 'cause' );
		if ( null !== $given && ! isset( self::data()['verdicts'][ $given ] ) ) {
			throw new InvalidArgumentException( "\$failure['cause'] '$given' is not a known cause" );
		}
		if ( null !== $given ) {
			$cause = $given;
		} elseif ( '' !== (string) self::string_field( $transport, 'api' ) && null !== $reply ) {
			// An API's answer: its status and provider code, judged by the API's table, never by SMTP's rules.
			$cause = self::judge_api_answer( (string) $transport['api'], $reply['code'], $reply['enhanced'], $reply['text'] )['cause'];
		} else {
			$cause = self::cause_of_logged( $kind, $reply, $settings['security'] );
		}
		$context = $settings + array(
			'from'     => self::string_field( $failure, 'from' ),
			// The reply as a person would quote it, else the error's own words.
			// An API's reply line is already "{status} {provider code}: {message}".
			'detail'   => null === $reply ? (string) self::string_field( $failure, 'message' ) : ( '' !== (string) self::string_field( $transport, 'api' ) ? $reply['text'] : self::one_line( $reply ) ),
			'code'     => null === $reply ? null : $reply['code'],
			'enhanced' => null === $reply || '' === $reply['enhanced'] ? null : $reply['enhanced'],
		);
		$verdict = self::verdict( $cause, $context );
		return RustMail_Explain_Redactor::scrub( array( 'cause' => $cause ) + $verdict, RustMail_Explain_Redactor::secret_forms( $transport ) );
	}

	/**
	 * The cause of a server's negative reply, as the extension's classifier decides it.
	 *
	 * @param string $stage    the command the reply answered, as the extension's error.stage names it: mail, rcpt, data
	 *                         (the DATA command), message (the reply after the message), auth, starttls, greeting, ehlo.
	 * @param string $enhanced the enhanced status code ('5.7.139'), '' without one.
	 * @param string $text     the reply's text, without code and enhanced code.
	 * @param string $security the security setting: none, starttls, opportunistic or tls.
	 */
	public static function cause_of_reply( string $stage, int $code, string $enhanced, string $text, string $security ) {
		$data  = self::data();
		$lower = self::ascii_lower( $text );
		$cause = null;
		foreach ( $data['rules'] as $rule ) {
			if ( self::rule_matches( $rule, $stage, $code, $enhanced, $lower ) ) {
				$cause = $rule['cause'];
				break;
			}
		}
		$cause  = $cause ?? self::fallback( $stage, $code, $enhanced );
		$adjust = $data['security_adjustment'];
		return $cause === $adjust['cause'] && $security !== $adjust['unless_security'] ? $adjust['becomes'] : $cause;
	}

	/** Whether the classifier knows this cause (a log row's error_cause may also be one of the plugin's own). */
	public static function is_cause( string $cause ) {
		return isset( self::data()['verdicts'][ $cause ] );
	}

	/**
	 * The cause of a failure without a server reply, by the extension's error kind (dns, connect_refused,
	 * connect_timeout, tls, auth, timeout, protocol ...).
	 *
	 * @throws InvalidArgumentException for a kind the extension does not have.
	 */
	public static function cause_of_kind( string $kind ) {
		$kinds = self::data()['kinds'];
		if ( ! isset( $kinds[ $kind ] ) ) {
			throw new InvalidArgumentException( "'$kind' is not an error kind of the extension (known: " . implode( ', ', array_keys( $kinds ) ) . ')' );
		}
		return $kinds[ $kind ]['cause'];
	}

	/**
	 * Whether a failure of this kind without a server reply is worth another try (a refused or timed-out
	 * connection, DNS) rather than final (a certificate, a login): the export's `kinds.<kind>.transient`, as the
	 * extension's error.rs decides it. A kind the extension does not have (the plugin's own) is final.
	 */
	public static function kind_is_transient( string $kind ) {
		return true === ( self::data()['kinds'][ $kind ]['transient'] ?? false );
	}

	/**
	 * An HTTP API's refusal, judged as the extension judges it: the export's `api.errors` table (rows of api, status,
	 * code, message_contains, kind, cause, transient; first match wins; its last rows go by the HTTP status alone).
	 * An answer no row holds for (a redirect, a success the API does not answer with) is not the API's: protocol.
	 *
	 * @param string      $api     graph, gmail, ses or mailgun.
	 * @param int         $status  the HTTP status.
	 * @param string|null $code    the provider's error code ('ErrorSendAsDenied', 'rateLimitExceeded'), '' or null without one.
	 * @param string      $message the provider's message.
	 * @return array{kind: string, cause: string, transient: bool}
	 */
	public static function judge_api_answer( string $api, int $status, $code, string $message ) {
		$code  = (string) $code;
		$lower = self::ascii_lower( $message );
		foreach ( self::data()['api']['errors'] as $row ) {
			if ( ( null !== ( $row['api'] ?? null ) && $row['api'] !== $api )
				|| ! self::status_matches( $row['status'] ?? null, $status )
				|| ( null !== ( $row['code'] ?? null ) && strcasecmp( (string) $row['code'], $code ) !== 0 )
				|| ( null !== ( $row['message_contains'] ?? null ) && ! str_contains( $lower, self::ascii_lower( (string) $row['message_contains'] ) ) ) ) {
				continue;
			}
			return array(
				'kind'      => (string) $row['kind'],
				'cause'     => (string) $row['cause'],
				// As the extension decides it with the answer's status: a row's own flag, and 429 and 5xx always.
				'transient' => true === $row['transient'] || 429 === $status || $status >= 500,
			);
		}
		return array(
			'kind'      => 'protocol',
			'cause'     => 'unknown',
			'transient' => false,
		);
	}

	/** A table row's status: null (any), one status, or a [from, to] range. */
	private static function status_matches( $want, int $status ) {
		if ( null === $want ) {
			return true;
		}
		if ( is_array( $want ) ) {
			return $status >= (int) $want[0] && $status <= (int) $want[1];
		}
		return (int) $want === $status;
	}

	/** A logged failure's cause: its reply judged at the stage its kind stands for, else the kind's own cause. */
	private static function cause_of_logged( string $kind, $reply, string $security ) {
		$cause = self::cause_of_kind( $kind );
		$stage = self::data()['kinds'][ $kind ]['reply_stage'];
		if ( null === $reply || null === $stage ) {
			return $cause;
		}
		return self::cause_of_reply( $stage, $reply['code'], $reply['enhanced'], $reply['text'], $security );
	}

	private static function rule_matches( array $rule, string $stage, int $code, string $enhanced, string $lower ) {
		if ( ( $rule['stages'] && ! in_array( $stage, $rule['stages'], true ) ) || ( $rule['transient_only'] && ( $code < 400 || $code > 499 ) ) ) {
			return false;
		}
		$match = $rule['match'];
		if ( isset( $match['enhanced'] ) ) {
			return in_array( $enhanced, $match['enhanced'], true );
		}
		if ( isset( $match['enhanced_range'] ) ) {
			$range  = $match['enhanced_range'];
			$prefix = $range['prefix'];
			$rest   = substr( $enhanced, strlen( $prefix ) );
			return str_starts_with( $enhanced, $prefix ) && 1 === preg_match( '/^\+?[0-9]+$/', $rest )
				&& (int) ltrim( $rest, '+' ) >= $range['from'] && (int) ltrim( $rest, '+' ) <= $range['to'];
		}
		foreach ( $match['words'] as $word ) {
			if ( str_contains( $lower, $word ) ) {
				return true;
			}
		}
		return false;
	}

	/** A reply no rule knows: the first row of the fallback table that fits. */
	private static function fallback( string $stage, int $code, string $enhanced ) {
		foreach ( self::data()['fallback'] as $row ) {
			if ( ( ! $row['stages'] || in_array( $stage, $row['stages'], true ) )
				&& ( null === $row['code'] || ( $code >= $row['code'][0] && $code <= $row['code'][1] ) )
				&& ( null === $row['enhanced'] || $row['enhanced'] === $enhanced ) ) {
				return $row['cause'];
			}
		}
		return 'unknown';
	}

	/**
	 * A cause's summary and advice for this failure and these settings.
	 *
	 * @return array{summary: string, advice: string[]}
	 */
	private static function verdict( string $cause, array $context ) {
		$text   = self::data()['verdicts'][ $cause ];
		$advice = array();
		foreach ( $text['advice'] as $line ) {
			if ( is_string( $line ) ) {
				$advice[] = $line;
				continue;
			}
			foreach ( $line['first'] as $alternative ) {
				if ( null === $alternative['when'] || self::holds( $alternative['when'], $context ) ) {
					array_push( $advice, ...$alternative['advice'] );
					break;
				}
			}
		}
		return array(
			'summary' => self::render( $text['summary'], $context ),
			'advice'  => array_map( fn ( $template ) => self::render( $template, $context ), $advice ),
		);
	}

	private static function holds( array $when, array $context ) {
		$enhanced = (string) $context['enhanced'];
		$test     = array_key_first( $when );
		$values   = $when[ $test ];
		switch ( $test ) {
			case 'auth':
				return $context['auth'] === $values;
			case 'has':
				return null !== self::value( $values, $context );
			case 'enhanced':
				return null !== $context['enhanced'] && in_array( $enhanced, $values, true );
			case 'enhanced_prefix':
				return null !== $context['enhanced'] && self::starts_with_any( $enhanced, $values );
			case 'host_suffix':
				return (bool) array_filter( $values, fn ( $suffix ) => str_ends_with( $context['host'], $suffix ) );
			case 'code':
				return null !== $context['code'] && $context['code'] >= $values[0] && $context['code'] <= $values[1];
			case 'api':
				return in_array( $context['api'] ?? null, $values, true );
			case 'certificate':
				// A logged failure does not keep what was wrong with the certificate: the general advice applies.
				return false;
			case 'any':
				return (bool) array_filter( $values, fn ( $any ) => self::holds( $any, $context ) );
		}
		throw new UnexpectedValueException( "data/classifier.json has a condition this class does not know: $test" );
	}

	private static function starts_with_any( string $text, array $prefixes ) {
		return (bool) array_filter( $prefixes, fn ( $prefix ) => str_starts_with( $text, $prefix ) );
	}

	/** A template with each {name} or {name|otherwise} replaced. */
	private static function render( string $template, array $context ) {
		$text = preg_replace_callback(
			'/\{([a-z_]+)(?:\|([^}]*))?\}/',
			fn ( $m ) => self::value( $m[1], $context ) ?? ( $m[2] ?? '' ),
			$template
		);
		// As the extension renders it: a quote that came out empty leaves no dangling colon.
		return str_replace( ': .', '.', $text );
	}

	/**
	 * A placeholder's value (data/classifier.json describes each), null when unknown. A logged failure has no EHLO
	 * or port scan behind it: size, size_mb, offered_auth and found_ports are never known here.
	 */
	private static function value( string $name, array $context ) {
		switch ( $name ) {
			case 'host':
			case 'port':
			case 'security':
			case 'user':
			case 'from':
			case 'enhanced':
				return null === $context[ $name ] ? null : (string) $context[ $name ];
			case 'detail':
				// The reply quoted inside a sentence brings its own full stop.
				return rtrim( $context['detail'], '.' );
			case 'blocklist':
				return self::blocklist( $context );
			case 'other_ports':
				$ports = array();
				foreach ( self::data()['usual_ports'] as $usual ) {
					if ( $usual['port'] !== $context['port'] ) {
						$ports[] = "port {$usual['port']} with security '{$usual['security']}'";
					}
				}
				return implode( ', or ', $ports );
		}
		return null;
	}

	/** The block list a reply names, else the one its enhanced code stands for, else the data's last resort. */
	private static function blocklist( array $context ) {
		$lists  = self::data()['blocklist'];
		$detail = $context['detail'];
		$lower  = self::ascii_lower( $detail );
		foreach ( $lists['markers'] as $marker ) {
			$at = strpos( $lower, $marker );
			if ( false !== $at ) {
				preg_match( '/^[A-Za-z0-9.\-]*/', substr( $detail, $at + strlen( $marker ) ), $m );
				$name = rtrim( $m[0], '.' );
				if ( str_contains( $name, '.' ) ) {
					return $name;
				}
			}
		}
		foreach ( $lists['names'] as $name ) {
			if ( str_contains( $lower, $name ) ) {
				return $name;
			}
		}
		foreach ( $lists['by_enhanced_prefix'] as $prefix => $name ) {
			if ( null !== $context['enhanced'] && str_starts_with( $context['enhanced'], (string) $prefix ) ) {
				return $name;
			}
		}
		return $lists['otherwise'];
	}

	/** Lower case as the extension reads replies: ASCII letters only, whatever the locale (PHP 8.1's strtolower() follows it). */
	private static function ascii_lower( string $text ) {
		return strtr( $text, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz' );
	}

	/** Code, enhanced code and text, as the extension quotes a reply. */
	private static function one_line( array $reply ) {
		$parts = '' === $reply['enhanced'] ? array( $reply['code'], $reply['text'] ) : array( $reply['code'], $reply['enhanced'], $reply['text'] );
		return rtrim( implode( ' ', $parts ) );
	}

	/** A whole rust_mail_send() result: its error, with the reply fields beside it. */
	private static function failure_of_result( array $given ) {
		if ( ! array_key_exists( 'ok', $given ) ) {
			return $given;
		}
		if ( ! is_array( $given['error'] ?? null ) ) {
			throw new InvalidArgumentException( '$failure is a result without an error: the send succeeded, there is nothing to explain' );
		}
		$failure = $given['error'];
		foreach ( array( 'code', 'enhanced_code', 'reply' ) as $name ) {
			if ( ! isset( $failure[ $name ] ) && isset( $given[ $name ] ) ) {
				$failure[ $name ] = $given[ $name ];
			}
		}
		return $failure;
	}

	/**
	 * The settings the advice names, with the extension's defaults: the port from the security setting and the
	 * security from the port, and the auth of a transport with a username or without one (the export's defaults).
	 *
	 * @return array{host: string, port: int, security: string, auth: string, user: ?string}
	 */
	public static function transport_defaults( array $transport ) {
		$api = self::string_field( $transport, 'api' );
		if ( null !== $api && '' !== $api ) {
			// An API has no SMTP server: the advice names the API's host, on port 443.
			$base = (string) self::string_field( $transport, 'api_base' );
			$user = (string) self::string_field( $transport, 'username' );
			return array(
				'host'     => '' === $base ? $api : (string) parse_url( $base, PHP_URL_HOST ), // phpcs:ignore WordPress.WP.AlternativeFunctions -- plain PHP, no WordPress here.
				'port'     => 443,
				'security' => 'tls',
				'auth'     => 'none',
				'user'     => '' === $user ? null : $user,
			);
		}
		$host = trim( (string) self::string_field( $transport, 'host' ) );
		if ( '' === $host ) {
			throw new InvalidArgumentException( "\$transport['host'] is required" );
		}
		$keys      = self::data()['transport']['keys'];
		$implied   = self::data()['transport']['implied'];
		$otherwise = self::data()['transport']['otherwise'];
		$security  = self::string_field( $transport, 'security' );
		$security  = in_array( $security, $keys['security']['choices'], true ) ? $security : null;
		$port      = isset( $transport['port'] ) ? (int) $transport['port'] : self::implied( $implied, 'security', $security, 'port' ) ?? $otherwise['port'];
		$user      = self::string_field( $transport, 'username' );
		$user      = '' === $user ? null : $user;
		$auth      = self::string_field( $transport, 'auth' );
		$auth      = in_array( $auth, $keys['auth']['choices'], true ) ? $auth : self::data()['defaults']['auth'][ null === $user ? 'otherwise' : 'with_username' ];
		return array(
			'host'     => $host,
			'port'     => $port,
			'security' => $security ?? self::implied( $implied, 'port', $port, 'security' ) ?? $otherwise['security'],
			'auth'     => $auth,
			'user'     => $user,
			'api'      => self::string_field( $transport, 'api' ),
		);
	}

	/** The `$want` of the implied pair whose `$given` is `$value` (465 implies 'tls', 'tls' implies 465), or null. */
	private static function implied( array $pairs, $given, $value, $want ) {
		foreach ( $pairs as $pair ) {
			if ( $pair[ $given ] === $value ) {
				return $pair[ $want ];
			}
		}
		return null;
	}

	/** @return string|null a field given as a string (or a number), null when absent. */
	private static function string_field( array $fields, string $name ) {
		return isset( $fields[ $name ] ) && is_scalar( $fields[ $name ] ) ? (string) $fields[ $name ] : null;
	}
}
