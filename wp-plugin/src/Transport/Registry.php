<?php
/**
 * Which transport carries the mail: the first of TRANSPORTS that is available in this PHP (the rust_mail extension
 * when it is loaded, else PHPMailer's SMTP client that ships with WordPress). Adding a transport means a class that
 * implements RustMail_Transport_Interface and a line in TRANSPORTS.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

final class RustMail_Transport_Registry {

	/** Every transport, in order of preference. PHPMailer is always available, so it comes last. */
	const TRANSPORTS = array(
		'RustMail_Transport_Extension',
		'RustMail_Transport_PhpMailer',
	);

	/** @return class-string<RustMail_Transport_Interface> the transport in use */
	public static function current_class() {
		foreach ( self::TRANSPORTS as $class ) {
			if ( $class::is_available() ) {
				return $class;
			}
		}
		return end( self::TRANSPORTS );
	}

	/** The name of the transport in use, as the log records it. */
	public static function current() {
		return self::current_class()::name();
	}

	/**
	 * Sends composed bytes through the transport in use.
	 *
	 * @throws Throwable what the transport throws for input it refuses (the extension's RustMailException).
	 */
	public static function send_raw( $raw, array $envelope, array $transport ) {
		return self::current_class()::send( $raw, $envelope, $transport );
	}

	/** Whether send_many() goes over parallel connections (the extension) rather than not at all (PHPMailer). */
	public static function sends_in_parallel() {
		return is_subclass_of( self::current_class(), 'RustMail_Transport_Parallel' );
	}

	/** How many connections send_many() opens: 4, or what the filter `rust_mail_parallel_connections` says. */
	public static function parallel_connections() {
		return max( 1, (int) apply_filters( 'rust_mail_parallel_connections', 4 ) );
	}

	/**
	 * Composed messages over parallel_connections() connections of one transport (Microsoft 365 allows 3 per
	 * mailbox), where sends_in_parallel(): see RustMail_Transport_Parallel::send_many().
	 *
	 * @throws Throwable what the transport throws for a transport it refuses.
	 */
	public static function send_many( array $messages, array $transport, $seconds ) {
		return self::current_class()::send_many( $messages, $transport, self::parallel_connections(), $seconds );
	}

	/** A short text mail, composed by PHPMailer as core would, sent straight through the transport (not wp_mail()). */
	public static function send_text( $from, $to, $subject, $text, array $transport ) {
		require_once ABSPATH . WPINC . '/PHPMailer/PHPMailer.php';
		require_once ABSPATH . WPINC . '/PHPMailer/Exception.php';
		$mail          = new PHPMailer\PHPMailer\PHPMailer( true );
		$mail->CharSet = 'UTF-8';
		$mail->Mailer  = 'smtp';
		$mail->setFrom( $from );
		$mail->addAddress( $to );
		$mail->Subject = $subject;
		$mail->Body    = $text;
		$mail->preSend();
		return self::send_raw( $mail->getSentMIMEMessage(), array( 'from' => $from, 'to' => array( $to ) ), $transport );
	}

	/** A transport as the log shows it, by the name it recorded; '' for a row written before transports were recorded. */
	public static function label( $name ) {
		foreach ( self::TRANSPORTS as $class ) {
			if ( $class::name() === $name ) {
				return $class::label();
			}
		}
		return '';
	}

	/** Why the transport in use: one sentence for the settings page and Site Health. */
	public static function reason() {
		return self::current_class()::reason();
	}
}
