<?php
/**
 * The shape of a send's result, as rust_mail_send() gives it (ok, message_id, accepted, rejected, code,
 * enhanced_code, reply, error with kind, stage, message, cause, advice and transient, transcript, timings): built here
 * for the results the plugin makes itself (the PHPMailer transport, a failure before any transport), and read here
 * for every result. Whether a failure is worth another try is decided with its error, never guessed later.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Transport_Result {

	/**
	 * A result without an error yet.
	 *
	 * @param array{code: int|null, enhanced: string, text: string} $reply the last reply.
	 */
	public static function of_reply( array $reply, array $transcript, array $timings, $reused ) {
		return array(
			'ok'                => false,
			'message_id'        => '',
			'accepted'          => array(),
			'rejected'          => array(),
			'code'              => $reply['code'],
			'enhanced_code'     => '' === $reply['enhanced'] ? null : $reply['enhanced'],
			'reply'             => '' === $reply['text'] ? null : $reply['text'],
			'error'             => null,
			'transcript'        => $transcript,
			'timings'           => $timings,
			'reused_connection' => $reused,
		);
	}

	/**
	 * A result with the error of a failed send, classified as the extension classifies its own: cause, advice and
	 * whether it is transient (a 4xx reply, or a kind the export calls transient). While the exported rules cannot be
	 * read the cause is the kind itself, with no advice.
	 *
	 * @param array  $failure   kind, message, code, enhanced_code, reply, and cause when the transport knows it.
	 * @param string $stage     the step that failed, as the extension names it.
	 * @param array  $described the transport without secrets, for the advice.
	 */
	public static function with_error( array $result, array $failure, $stage, array $described ) {
		$kind = $failure['kind'];
		$code = $failure['code'];
		try {
			$verdict   = 'invalid_input' === $kind ? array( 'cause' => 'invalid_input', 'advice' => array() ) : RustMail_Explain_Classifier::explain( $failure, $described );
			$transient = null !== $code ? $code < 500 : RustMail_Explain_Classifier::kind_is_transient( $kind );
		} catch ( Throwable $e ) {
			$verdict   = array( 'cause' => $kind, 'advice' => array() );
			$transient = null !== $code && $code < 500;
		}
		$result['error'] = array(
			'kind'        => $kind,
			'message'     => $failure['message'],
			'transient'   => $transient,
			'cause'       => $verdict['cause'],
			'advice'      => $verdict['advice'],
			// Only an HTTP API's 429 or 503 says when to come back (RustMail_Transport_Http_Api).
			'retry_after' => null,
			'stage'       => $stage,
		);
		return $result;
	}

	/** A failure of the plugin's own making, before any transport was reached (no OAuth2 token, unusable settings). */
	public static function failure( $kind, $message, $transient ) {
		return array(
			'ok'    => false,
			'error' => array( 'kind' => $kind, 'message' => $message, 'transient' => $transient ),
		);
	}

	/**
	 * A failure from what was thrown before any server was reached; the one place such exceptions become causes:
	 * - no OAuth2 token (RustMail_OAuth_Exception): the token endpoint's answer. An endpoint that cannot be reached
	 *   is worth another try; a refusal of the app, or of the mailbox's sign-in, is not;
	 * - settings that forbid the send (RustMail_Settings_Exception: a secret from wp-config.php and a server from the
	 *   page): `settings`;
	 * - anything else (the extension's RustMailException: input it refuses, such as a setting): `invalid_input`.
	 */
	public static function of_exception( Throwable $e ) {
		if ( $e instanceof RustMail_OAuth_Exception ) {
			$failure                   = self::failure( $e->kind(), $e->getMessage(), $e->is_transient() );
			$failure['error']['cause'] = $e->cause(); // What failed (oauth_blocked, oauth_tls...), for the log's advice.
			return $failure;
		}
		return self::failure( $e instanceof RustMail_Settings_Exception ? 'settings' : 'invalid_input', $e->getMessage(), false );
	}

	/**
	 * @return array{kind: string, cause: string, message: string, transient: bool, retry_after: int|null} of a
	 *         result's `error`, all empty when there is none; retry_after is the seconds an API asked to wait.
	 */
	public static function error( array $result ) {
		$error = is_array( $result['error'] ?? null ) ? $result['error'] : array();
		$kind  = (string) ( $error['kind'] ?? '' );
		return array(
			'retry_after' => is_numeric( $error['retry_after'] ?? null ) ? max( 0, (int) ceil( (float) $error['retry_after'] ) ) : null,
			'kind'      => $kind,
			// The diagnosis's cause, which the extension's classifier gives; a failure of the plugin's own (oauth,
			// settings, invalid_input) is its own cause.
			'cause'     => (string) ( $error['cause'] ?? $kind ),
			'message'   => (string) ( $error['message'] ?? '' ),
			'transient' => ! empty( $error['transient'] ),
		);
	}

	/** Whether a failed result is worth another try, as its error says. */
	public static function is_transient( array $result ) {
		return self::error( $result )['transient'];
	}

	/**
	 * Whether a recipient's refusal (`rejected`'s "450 4.2.1 ..." text: the reply as the server sent it) is worth
	 * another try: a 4xx reply is, by SMTP's own definition (RFC 5321, 4.2.1), unless the attempt (an
	 * RustMail_Outbox_Outcome::attempt_record()) failed for good as a whole. An HTTPS API refuses the whole request,
	 * and its "400 ErrorInvalidRecipients: ..." line is an HTTP status, not SMTP's 4xx.
	 */
	public static function refusal_is_transient( $reply, array $attempt ) {
		$attempt_may_be_retried = ! empty( $attempt['ok'] ) || ( $attempt['transient'] ?? true ); // Records written before 'transient' existed: by the reply alone.
		return $attempt_may_be_retried && '4' === substr( (string) $reply, 0, 1 );
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
