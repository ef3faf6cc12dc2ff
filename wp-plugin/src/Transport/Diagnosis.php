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
		try {
			$transport = RustMail_Transport_Connection::transport( true, RustMail_Settings_Connections::prefix( $connection ) );
			$options   = array(
				'from' => $from,
				'to'   => $to,
			);
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
					'cause'   => $error['kind'],
					'summary' => $error['message'],
					'advice'  => $e instanceof RustMail_OAuth_Exception ? $e->advice() : array(),
				),
			);
		}
		RustMail_OAuth_Token::forget_if_refused( (string) ( $diagnosis['verdict']['cause'] ?? '' ) );
		$diagnosis['connection'] = $connection;
		return $diagnosis;
	}
}
