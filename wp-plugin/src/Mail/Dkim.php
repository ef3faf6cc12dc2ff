<?php
/**
 * DKIM signing of every mail the plugin composes, on both engines: the composer is a PHPMailer on both, so
 * PHPMailer's own DKIM properties sign the bytes that the outbox then stores and either engine sends as they are.
 *
 * The key comes from wp-config.php only, never from the database or a form: RUST_MAIL_DKIM_DOMAIN,
 * RUST_MAIL_DKIM_SELECTOR and RUST_MAIL_DKIM_PRIVATE_KEY (the PEM key itself, or the path of its file, which must lie
 * outside the WordPress directory, where the web server could serve it). PHPMailer signs with RSA (rsa-sha256).
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Mail_Dkim {

	/**
	 * Sets PHPMailer's DKIM properties from the constants; leaves the mailer as it is when they are not all defined.
	 *
	 * @param PHPMailer\PHPMailer\PHPMailer $mailer The composer.
	 * @throws PHPMailer\PHPMailer\Exception when the key file lies inside the WordPress directory: nothing is sent.
	 */
	public static function apply( $mailer ) {
		if ( ! defined( 'RUST_MAIL_DKIM_DOMAIN' ) || ! defined( 'RUST_MAIL_DKIM_SELECTOR' ) || ! defined( 'RUST_MAIL_DKIM_PRIVATE_KEY' ) ) {
			return;
		}
		$key = (string) constant( 'RUST_MAIL_DKIM_PRIVATE_KEY' );
		if ( false !== strpos( $key, '-----BEGIN ' ) ) {
			$mailer->DKIM_private_string = $key;
		} elseif ( self::inside_wordpress( $key ) ) {
			// The message names the constant, never its value.
			throw new PHPMailer\PHPMailer\Exception( 'RUST_MAIL_DKIM_PRIVATE_KEY names a file inside the WordPress directory, where the web server could serve it: move the key outside ' . ABSPATH, PHPMailer\PHPMailer\PHPMailer::STOP_CRITICAL );
		} else {
			$mailer->DKIM_private = $key;
		}
		$mailer->DKIM_domain   = (string) constant( 'RUST_MAIL_DKIM_DOMAIN' );
		$mailer->DKIM_selector = (string) constant( 'RUST_MAIL_DKIM_SELECTOR' );
	}

	/**
	 * The DNS TXT record to publish for the key of the constants, for the settings page: `name`
	 * (<selector>._domainkey.<domain>) and `value` (v=DKIM1; k=rsa; p=<the public key>), or `error` saying why there is
	 * none; null when DKIM is not set up. Never the private key.
	 *
	 * @return array|null
	 */
	public static function dns_record() {
		if ( ! defined( 'RUST_MAIL_DKIM_DOMAIN' ) || ! defined( 'RUST_MAIL_DKIM_SELECTOR' ) || ! defined( 'RUST_MAIL_DKIM_PRIVATE_KEY' ) ) {
			return null;
		}
		$name = constant( 'RUST_MAIL_DKIM_SELECTOR' ) . '._domainkey.' . constant( 'RUST_MAIL_DKIM_DOMAIN' );
		$key  = (string) constant( 'RUST_MAIL_DKIM_PRIVATE_KEY' );
		if ( false === strpos( $key, '-----BEGIN ' ) ) {
			if ( self::inside_wordpress( $key ) ) {
				return array( 'name' => $name, 'error' => __( 'RUST_MAIL_DKIM_PRIVATE_KEY names a file inside the WordPress directory: move the key outside it. Mail is not sent until then.', 'rust-mail' ) );
			}
			if ( ! is_readable( $key ) ) {
				return array( 'name' => $name, 'error' => __( 'RUST_MAIL_DKIM_PRIVATE_KEY names a file this site cannot read: check the path, and that the web server\'s user may read the file.', 'rust-mail' ) );
			}
			$key = (string) file_get_contents( $key ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_get_contents_file_get_contents -- a local key file.
		}
		$private = openssl_pkey_get_private( $key );
		$details = false === $private ? false : openssl_pkey_get_details( $private );
		if ( false === $details || OPENSSL_KEYTYPE_RSA !== $details['type'] ) {
			return array( 'name' => $name, 'error' => __( 'RUST_MAIL_DKIM_PRIVATE_KEY is not a readable RSA private key (PEM), nor the path of a file holding one.', 'rust-mail' ) );
		}
		// The public key's PEM body is the base64 of its SubjectPublicKeyInfo, which p= takes.
		$public = preg_replace( '/-----[^-]+-----|\s/', '', $details['key'] );
		return array( 'name' => $name, 'value' => 'v=DKIM1; k=rsa; p=' . $public );
	}

	/** Whether `$path` (resolved, links followed) is under ABSPATH. */
	private static function inside_wordpress( $path ) {
		$real = realpath( $path );
		$root = realpath( ABSPATH );
		return false !== $real && false !== $root && 0 === strpos( $real, rtrim( $root, '/' ) . '/' );
	}
}
