<?php
/**
 * The rust_mail extension as a transport: rust_mail_send(), and rust_mail_send_many() over parallel connections.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

final class RustMail_Transport_Extension implements RustMail_Transport_Parallel {

	public static function name() {
		return 'extension';
	}

	public static function label() {
		return __( 'rust_mail extension', 'rust-mail' );
	}

	public static function reason() {
		/* translators: %s: extension version */
		return sprintf( __( 'The rust_mail PHP extension (version %s) is loaded: mail goes out through its native SMTP client.', 'rust-mail' ), (string) phpversion( 'rust_mail' ) );
	}

	public static function is_available() {
		return function_exists( 'rust_mail_send' );
	}

	public static function send( $raw, array $envelope, array $transport ) {
		$raw = RustMail_Transport_Http_Api::for_api( $raw, $envelope, $transport['api'] ?? '' );
		return rust_mail_send( array( 'raw' => $raw, 'envelope' => $envelope ), $transport );
	}

	public static function send_many( array $messages, array $transport, $connections, $seconds ) {
		foreach ( $messages as &$message ) {
			$message['raw'] = RustMail_Transport_Http_Api::for_api( $message['raw'], $message['envelope'], $transport['api'] ?? '' );
		}
		unset( $message );
		return rust_mail_send_many(
			$messages,
			$transport,
			array(
				'connections' => $connections,
				'transcripts' => 'all',
				'timeout'     => $seconds,
			)
		);
	}

	/** The step-by-step walk of a connection is the extension's: PHPMailer has no such thing. */
	public static function diagnose_available() {
		return function_exists( 'rust_mail_diagnose' );
	}

	/** What the extension adds over PHPMailer, said where it is missing. */
	public static function benefits() {
		return array(
			__( 'Connections kept open across requests (pooling): a mail costs a fraction of a millisecond instead of a new connection and login each time.', 'rust-mail' ),
			__( 'Pipelining: the envelope and the message go out together, two round trips a mail instead of one per command.', 'rust-mail' ),
			__( 'Diagnose: a step-by-step walk of the connection (DNS, ports, TLS certificate, login, envelope, SPF and DMARC) that says what is wrong and what to change.', 'rust-mail' ),
			__( 'Full transcripts with timings, the TLS version and cipher, and one deadline for the whole send whatever the server does.', 'rust-mail' ),
		);
	}

	/** How to install the extension, for a host with a shell and for a host with only a control panel. */
	public static function install_steps() {
		$ini = 'extension=rust_mail.so';
		return array(
			__( 'With a shell: build and install it from the rust-mail source with "./build.sh install", then restart PHP-FPM or the web server.', 'rust-mail' ),
			/* translators: 1: ini line, 2: PHP version */
			sprintf( __( 'With a control panel: upload rust_mail.so built for PHP %2$s (it comes with "./build.sh package") and add the line "%1$s" to PHP\'s settings (cPanel: MultiPHP INI Editor; Plesk: PHP Settings > Additional directives).', 'rust-mail' ), $ini, PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION ),
			__( 'Check with "php -m" (or this page): rust_mail must be listed. Many shared hosts do not allow extensions; the plugin keeps working without it.', 'rust-mail' ),
		);
	}
}
