<?php
/**
 * A connection's `$transport` array, from the settings, with the OAuth2 token where one is configured.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Transport_Connection {

	/**
	 * The `$transport` array for rust_mail_send() and rust_mail_diagnose(). Empty optional strings are left out so that
	 * the extension applies its own defaults. With an OAuth2 app configured, the password is its access token.
	 *
	 * @param bool   $with_secret false for a transport that is only described (explaining a logged failure): no
	 *                            password is decrypted and no OAuth2 token fetched.
	 * @param string $prefix      '' for the primary connection, FALLBACK for the fallback (which has no OAuth2 app
	 *                            for XOAUTH2, where its password is the token; a Graph fallback gets the app's token).
	 * @throws RustMail_OAuth_Exception when the token cannot be had.
	 * @throws RustMail_Settings_Exception when a secret from wp-config.php would go to a server the page chose.
	 */
	public static function transport( $with_secret = true, $prefix = '' ) {
		$built = ( $with_secret ? 'secret:' : 'described:' ) . $prefix;
		if ( RustMail_Settings_Store::in_trial() ) {
			$transport = self::from_settings( $with_secret, $prefix );
		} else {
			self::$built[ $built ] = self::$built[ $built ] ?? self::from_settings( $with_secret, $prefix );
			$transport             = self::$built[ $built ];
		}
		if ( $with_secret && RustMail_OAuth_Token::is_configured( $prefix ) ) {
			// The one place every send and every diagnosis gets its transport: the app's fresh token (for XOAUTH2, or
			// the bearer token of Graph and Gmail) replaces the password here. Throws RustMail_OAuth_Exception when no
			// token can be had.
			$transport['password'] = RustMail_OAuth_Token::token( $prefix );
		}
		return $transport;
	}

	/**
	 * Each connection's transport as this request built it from the settings (the OAuth2 token apart, which has its
	 * own expiry): a page that sends many mails reads and decrypts the settings once, not for every mail.
	 *
	 * @var array<string, array>
	 */
	private static $built = array();

	/** Forgets the transports built, when the settings change in this request (RustMail_Settings_Store::watch_option()). */
	public static function forget() {
		self::$built = array();
	}

	/**
	 * @throws RustMail_Settings_Exception when a secret from wp-config.php would go to a server the page chose.
	 */
	private static function from_settings( $with_secret, $prefix ) {
		$problem = $with_secret ? RustMail_Settings_Store::constant_secret_problem( $prefix ) : '';
		if ( '' !== $problem ) {
			throw new RustMail_Settings_Exception( $problem );
		}
		$transport = array();
		$guarded   = $with_secret && RustMail_Settings_Store::constant_secrets( $prefix );
		foreach ( RustMail_Settings_Schema::transport_keys() as $key => $type ) {
			if ( 'secret' === $type && ! $with_secret ) {
				continue;
			}
			$value = RustMail_Settings_Store::get( $prefix . $key );
			if ( $guarded && in_array( $key, RustMail_Settings_Schema::SECRET_GUARD_KEYS, true ) && ! RustMail_Settings_Store::is_fixed_by_constant( $prefix . $key ) ) {
				// A secret from wp-config.php: the page cannot lower its guard (see SECRET_GUARD_KEYS).
				$value = RustMail_Settings_Schema::default_value( $key );
			}
			if ( 'string' === $type || 'secret' === $type || ( 'choice' === $type && '' === $value ) ) {
				$value = (string) $value;
				if ( '' === $value ) {
					continue;
				}
			} elseif ( 'int' === $type ) {
				$value = (int) $value;
			} elseif ( 'bool' === $type ) {
				$value = (bool) $value;
			}
			$transport[ $key ] = $value;
		}
		if ( isset( $transport['api'] ) ) {
			// The extension refuses an SMTP server's keys with an API.
			$transport = array_diff_key( $transport, array_flip( RustMail_Settings_Schema::SMTP_ONLY_KEYS ) );
		} elseif ( 'none' === $transport['auth'] ) {
			unset( $transport['username'], $transport['password'] );
		}
		return $transport;
	}
}
