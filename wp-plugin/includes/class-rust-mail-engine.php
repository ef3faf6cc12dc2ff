<?php
/**
 * Which engine carries the mail: the rust_mail extension when PHP has it loaded, otherwise PHPMailer's SMTP client
 * that ships with WordPress (Rust_Mail_SMTP_Engine). Both take the same settings and give results of one shape, so
 * everything else in the plugin (log, outbox, explanations) works the same on either.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class Rust_Mail_Engine {

	const EXTENSION = 'extension';
	const PHPMAILER = 'phpmailer';

	public static function current() {
		return self::extension_loaded() ? self::EXTENSION : self::PHPMAILER;
	}

	public static function extension_loaded() {
		return function_exists( 'rust_mail_send' );
	}

	/** The step-by-step walk of a connection is the extension's: PHPMailer has no such thing. */
	public static function diagnose_available() {
		return function_exists( 'rust_mail_diagnose' );
	}

	/**
	 * Sends composed bytes through the engine in use.
	 *
	 * @throws Throwable what rust_mail_send() throws for input it refuses (RustMailException).
	 */
	public static function send_raw( $raw, array $envelope, array $transport ) {
		if ( self::extension_loaded() ) {
			return rust_mail_send( array( 'raw' => $raw, 'envelope' => $envelope ), $transport );
		}
		require_once __DIR__ . '/class-rust-mail-smtp-engine.php';
		return Rust_Mail_SMTP_Engine::send( $raw, $envelope, $transport );
	}

	/** Whether send_many() goes over parallel connections (the extension) rather than not at all (PHPMailer). */
	public static function sends_in_parallel() {
		return function_exists( 'rust_mail_send_many' );
	}

	/** How many connections send_many() opens: 4, or what the filter `rust_mail_parallel_connections` says. */
	public static function parallel_connections() {
		return max( 1, (int) apply_filters( 'rust_mail_parallel_connections', 4 ) );
	}

	/**
	 * Composed messages (`id => ['raw' => ..., 'envelope' => ...]`) over parallel connections of one transport, with
	 * rust_mail_send_many(): one result per message under its id, shaped like rust_mail_send()'s, over
	 * parallel_connections() connections (Microsoft 365 allows 3 per mailbox).
	 * A message not started within `$seconds` is not sent (error kind `timeout`, nothing said to a server).
	 *
	 * @throws Throwable what rust_mail_send_many() throws for a transport it refuses.
	 */
	public static function send_many( array $messages, array $transport, $seconds ) {
		return rust_mail_send_many(
			$messages,
			$transport,
			array(
				'connections' => self::parallel_connections(),
				'transcripts' => 'all',
				'timeout'     => $seconds,
			)
		);
	}

	/** A short text mail, composed by PHPMailer as core would, sent straight through the engine (not wp_mail()). */
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

	/**
	 * What went wrong and what to do, for a logged failure: the extension's classifier, or without it the same rules
	 * as exported data (Rust_Mail_Rules), which give the same answer.
	 */
	public static function explain( array $failure, array $transport ) {
		if ( function_exists( 'rust_mail_explain' ) ) {
			return rust_mail_explain( $failure, $transport );
		}
		return Rust_Mail_Rules::explain( $failure, $transport );
	}

	/** An engine as the log shows it; '' for a row written before engines were recorded. */
	public static function label( $engine ) {
		$labels = array(
			self::EXTENSION => __( 'rust_mail extension', 'rust-mail' ),
			self::PHPMAILER => __( 'PHPMailer (the extension was not loaded)', 'rust-mail' ),
		);
		return $labels[ $engine ] ?? '';
	}

	/** Why this engine: one sentence for the settings page and Site Health. */
	public static function reason() {
		if ( self::extension_loaded() ) {
			/* translators: %s: extension version */
			return sprintf( __( 'The rust_mail PHP extension (version %s) is loaded: mail goes out through its native SMTP client.', 'rust-mail' ), (string) phpversion( 'rust_mail' ) );
		}
		return __( 'The rust_mail PHP extension is not loaded in this PHP, so mail goes out through PHPMailer, the SMTP client that ships with WordPress, with the same settings, log and outbox.', 'rust-mail' );
	}

	/** What the extension adds over PHPMailer, said where it is missing. */
	public static function extension_benefits() {
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

	/** Site Health > Status: which engine, and what the extension would add. */
	public static function site_health_test() {
		$extension = self::extension_loaded();
		$items     = '';
		if ( ! $extension ) {
			$items = '<p>' . esc_html__( 'The extension would add:', 'rust-mail' ) . '</p><ul><li>' . implode( '</li><li>', array_map( 'esc_html', self::extension_benefits() ) ) . '</li></ul>'
				. '<p>' . implode( '</p><p>', array_map( 'esc_html', self::install_steps() ) ) . '</p>';
		}
		return array(
			'label'       => $extension ? __( 'Mail goes out through the rust_mail extension', 'rust-mail' ) : __( 'Mail goes out through PHPMailer: the rust_mail extension is not loaded', 'rust-mail' ),
			'status'      => $extension ? 'good' : 'recommended',
			'badge'       => array( 'label' => __( 'Mail', 'rust-mail' ), 'color' => 'blue' ),
			'description' => '<p>' . esc_html( self::reason() ) . '</p>' . $items,
			'actions'     => '<a href="' . esc_url( Rust_Mail_Admin::settings_url() ) . '#rust-mail-engine">' . esc_html__( 'Rust Mail settings', 'rust-mail' ) . '</a>',
			'test'        => 'rust_mail_engine',
		);
	}
}
