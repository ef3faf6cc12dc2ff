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
		return self::smtp_error_text( '' === $error['message'] ? __( 'the message was not sent.', 'rust-mail' ) : $error['message'] );
	}

	/** "SMTP Error: ..." in the site's language, as WordPress 6.8+ translates PHPMailer's own messages. */
	public static function smtp_error_text( $message ) {
		/* translators: %s: why the message was not sent, as the mail server or the extension said it. */
		return sprintf( __( 'SMTP Error: %s', 'rust-mail' ), $message );
	}
}
