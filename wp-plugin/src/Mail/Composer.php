<?php
/**
 * The composer: the PHPMailer that core's own wp_mail() uses while rust-mail routes mail. It composes; the transport
 * in use (RustMail_Transport_Registry) carries what it composed.
 *
 * Why a subclass instead of re-implementing wp_mail(): core's wp_mail() reuses the global $phpmailer when it is a
 * PHPMailer, so with this object in place every step of core runs unchanged: the `wp_mail`, `wp_mail_from`,
 * `wp_mail_from_name`, `wp_mail_content_type` and `wp_mail_charset` filters, header parsing, attachments with names,
 * `phpmailer_init`, and the `wp_mail_succeeded` / `wp_mail_failed` actions with their exact data. Only the last step
 * changes: PHPMailer composes the message exactly as it would for SMTP (Mailer 'smtp': CRLF line endings, To and
 * Subject in the header, Bcc left out, DKIM signed if configured) and, where it would talk SMTP itself, hands the
 * bytes and the envelope to the outbox instead (RustMail_Mail_Router::deliver()).
 *
 * Loaded only when needed (RustMail_Mail_Router loads PHPMailer first): PHPMailer itself is loaded on demand by
 * WordPress too.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

/*
 * WordPress 6.8+ makes its mailer a WP_PHPMailer, whose error messages go through __(): on a translated site
 * wp_mail_failed then says what went wrong in the site's language. The composer stands in for core's mailer, so it
 * takes the same parent where there is one (the router loads core's class first); before 6.8, PHPMailer itself.
 */
if ( class_exists( 'WP_PHPMailer', false ) ) {
	abstract class RustMail_Mail_Composer_Base extends WP_PHPMailer {} // phpcs:ignore Generic.Files.OneObjectStructurePerFile
} else {
	abstract class RustMail_Mail_Composer_Base extends PHPMailer\PHPMailer\PHPMailer {} // phpcs:ignore Generic.Files.OneObjectStructurePerFile
}

class RustMail_Mail_Composer extends RustMail_Mail_Composer_Base {

	public function send() {
		// Whatever mailer core (isMail()) or a phpmailer_init callback chose, this plugin is the transport. Keep-alive
		// belongs to PHPMailer's own SMTP client, which is never opened here (the extension has its own pool).
		$this->Mailer        = 'smtp';
		$this->SMTPKeepAlive = false;
		RustMail_Mail_Router::apply_forced_from( $this );
		RustMail_Mail_Dkim::apply( $this );
		return parent::send();
	}

	/**
	 * Core calls this without a name on WordPress releases that ignore `name => path` attachments; the name the
	 * caller gave is put back so that named attachments keep their names.
	 */
	public function addAttachment( $path, $name = '', $encoding = self::ENCODING_BASE64, $type = '', $disposition = 'attachment' ) {
		if ( '' === $name ) {
			$name = RustMail_Mail_Router::attachment_name( $path );
		}
		return parent::addAttachment( $path, $name, $encoding, $type, $disposition );
	}

	/**
	 * Replaces PHPMailer's SMTP conversation. Same envelope as PHPMailer's smtpSend(): Sender if set, else From;
	 * every To, Cc and Bcc address. Same outcome too: an exception when the server refuses the message, or when it
	 * refuses some recipients (after delivering to the others).
	 *
	 * @param string $header MIME header built by preSend().
	 * @param string $body   MIME body built by preSend().
	 * @throws PHPMailer\PHPMailer\Exception when the message was not delivered to every recipient.
	 */
	protected function smtpSend( $header, $body ) {
		// PHPMailer's SMTP::data() sends every line of the message followed by CRLF, the empty one after the body's
		// final line break included: the same trailing CRLF here keeps the bytes on the wire identical to stock.
		$raw        = RustMail_Mail_Header_Lines::fold( static::stripTrailingWSP( $header ) ) . static::$LE . static::$LE . $body . static::$LE;
		$from       = '' === $this->Sender ? $this->From : $this->Sender;
		$recipients = array();
		foreach ( array( $this->to, $this->cc, $this->bcc ) as $group ) {
			foreach ( $group as $address ) {
				$recipients[] = $address[0];
			}
		}

		try {
			$result = RustMail_Mail_Router::deliver( $this, $raw, $from, $recipients );
		} catch ( Throwable $e ) {
			// Only PHPMailer's own exception may leave wp_mail() (core turns it into wp_mail_failed): never a fatal.
			$result = RustMail_Transport_Result::of_exception( $e );
		}

		if ( ! empty( $result['queued'] ) ) {
			// Stored: wp_mail() returns true, as mail() does once a local MTA has the message.
			RustMail_Mail_Router::defer_success_announcement();
			return true;
		}
		if ( empty( $result['ok'] ) ) {
			throw new PHPMailer\PHPMailer\Exception( RustMail_Transport_Result::failure_text( $result ), self::STOP_CRITICAL );
		}
		if ( ! empty( $result['rejected'] ) ) {
			$refused = '';
			foreach ( $result['rejected'] as $address => $reply ) {
				$refused .= $address . ': ' . $reply;
			}
			throw new PHPMailer\PHPMailer\Exception( $this->lang( 'recipients_failed' ) . $refused, self::STOP_CONTINUE );
		}
		return true;
	}
}
