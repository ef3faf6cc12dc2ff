<?php
/**
 * The PHPMailer engine's HTTP APIs (issue 21): the composed message sent with WordPress's HTTP API to Microsoft Graph,
 * the Gmail API or Mailgun, as the extension sends it (the same requests, the same result shape and causes: the
 * provider's answer is judged by the extension's exported table, RustMail_Explain_Classifier::judge_api_answer()).
 *
 * Amazon SES is refused: its requests are signed with AWS Signature Version 4, which the extension does with a
 * well-kept library and which is not written again here.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

final class RustMail_Transport_Http_Api {

	/** What each API answers when it took the message. */
	const ACCEPTED = array(
		'graph'   => 202,
		'gmail'   => 200,
		'mailgun' => 200,
	);

	/** Response headers that identify the request at the provider, kept in the transcript. */
	const REQUEST_ID_HEADERS = array( 'request-id', 'client-request-id', 'x-request-id', 'x-amzn-requestid', 'x-mailgun-request-id' );

	/** @var array the transcript being built, reset by each send. */
	private static $transcript = array();
	private static $started    = 0.0;

	/**
	 * Sends composed bytes through an API.
	 *
	 * @param array $transport rust_mail_send()'s `$transport` with `api` set.
	 * @return array a result shaped like rust_mail_send()'s.
	 */
	public static function send( $raw, array $envelope, array $transport ) {
		self::$transcript = array();
		self::$started    = microtime( true );
		$t                = self::settings( $transport );
		$api              = $t['api'];
		if ( 'ses' === $api ) {
			return self::refused( $t, 'engine', __( 'Amazon SES needs the rust_mail extension: its requests are signed with AWS Signature Version 4, which the PHPMailer engine does not do. Install the extension, or send through SES\'s SMTP interface (email-smtp.REGION.amazonaws.com, port 587) instead.', 'rust-mail' ) );
		}
		if ( ! isset( self::ACCEPTED[ $api ] ) ) {
			return self::refused( $t, 'invalid_input', "\$transport['api'] must be one of graph, gmail, ses, mailgun; got '{$api}'" );
		}
		$problem = self::input_problem( $envelope, $t );
		if ( '' !== $problem ) {
			return self::refused( $t, 'invalid_input', $problem );
		}
		$request = self::request( $raw, $envelope, $t );
		// Graph's limit is of its base64 request body; the others' of the message.
		$size  = 'mailgun' === $api ? strlen( $raw ) : strlen( $request['body'] );
		$limit = (int) self::provider( $api )['size_limit'];
		if ( $size > $limit ) {
			$message = sprintf( 'the message is %d bytes as the %s API takes it, more than its limit of %d bytes: send it over SMTP, or with smaller attachments', $size, $api, $limit );
			return self::failed( $t, array( 'kind' => 'data_rejected', 'cause' => 'message_too_large', 'transient' => false ), 'input', $message, null, array(), null );
		}
		return self::post( $request, $envelope, $t, $raw );
	}

	/** The transport with the settings' defaults for the keys an API reads. */
	private static function settings( array $transport ) {
		$t = $transport;
		foreach ( array( 'timeout', 'verify_peer', 'ca_file', 'tls_min_version', 'username', 'password', 'api_base', 'region' ) as $key ) {
			if ( ! array_key_exists( $key, $t ) ) {
				$t[ $key ] = RustMail_Settings_Schema::default_value( $key );
			}
		}
		$t['api']         = (string) $t['api'];
		$t['timeout']     = max( 1, min( 3600, (int) $t['timeout'] ) );
		$t['verify_peer'] = null === $t['verify_peer'] ? true : (bool) $t['verify_peer'];
		return $t;
	}

	/** Header injection, no recipient, a base that is not https://, a ca_file the extension would not read. */
	private static function input_problem( array $envelope, array $t ) {
		$values = array_merge( array( (string) ( $envelope['from'] ?? '' ) ), (array) ( $envelope['to'] ?? array() ), array( (string) $t['username'], (string) $t['api_base'], (string) $t['region'] ) );
		foreach ( $values as $value ) {
			if ( preg_match( '/[\r\n\0]/', (string) $value ) ) {
				return 'a CR, LF or NUL character in an address or setting (header injection) was refused';
			}
		}
		if ( empty( $envelope['to'] ) ) {
			return 'the message has no recipient';
		}
		if ( '' !== (string) $t['api_base'] && ( 0 !== stripos( (string) $t['api_base'], 'https://' ) || '' === (string) parse_url( (string) $t['api_base'], PHP_URL_HOST ) ) ) {
			return "\$transport['api_base'] must be an https:// address, got '{$t['api_base']}'";
		}
		if ( 'graph' === $t['api'] && '' === (string) $t['username'] ) {
			return "\$transport['username'] (the mailbox) is required for the Graph API";
		}
		if ( '' === (string) $t['password'] ) {
			return "\$transport['password'] (the " . ( 'mailgun' === $t['api'] ? 'API key' : 'access token' ) . ') is required';
		}
		if ( '' !== (string) $t['ca_file'] ) {
			$problem = RustMail_Transport_PhpMailer::ca_file_problem( (string) $t['ca_file'] );
			return '' === $problem ? '' : "\$transport['ca_file'] {$problem}";
		}
		return '';
	}

	/**
	 * An API's base URL and size limit, as the extension declares them (the export's `api.providers`).
	 *
	 * @return array{base: string|array<string, string>, size_limit: int}
	 */
	private static function provider( $api ) {
		return RustMail_Explain_Data::get()['api']['providers'][ $api ];
	}

	/** The base URL: api_base, else the provider's (Mailgun's by region, us unless eu), without a trailing slash. */
	private static function base( array $t ) {
		if ( '' !== (string) $t['api_base'] ) {
			return rtrim( (string) $t['api_base'], '/' );
		}
		$base = self::provider( $t['api'] )['base'];
		if ( is_array( $base ) ) {
			$base = $base[ strtolower( (string) $t['region'] ) ] ?? $base['us'];
		}
		return rtrim( str_replace( '{region}', rawurlencode( (string) $t['region'] ), (string) $base ), '/' );
	}

	/** @return array{url: string, path: string, headers: array, body: string} the API's request for this message. */
	private static function request( $raw, array $envelope, array $t ) {
		$base = self::base( $t );
		$user = (string) $t['username'];
		switch ( $t['api'] ) {
			case 'graph':
				$path    = '/v1.0/users/' . rawurlencode( $user ) . '/sendMail';
				$headers = array(
					'Content-Type'  => 'text/plain',
					'Authorization' => 'Bearer ' . $t['password'],
				);
				$body    = base64_encode( self::with_bcc( $raw, $envelope ) );
				break;
			case 'gmail':
				$path    = '/upload/gmail/v1/users/' . rawurlencode( '' === $user ? 'me' : $user ) . '/messages/send?uploadType=media';
				$headers = array(
					'Content-Type'  => 'message/rfc822',
					'Authorization' => 'Bearer ' . $t['password'],
				);
				$body    = self::with_bcc( $raw, $envelope );
				break;
			default: // mailgun
				$domain   = '' === $user ? substr( (string) strrchr( (string) $envelope['from'], '@' ), 1 ) : $user;
				$path     = '/v3/' . rawurlencode( $domain ) . '/messages.mime';
				$boundary = 'rust-mail-' . bin2hex( random_bytes( 12 ) );
				$headers  = array(
					'Content-Type'  => 'multipart/form-data; boundary=' . $boundary,
					'Authorization' => 'Basic ' . base64_encode( 'api:' . $t['password'] ),
				);
				$body     = "--{$boundary}\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n" . implode( ',', $envelope['to'] ) . "\r\n"
					. "--{$boundary}\r\nContent-Disposition: form-data; name=\"message\"; filename=\"message.mime\"\r\nContent-Type: message/rfc822\r\n\r\n"
					. $raw . "\r\n--{$boundary}--\r\n";
		}
		return array(
			'url'     => $base . $path,
			'path'    => (string) parse_url( $base, PHP_URL_PATH ) . $path,
			'headers' => $headers,
			'body'    => $body,
		);
	}

	/**
	 * A composed message as an API needs it, on either engine: Graph and Gmail take the recipients from the headers,
	 * so the envelope's recipients that no To or Cc header names (wp_mail()'s Bcc) go in a Bcc header. The extension
	 * adds it to the messages it composes; the plugin hands it composed bytes (`raw`), so the plugin adds it.
	 */
	public static function for_api( $raw, array $envelope, $api ) {
		return in_array( $api, array( 'graph', 'gmail' ), true ) ? self::with_bcc( $raw, $envelope ) : $raw;
	}

	/**
	 * The Bcc header of for_api(), right after the last From, To or Cc header, folded as address headers are.
	 */
	private static function with_bcc( $raw, array $envelope ) {
		$end    = strpos( $raw, "\r\n\r\n" );
		$head   = false === $end ? $raw : substr( $raw, 0, $end + 2 );
		$lines  = preg_split( '/(?<=\r\n)/', $head, -1, PREG_SPLIT_NO_EMPTY );
		$named  = array();
		$after  = -1;
		$fields = array();
		foreach ( $lines as $i => $line ) {
			if ( ' ' === $line[0] || "\t" === $line[0] ) {
				if ( $fields ) {
					$fields[ count( $fields ) - 1 ][1] .= $line;
					$fields[ count( $fields ) - 1 ][2]  = $i;
				}
				continue;
			}
			$fields[] = array( strtolower( (string) strstr( $line, ':', true ) ), $line, $i );
		}
		foreach ( $fields as $field ) {
			if ( in_array( $field[0], array( 'from', 'to', 'cc' ), true ) ) {
				$after = $field[2];
				if ( 'from' !== $field[0] && preg_match_all( '/[^\s<>,;:"@]+@[^\s<>,;"]+/', $field[1], $m ) ) {
					array_push( $named, ...array_map( 'strtolower', $m[0] ) );
				}
			}
		}
		$hidden = array_values( array_filter( $envelope['to'], fn ( $address ) => ! in_array( strtolower( $address ), $named, true ) ) );
		if ( ! $hidden || $after < 0 ) {
			return $raw;
		}
		$header = 'Bcc:';
		$line   = $header;
		foreach ( $hidden as $n => $address ) {
			$piece = ' ' . $address . ( $n < count( $hidden ) - 1 ? ',' : '' );
			if ( strlen( $line ) + strlen( $piece ) > 78 && $line !== $header ) {
				$header .= "\r\n";
				$line    = '';
			}
			$header .= $piece;
			$line   .= $piece;
		}
		array_splice( $lines, $after + 1, 0, array( $header . "\r\n" ) );
		return implode( '', $lines ) . ( false === $end ? '' : substr( $raw, $end + 2 ) );
	}

	/** The request over WordPress's HTTP API, and its result. */
	private static function post( array $request, array $envelope, array $t, $raw ) {
		$args = array(
			'method'      => 'POST',
			'timeout'     => $t['timeout'],
			'redirection' => 0, // The token or key is never sent on to wherever a redirect points.
			'headers'     => $request['headers'],
			'body'        => $request['body'],
			'sslverify'   => (bool) $t['verify_peer'],
		);
		if ( '' !== (string) $t['ca_file'] ) {
			$args['sslcertificates'] = (string) $t['ca_file'];
		}
		self::note( 'client', sprintf( 'POST %s (%d bytes)', $request['path'], strlen( $request['body'] ) ) );
		$min_tls = static function ( $handle ) use ( $t ) {
			if ( defined( 'CURL_SSLVERSION_TLSv1_3' ) && '1.3' === (string) $t['tls_min_version'] ) {
				curl_setopt( $handle, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_3 ); // phpcs:ignore WordPress.WP.AlternativeFunctions
			} elseif ( defined( 'CURL_SSLVERSION_TLSv1_2' ) ) {
				curl_setopt( $handle, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2 ); // phpcs:ignore WordPress.WP.AlternativeFunctions
			}
		};
		add_action( 'http_api_curl', $min_tls );
		$start    = microtime( true );
		$response = wp_remote_request( $request['url'], $args );
		remove_action( 'http_api_curl', $min_tls );
		$timings = array(
			'connect' => 0,
			'tls'     => 0,
			'auth'    => 0,
			'send'    => self::ms_since( $start ),
		);
		if ( is_wp_error( $response ) ) {
			return self::unreachable( $response->get_error_message(), $t, $timings );
		}
		$status = (int) wp_remote_retrieve_response_code( $response );
		$reason = (string) wp_remote_retrieve_response_message( $response );
		self::note( 'server', trim( $status . ' ' . $reason ) );
		foreach ( self::REQUEST_ID_HEADERS as $name ) {
			$value = wp_remote_retrieve_header( $response, $name );
			if ( is_string( $value ) && '' !== $value ) {
				self::note( 'server', $name . ': ' . preg_replace( '/[^\x20-\x7e]/', '', $value ) );
			}
		}
		$body = (string) wp_remote_retrieve_body( $response );
		if ( self::ACCEPTED[ $t['api'] ] === $status ) {
			$result               = self::result( $t, $status, null, trim( $status . ' ' . $reason ), $timings );
			$result['ok']         = true;
			$result['message_id'] = preg_match( '/^Message-ID:\s*(.+?)\r?$/mi', substr( $raw, 0, (int) strpos( $raw . "\r\n\r\n", "\r\n\r\n" ) ), $m ) ? trim( $m[1] ) : '';
			$result['accepted']   = array_values( $envelope['to'] );
			return $result;
		}
		list( $code, $words, $is_api ) = self::provider_error( $t['api'], $body );
		$reply = $status . ' ' . ( null !== $code ? $code : $reason ) . ( '' === $words ? '' : ': ' . $words );
		if ( '' !== $words || null !== $code ) {
			self::note( 'info', trim( ( $code ?? '' ) . ' ' . $words ) );
		}
		if ( ! $is_api && ! in_array( $status, array( 401, 413, 429 ), true ) && $status < 500 ) {
			// Not the API's answer (a proxy's page, a captive portal, a redirect): only these statuses say something
			// whoever sent them, as the extension judges (src/api/response.rs).
			$verdict = array( 'kind' => 'protocol', 'cause' => 'unknown', 'transient' => false );
		} else {
			$verdict = RustMail_Explain_Classifier::judge_api_answer( $t['api'], $status, $code, $words );
		}
		$retry_after = in_array( $status, array( 429, 503 ), true ) ? self::retry_after( wp_remote_retrieve_header( $response, 'retry-after' ) ) : null;
		$message     = sprintf( 'the %s API refused the message: %s', $t['api'], $reply );
		$result      = self::failed( $t, $verdict, 'request', $message, $status, $timings, $code, $reply, $retry_after );
		if ( 'recipient_rejected' === $verdict['cause'] ) {
			// An API answers for the request, not each recipient: a recipient refusal is every recipient's, each
			// with the reply line, as the extension's result says it (src/api/client.rs) and the outbox reads it.
			$result['rejected'] = array_fill_keys( $envelope['to'], $result['reply'] );
		}
		return $result;
	}

	/**
	 * The provider's error code and words from an error body: Graph's {"error": {"code", "message"}}, Google's
	 * {"error": {"errors": [{"reason"}], "status", "message"}}, Mailgun's {"message"}.
	 *
	 * @return array{0: string|null, 1: string, 2: bool} code, message, and whether the body was the API's JSON.
	 */
	private static function provider_error( $api, $body ) {
		$json = json_decode( $body, true );
		if ( ! is_array( $json ) ) {
			return array( null, '', false );
		}
		$error   = is_array( $json['error'] ?? null ) ? $json['error'] : array();
		$message = (string) ( $error['message'] ?? $json['message'] ?? ( is_string( $json['error'] ?? null ) ? $json['error'] : '' ) );
		$code    = null;
		if ( 'gmail' === $api ) {
			// Google's reason, else its status (PERMISSION_DENIED).
			$code = (string) ( $error['errors'][0]['reason'] ?? ( is_string( $error['status'] ?? null ) ? $error['status'] : '' ) );
		} elseif ( isset( $error['code'] ) && is_string( $error['code'] ) ) {
			$code = $error['code'];
		}
		$message = preg_replace( '/[\x00-\x1f\x7f]+/', ' ', $message );
		return array( '' === $code ? null : $code, trim( substr( $message, 0, 500 ) ), true );
	}

	/** Retry-After in seconds: a number of seconds, or an HTTP date; null without one. */
	private static function retry_after( $value ) {
		$value = is_array( $value ) ? (string) end( $value ) : trim( (string) $value );
		if ( '' === $value ) {
			return null;
		}
		if ( ctype_digit( $value ) ) {
			return (int) $value;
		}
		$at = strtotime( $value );
		return false === $at ? null : max( 0, $at - time() );
	}

	/** A request that got no answer, by what the HTTP client (cURL) said. */
	private static function unreachable( $words, array $t, array $timings ) {
		$lower = strtolower( $words );
		$host  = (string) parse_url( self::base( $t ), PHP_URL_HOST );
		$cause = null;
		if ( false !== strpos( $lower, 'resolve' ) ) {
			list( $kind, $stage ) = array( 'dns', 'dns' );
		} elseif ( false !== strpos( $lower, 'refused' ) ) {
			list( $kind, $stage ) = array( 'connect_refused', 'connect' );
		} elseif ( false !== strpos( $lower, 'ssl' ) || false !== strpos( $lower, 'certificate' ) || false !== strpos( $lower, 'tls' ) ) {
			list( $kind, $stage ) = array( 'tls', 'tls_handshake' );
			$cause = false !== strpos( $lower, 'certificate' ) || false !== strpos( $lower, 'issuer' ) ? 'tls_certificate_invalid' : 'tls_handshake_failed';
		} elseif ( false !== strpos( $lower, 'timed out' ) || false !== strpos( $lower, 'timeout' ) ) {
			$connecting = false !== strpos( $lower, 'connect' ) && false === strpos( $lower, 'bytes received' );
			list( $kind, $stage ) = $connecting ? array( 'connect_timeout', 'connect' ) : array( 'timeout', 'request' );
		} elseif ( false !== strpos( $lower, 'connect' ) || false !== strpos( $lower, 'unreachable' ) ) {
			list( $kind, $stage ) = array( 'connect_refused', 'connect' );
		} else {
			list( $kind, $stage ) = array( 'protocol', 'request' );
		}
		$verdict = array(
			'kind'      => $kind,
			'cause'     => $cause ?? RustMail_Explain_Classifier::cause_of_kind( $kind ),
			'transient' => RustMail_Explain_Classifier::kind_is_transient( $kind ),
		);
		self::note( 'info', $words );
		return self::failed( $t, $verdict, $stage, sprintf( 'no answer from %s:443: %s', $host, $words ), null, $timings );
	}

	/** A refusal before any request: the plugin's own kind ('engine') or the extension's invalid_input. */
	private static function refused( array $t, $kind, $message ) {
		$result          = self::result( $t, null, null, null, array() );
		$result['error'] = array(
			'kind'        => $kind,
			'message'     => $message,
			'transient'   => false,
			'cause'       => $kind,
			'advice'      => array(),
			'stage'       => 'input',
			'retry_after' => null,
		);
		return $result;
	}

	/**
	 * A failed result with the verdict of the API's table, and the classifier's summary and advice for its cause.
	 *
	 * @param array{kind: string, cause: string, transient: bool} $verdict
	 */
	private static function failed( array $t, array $verdict, $stage, $message, $status, array $timings, $code = null, $reply = null, $retry_after = null ) {
		$result = self::result( $t, $status, $code, $reply, $timings );
		$advice = array();
		try {
			$failure = array(
				'kind'    => $verdict['kind'],
				'message' => $message,
				'code'    => $status,
			);
			if ( RustMail_Explain_Classifier::is_cause( $verdict['cause'] ) ) {
				$failure['cause'] = $verdict['cause'];
				$advice           = RustMail_Explain_Classifier::explain( $failure + array( 'enhanced_code' => $code, 'reply' => $reply ), self::described( $t ) )['advice'];
			}
		} catch ( Throwable $e ) {
			$advice = array();
		}
		$result['error'] = array(
			'kind'        => $verdict['kind'],
			'message'     => $message,
			'transient'   => $verdict['transient'],
			'cause'       => $verdict['cause'],
			'advice'      => $advice,
			'stage'       => $stage,
			'retry_after' => $retry_after,
		);
		return $result;
	}

	/** The transport as the classifier may see it: no secret. */
	private static function described( array $t ) {
		return array_filter(
			array(
				'api'      => $t['api'],
				'api_base' => (string) $t['api_base'],
				'username' => (string) $t['username'],
			),
			'strlen'
		);
	}

	private static function result( array $t, $status, $code, $reply, array $timings ) {
		$timings['total'] = self::ms_since( self::$started );
		$forms            = RustMail_Explain_Redactor::secret_forms( $t );
		$transcript       = self::$transcript;
		foreach ( $transcript as &$entry ) {
			$entry['line'] = RustMail_Explain_Redactor::text( $entry['line'], $forms );
		}
		unset( $entry );
		return array(
			'ok'                => false,
			'message_id'        => '',
			'accepted'          => array(),
			'rejected'          => array(),
			'code'              => $status,
			'enhanced_code'     => $code,
			'reply'             => null === $reply ? null : RustMail_Explain_Redactor::text( $reply, $forms ),
			'error'             => null,
			'transcript'        => $transcript,
			'timings'           => $timings,
			'reused_connection' => false,
		);
	}

	private static function note( $direction, $line ) {
		self::$transcript[] = array(
			'ms'   => self::ms_since( self::$started ),
			'dir'  => $direction,
			'line' => substr( $line, 0, RustMail_Transport_PhpMailer::LINE_BYTES ),
		);
	}

	private static function ms_since( $start ) {
		return (int) round( ( microtime( true ) - $start ) * 1000 );
	}
}
