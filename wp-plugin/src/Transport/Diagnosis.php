<?php
/**
 * Diagnose: the extension's step-by-step walk of the configured connection (rust_mail_diagnose()), with the envelope
 * tried too (MAIL FROM and RCPT TO, then RSET: nothing is sent), so that "may not send as this address" and relay
 * refusals show up here and not only on the first real mail. Over the Graph or Gmail API it reads the access token
 * instead (its expiry, and its roles or the scopes the sign-in was granted), sending nothing. Plain arguments: the
 * settings page calls it, and a command could.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Transport_Diagnosis {

	/**
	 * @param string $from       the envelope sender to try.
	 * @param string $to         the recipient to try.
	 * @param string $connection the connection to walk (a name of RustMail_Settings_Connections::all()).
	 * @return array rust_mail_diagnose()'s answer (ok, steps, verdict with cause, summary and advice) and the
	 *               `connection` it walked; a transport that cannot be built (no OAuth2 token, unusable settings,
	 *               refused input) is a verdict too.
	 */
	public static function run( $from, $to, $connection = RustMail_Settings_Connections::PRIMARY ) {
		$prefix     = RustMail_Settings_Connections::prefix( $connection );
		$token_step = null;
		$transport  = array();
		try {
			if ( RustMail_OAuth_Token::is_configured( $prefix ) ) {
				// The token is the walk's first step: asked for anew, so that a cached one hides no problem of the
				// app, the sign-in or the way to the token endpoint.
				RustMail_OAuth_Token::forget();
				list( $token_step, $token_error ) = self::token_step( $prefix );
				if ( $token_error ) {
					throw $token_error;
				}
			}
			$transport = RustMail_Transport_Connection::transport( true, $prefix );
			$dkim      = RustMail_Mail_Dkim::transport_option();
			if ( $dkim && ! isset( $transport['api'] ) ) {
				// The walk then checks that the DKIM record is published and holds this key (its dkim_dns step).
				$transport['dkim'] = $dkim;
			}
			$options   = array(
				'from' => $from,
				'to'   => $to,
			);
			$nameserver = RustMail_Settings_Direct_Send::nameserver();
			if ( '' !== $nameserver ) {
				$options['nameserver'] = $nameserver;
			}
			if ( isset( $transport['api'] ) && RustMail_OAuth_Grant::exists() ) {
				// A sign-in's token may be opaque (Google's always is): the scopes the provider granted with it say
				// whether it may send. An app-only Graph token carries its roles in itself.
				$options['token_scopes'] = RustMail_OAuth_Grant::scopes();
			}
			$diagnosis = rust_mail_diagnose( $transport, $options );
		} catch ( Throwable $e ) {
			$error     = RustMail_Transport_Result::error( RustMail_Transport_Result::of_exception( $e ) );
			$diagnosis = array(
				'ok'      => false,
				'steps'   => array(),
				'verdict' => array(
					'cause'   => $error['cause'],
					'summary' => $error['message'],
					'advice'  => $e instanceof RustMail_OAuth_Exception ? $e->advice() : array(),
				),
			);
		}
		if ( $token_step && 'fail' === $token_step['status'] ) {
			$diagnosis['steps'] = array( $token_step );
		} elseif ( $token_step && ! isset( $transport['api'] ) ) {
			// Over an API the extension's walk reads the token itself (its `token` step); over SMTP it is ours.
			array_unshift( $diagnosis['steps'], $token_step );
		}
		RustMail_OAuth_Token::forget_if_refused( (string) ( $diagnosis['verdict']['cause'] ?? '' ) );
		$diagnosis['connection'] = $connection;
		return $diagnosis;
	}

	/**
	 * Asks for the connection's access token and times it, as a step of the walk.
	 *
	 * @return array{0: array{name: string, status: string, ms: float, detail: string}, 1: RustMail_OAuth_Exception|null}
	 *         the step, and why there is no token.
	 */
	private static function token_step( $prefix ) {
		$started = microtime( true );
		$error   = null;
		try {
			RustMail_OAuth_Token::token( $prefix );
		} catch ( RustMail_OAuth_Exception $e ) {
			$error = $e;
		}
		$step = array(
			'name'   => 'token',
			'status' => $error ? 'fail' : 'ok',
			'ms'     => round( ( microtime( true ) - $started ) * 1000, 1 ),
		);
		if ( $error ) {
			$step['detail'] = $error->getMessage();
		} elseif ( RustMail_OAuth_Grant::exists() && '' === $prefix ) {
			$step['detail'] = __( 'The mailbox\'s sign-in gave a new access token.', 'rust-mail' );
		} else {
			$step['detail'] = __( 'The token endpoint gave the app a new access token.', 'rust-mail' );
		}
		return array( $step, $error );
	}
}
