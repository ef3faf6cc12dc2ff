<?php
/**
 * Reading a rust_mail_send() result (or a failure of the plugin's own in the same shape): its error's parts and the
 * text core's wp_mail_failed carries.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class Rust_Mail_Result {

	/**
	 * @return array{kind: string, cause: string, message: string, transient: bool} of a result's `error`, all empty
	 *         when there is none.
	 */
	public static function error( array $result ) {
		$error = is_array( $result['error'] ?? null ) ? $result['error'] : array();
		$kind  = (string) ( $error['kind'] ?? '' );
		return array(
			'kind'      => $kind,
			// The diagnosis's cause, which the extension's classifier gives; a failure of the plugin's own (oauth,
			// settings, invalid_input) is its own cause.
			'cause'     => (string) ( $error['cause'] ?? $kind ),
			'message'   => (string) ( $error['message'] ?? '' ),
			'transient' => ! empty( $error['transient'] ),
		);
	}

	/** The text wp_mail_failed carries, like PHPMailer's own "SMTP Error: ..." messages. */
	public static function failure_text( array $result ) {
		$error = self::error( $result );
		if ( '' === $error['message'] ) {
			return 'SMTP Error: the message was not sent.';
		}
		return 'SMTP Error: ' . $error['message'];
	}
}
