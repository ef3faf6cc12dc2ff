<?php
/**
 * The test mail: a short mail through wp_mail(), as any plugin's would go, that waits for the server whatever the
 * delivery mode, because whoever asked for it wants the answer now. Plain arguments: the settings page calls it,
 * and a command could.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Mail_Test_Mail {

	/**
	 * @param string $to      a valid address.
	 * @param string $subject the subject, or '' for the plugin's own.
	 * @param string $body    the body, or '' for the plugin's own.
	 * @param bool   $html    whether the body is HTML (sent as text/html, as a plugin's HTML mail goes).
	 * @return array{sent: bool, log_id: int, explanation: array|null} the log entry the mail made, and what went
	 *         wrong (cause and advice, in the classifier's words) when it was not sent.
	 */
	public static function send( $to, $subject = '', $body = '', $html = false ) {
		$immediate = static function () {
			return 'immediate';
		};
		$content_type = static function () use ( $html ) {
			return $html ? 'text/html' : 'text/plain';
		};
		add_filter( 'rust_mail_delivery', $immediate );
		add_filter( 'wp_mail_content_type', $content_type );
		try {
			$sent = wp_mail(
				$to,
				/* translators: %s: site name */
				'' !== $subject ? $subject : sprintf( __( 'Test mail from %s', 'rust-mail' ), wp_specialchars_decode( get_bloginfo( 'name' ), ENT_QUOTES ) ),
				'' !== $body ? $body : __( 'This is a test mail sent by the Rust Mail plugin. If you can read it, WordPress can send mail.', 'rust-mail' )
			);
		} finally {
			remove_filter( 'rust_mail_delivery', $immediate );
			remove_filter( 'wp_mail_content_type', $content_type );
		}
		$log_id = (int) ( RustMail_Log_Store::query( array( 'per_page' => 1, 'page' => 1 ) )['rows'][0]['id'] ?? 0 );
		$entry  = $sent || ! $log_id ? null : RustMail_Log_Store::get( $log_id );
		return array(
			'sent'        => $sent,
			'log_id'      => $log_id,
			'explanation' => $entry ? RustMail_Log_Explainer::for_entry( $entry ) : null,
		);
	}
}
