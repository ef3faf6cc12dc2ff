<?php
/**
 * Secrets at rest (the password, the client secret, tokens, sealed messages): encrypted with a key per field, from
 * key material in wp-config.php, never from the database.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Settings_Secrets {

	/** Prefix of a stored secret: version 2 encrypts each field with a key of its own. */
	const SECRET_PREFIX = 'sodium2:';

	/** Prefix of the same, as bytes rather than base64: for a column that holds bytes (a sealed message). */
	const BYTES_PREFIX = 'sodium2b:';

	/** The placeholder of wp-config-sample.php: a salt still set to it is public. */
	const SAMPLE_SALT = 'put your unique phrase here';

	/** Shortest RUST_MAIL_SECRET_KEY, or salts taken together, accepted as key material (WordPress's own are 64). */
	const MIN_KEY_MATERIAL = 32;

	/**
	 * Key material from wp-config.php, never from the database (a database dump alone must not reveal a secret):
	 * RUST_MAIL_SECRET_KEY, else the salts. Null when neither is secret: no constant, and salts missing, short or still
	 * the sample's placeholder, which anybody can read.
	 */
	private static function key_material() {
		if ( defined( 'RUST_MAIL_SECRET_KEY' ) ) {
			$material = (string) RUST_MAIL_SECRET_KEY;
			return strlen( $material ) >= self::MIN_KEY_MATERIAL ? $material : null;
		}
		$material = '';
		foreach ( array( 'AUTH_KEY', 'SECURE_AUTH_SALT' ) as $salt ) {
			$value = defined( $salt ) ? (string) constant( $salt ) : '';
			if ( '' === $value || self::SAMPLE_SALT === $value ) {
				return null;
			}
			$material .= $value;
		}
		return strlen( $material ) >= self::MIN_KEY_MATERIAL ? $material : null;
	}

	/** Whether encrypt() has a key to encrypt with. */
	public static function can_encrypt() {
		return null !== self::key_material();
	}

	/** What to do so that secrets can be stored, or '' when they can. */
	public static function key_problem() {
		if ( null !== self::key_material() ) {
			return '';
		}
		return sprintf(
			/* translators: %s: a line of PHP to add to wp-config.php */
			__( 'Rust Mail cannot store a password or client secret: wp-config.php has no RUST_MAIL_SECRET_KEY of at least 32 characters, and its AUTH_KEY and SECURE_AUTH_SALT are missing or still the sample\'s, so the key would be public. Add this line to wp-config.php: %s', 'rust-mail' ),
			"define( 'RUST_MAIL_SECRET_KEY', '" . wp_generate_password( 64, false ) . "' );"
		);
	}

	/**
	 * One key per field, so that a ciphertext copied from one field into another (the token into the password) does
	 * not decrypt there. Null when there is no secret key material.
	 */
	private static function key( $field ) {
		$material = self::key_material();
		if ( null === $material ) {
			return null;
		}
		return sodium_crypto_generichash( 'rust-mail secret v2|' . $field . '|' . $material, '', SODIUM_CRYPTO_SECRETBOX_KEYBYTES );
	}

	/**
	 * @param string $plain the secret.
	 * @param string $field what it is ('password', 'oauth_client_secret', 'oauth_token'): it chooses the key.
	 * @param bool   $bytes for a column that holds bytes: no base64 (a third more, and another copy of a large message).
	 * @return string|null the stored form, or null when there is no strong key to encrypt with.
	 */
	public static function encrypt( $plain, $field, $bytes = false ) {
		$key = self::key( $field );
		if ( null === $key ) {
			return null;
		}
		$nonce = random_bytes( SODIUM_CRYPTO_SECRETBOX_NONCEBYTES );
		$box   = $nonce . sodium_crypto_secretbox( $plain, $nonce, $key );
		return $bytes ? self::BYTES_PREFIX . $box : self::SECRET_PREFIX . base64_encode( $box );
	}

	/** @return string|null the secret, or null when it cannot be decrypted (other key, other field, other format) */
	public static function decrypt( $stored, $field ) {
		if ( '' === $stored ) {
			return '';
		}
		$key = self::key( $field );
		if ( null === $key ) {
			return null;
		}
		if ( 0 === strpos( $stored, self::BYTES_PREFIX ) ) {
			$bytes = substr( $stored, strlen( self::BYTES_PREFIX ) );
		} elseif ( 0 === strpos( $stored, self::SECRET_PREFIX ) ) {
			$bytes = base64_decode( substr( $stored, strlen( self::SECRET_PREFIX ) ), true );
		} else {
			return null;
		}
		if ( false === $bytes || strlen( $bytes ) <= SODIUM_CRYPTO_SECRETBOX_NONCEBYTES ) {
			return null;
		}
		$nonce = substr( $bytes, 0, SODIUM_CRYPTO_SECRETBOX_NONCEBYTES );
		$plain = sodium_crypto_secretbox_open( substr( $bytes, SODIUM_CRYPTO_SECRETBOX_NONCEBYTES ), $nonce, $key );
		return false === $plain ? null : $plain;
	}
}
