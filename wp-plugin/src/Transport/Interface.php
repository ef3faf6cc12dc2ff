<?php
/**
 * A way to carry a composed message to a mail server. Every transport takes the same `$transport` settings and gives
 * a result of rust_mail_send()'s shape (ok, accepted, rejected, code, enhanced_code, reply, error with kind, stage,
 * cause, advice and transient, transcript, timings), so the log, the outbox and the explanations do not care which
 * one carried a message. A new transport is a class implementing this, listed in RustMail_Transport_Registry.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

interface RustMail_Transport_Interface {

	/** The name the log records for a message this transport carried ('extension', 'phpmailer'). */
	public static function name();

	/** The transport as the log shows it. */
	public static function label();

	/** Why this transport carries the mail: one sentence for the settings page and Site Health. */
	public static function reason();

	/** Whether it can send in this PHP. */
	public static function is_available();

	/**
	 * Sends composed bytes.
	 *
	 * @param string $raw       a complete message, CRLF line ends.
	 * @param array  $envelope  `from` and `to` (a list of addresses).
	 * @param array  $transport rust_mail_send()'s transport keys.
	 * @return array a result shaped like rust_mail_send()'s.
	 * @throws Throwable for input it refuses before anything is sent (the extension's RustMailException).
	 */
	public static function send( $raw, array $envelope, array $transport );
}
