<?php
/**
 * OAuth2 app-only login (client credentials) for XOAUTH2, as Microsoft 365 wants it once password login is off.
 *
 * An access token lives about an hour, so a site owner cannot paste one: with a tenant, a client ID and a client
 * secret configured, the token is fetched here and handed to the extension as the transport's password. It is
 * cached, encrypted like the password, until five minutes before it expires.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

/** No token could be had; the message says why in words and never contains the secret. */
class Rust_Mail_OAuth_Exception extends RuntimeException {
}

class Rust_Mail_OAuth {

	/** The cached token: one plugin option (not a transient, so uninstall finds it even with an object cache). */
	const CACHE_OPTION = 'rust_mail_oauth_token';

	const SCOPE = 'https://outlook.office365.com/.default';

	/** Seconds before `expires_in` at which a cached token is no longer used, so it cannot expire mid-send. */
	const EXPIRY_MARGIN = 300;

	/** True when auth is XOAUTH2 and the plugin has what it needs to fetch the token itself. */
	public static function is_configured() {
		if ( 'xoauth2' !== Rust_Mail_Settings::get( 'auth' ) ) {
			return false;
		}
		foreach ( array_keys( Rust_Mail_Settings::OAUTH_KEYS ) as $key ) {
			if ( '' === trim( (string) Rust_Mail_Settings::get( $key ) ) ) {
				return false;
			}
		}
		return true;
	}

	/**
	 * A valid access token, from the cache or from the token endpoint.
	 *
	 * @throws Rust_Mail_OAuth_Exception when the endpoint cannot be reached or refuses.
	 */
	public static function token() {
		$token = self::cached_token();
		if ( '' !== $token ) {
			return $token;
		}
		list( $token, $expires_in ) = self::fetch( self::token_url() );
		$encrypted = Rust_Mail_Settings::encrypt( $token, 'oauth_token' );
		// Without a strong key (Rust_Mail_Settings::key_problem()) the token is not kept: fetched again for each mail.
		if ( $expires_in > self::EXPIRY_MARGIN && null !== $encrypted ) {
			$record = array(
				'for'     => self::cache_key(),
				'token'   => $encrypted,
				'expires' => time() + $expires_in - self::EXPIRY_MARGIN,
			);
			Rust_Mail_Settings::update_plugin_option( self::CACHE_OPTION, $record );
		}
		return $token;
	}

	/**
	 * The cached token for the configured tenant and app while it is still good, else ''.
	 *
	 * @param bool $even_expired also an expired one (to redact it from what is shown).
	 */
	public static function cached_token( $even_expired = false ) {
		$cached = Rust_Mail_Settings::get_plugin_option( self::CACHE_OPTION );
		if ( ! is_array( $cached ) || ( $cached['for'] ?? '' ) !== self::cache_key() || ( ! $even_expired && (int) ( $cached['expires'] ?? 0 ) <= time() ) ) {
			return '';
		}
		return (string) Rust_Mail_Settings::decrypt( (string) ( $cached['token'] ?? '' ), 'oauth_token' );
	}

	/** Tenant (inside the URL) and client ID: another app or tenant never gets this one's token. */
	private static function cache_key() {
		return hash( 'sha256', self::token_url() . '|' . trim( (string) Rust_Mail_Settings::get( 'oauth_client_id' ) ) );
	}

	/** Drops the cached token, so that the next mail asks for a new one. */
	public static function forget() {
		Rust_Mail_Settings::delete_plugin_option( self::CACHE_OPTION );
	}

	/**
	 * After the server refused the login (the extension's classifier says `auth_failed`): a cached token it does not
	 * take (wrong scope, or the app's service principal not yet registered in Exchange) would otherwise be sent again
	 * until it expires, even after the admin fixed it.
	 *
	 * @param string $cause the failure's cause, from the extension.
	 * @return bool whether the token was dropped.
	 */
	public static function forget_if_refused( $cause ) {
		if ( 'auth_failed' !== $cause || ! self::is_configured() ) {
			return false;
		}
		self::forget();
		return true;
	}

	/** RUST_MAIL_OAUTH_TOKEN_URL, or Microsoft's global endpoint, with the tenant filled in. */
	public static function token_url() {
		$tenant = rawurlencode( trim( (string) Rust_Mail_Settings::get( 'oauth_tenant' ) ) );
		return str_replace( '{tenant}', $tenant, (string) Rust_Mail_Settings::get( 'oauth_token_url' ) );
	}

	/**
	 * @return array{0: string, 1: int} the access token and its lifetime in seconds.
	 * @throws Rust_Mail_OAuth_Exception when there is no token in the answer.
	 */
	private static function fetch( $url ) {
		$secret   = (string) Rust_Mail_Settings::get( 'oauth_client_secret' );
		$response = wp_remote_post(
			$url,
			array(
				'timeout'     => 15,
				// A 307 or 308 would post the secret again to wherever it points.
				'redirection' => 0,
				'body'        => array(
					'grant_type'    => 'client_credentials',
					'client_id'     => trim( (string) Rust_Mail_Settings::get( 'oauth_client_id' ) ),
					'client_secret' => $secret,
					'scope'         => self::SCOPE,
				),
			)
		);
		if ( is_wp_error( $response ) ) {
			/* translators: 1: token endpoint URL, 2: the HTTP client's error */
			self::fail( sprintf( __( 'Could not reach the OAuth2 token endpoint %1$s: %2$s', 'rust-mail' ), $url, $response->get_error_message() ), $secret );
		}
		$status = (int) wp_remote_retrieve_response_code( $response );
		if ( $status >= 300 && $status < 400 ) {
			self::fail(
				/* translators: 1: token endpoint URL, 2: HTTP status code, 3: the address it redirects to */
				sprintf( __( 'The OAuth2 token endpoint %1$s answered HTTP %2$d, a redirect to %3$s; the client secret is not sent to another address. If that address is right, set RUST_MAIL_OAUTH_TOKEN_URL to it.', 'rust-mail' ), $url, $status, (string) wp_remote_retrieve_header( $response, 'location' ) ),
				$secret
			);
		}
		$body   = json_decode( (string) wp_remote_retrieve_body( $response ), true );
		$body   = is_array( $body ) ? $body : array();
		if ( 200 === $status && ! empty( $body['access_token'] ) && is_string( $body['access_token'] ) ) {
			return array( $body['access_token'], (int) ( $body['expires_in'] ?? 0 ) );
		}
		if ( ! empty( $body['error'] ) || ! empty( $body['error_description'] ) ) {
			// error_description starts with the AADSTS code, which is what Microsoft's documentation is searched by.
			$reason = (string) ( $body['error_description'] ?? $body['error'] );
			/* translators: %s: the error Microsoft gave, such as "AADSTS7000215: Invalid client secret provided." */
			self::fail( sprintf( __( 'Microsoft refused the app\'s credentials: %s', 'rust-mail' ), $reason ), $secret );
		}
		/* translators: 1: token endpoint URL, 2: HTTP status code */
		self::fail( sprintf( __( 'The OAuth2 token endpoint %1$s answered HTTP %2$d without an access token.', 'rust-mail' ), $url, $status ), $secret );
	}

	/**
	 * @throws Rust_Mail_OAuth_Exception always; the message goes to the log and the admin, so it never carries the secret.
	 */
	private static function fail( $message, $secret ) {
		throw new Rust_Mail_OAuth_Exception( '' === $secret ? $message : str_replace( $secret, '********', $message ) );
	}
}
