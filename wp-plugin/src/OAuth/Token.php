<?php
/**
 * OAuth2 for XOAUTH2: the access token handed to the extension as the transport's password.
 *
 * An access token lives about an hour, so a site owner cannot paste one. It comes from one of two logins:
 * - a mailbox's own sign-in (Sign in with Microsoft or Google, RustMail_OAuth_Grant): its refresh token is kept and
 *   traded for access tokens; it takes precedence while it exists;
 * - else the app's own login (client credentials for Microsoft 365), with a tenant, a client ID and a client secret.
 * Either way the token is cached, encrypted like the password, until five minutes before it expires.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_OAuth_Token {

	/** The cached token: one plugin option (not a transient, so uninstall finds it even with an object cache). */
	const CACHE_OPTION = 'rust_mail_oauth_token';

	const SCOPE = 'https://outlook.office365.com/.default';

	/** The app's token for Microsoft Graph (sendMail with the application permission Mail.Send). */
	const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

	/** The cause of a sign-in that the provider no longer accepts (`invalid_grant`): only signing in again helps. */
	const GRANT_REVOKED = 'oauth_grant_revoked';

	/** Seconds a token request may take. */
	const TIMEOUT = 15;

	/** Seconds before `expires_in` at which a cached token is no longer used, so it cannot expire mid-send. */
	const EXPIRY_MARGIN = 300;

	/**
	 * True when a connection's password is an OAuth2 access token and the plugin has what it needs to fetch it itself:
	 * - the primary with auth XOAUTH2, or over the Graph or Gmail API: a mailbox's sign-in (even one the provider
	 *   revoked: its failure says to sign in again), or the app's client credentials (Microsoft only);
	 * - the fallback over the Graph API: the app's client credentials (a sign-in is the primary's mailbox).
	 *
	 * @param string $prefix '' for the primary connection, FALLBACK for the fallback.
	 */
	public static function is_configured( $prefix = '' ) {
		$api = (string) RustMail_Settings_Store::get( $prefix . 'api' );
		if ( '' !== $prefix ) {
			return 'graph' === $api && self::app_is_configured();
		}
		if ( '' === $api ? 'xoauth2' !== RustMail_Settings_Store::get( 'auth' ) : ! in_array( $api, array( 'graph', 'gmail' ), true ) ) {
			return false;
		}
		if ( RustMail_OAuth_Grant::exists() ) {
			return true;
		}
		return 'gmail' !== $api && self::app_is_configured();
	}

	/** Whether the app's tenant, client ID and client secret are all set (client credentials). */
	private static function app_is_configured() {
		foreach ( RustMail_Settings_Schema::OAUTH_APP_KEYS as $key ) {
			if ( '' === trim( (string) RustMail_Settings_Store::get( $key ) ) ) {
				return false;
			}
		}
		return true;
	}

	/** The scope of the app's own token for a connection: Graph's over the Graph API, else Exchange's SMTP. */
	public static function scope( $prefix = '' ) {
		return 'graph' === RustMail_Settings_Store::get( $prefix . 'api' ) ? self::GRAPH_SCOPE : self::SCOPE;
	}

	/**
	 * A valid access token for a connection, from the cache or from the token endpoint.
	 *
	 * @param string $prefix '' for the primary connection, FALLBACK for the fallback.
	 * @throws RustMail_OAuth_Exception when the endpoint cannot be reached or refuses.
	 */
	public static function token( $prefix = '' ) {
		if ( '' === $prefix && RustMail_OAuth_Grant::exists() ) {
			return RustMail_OAuth_Grant::access_token();
		}
		$scope = self::scope( $prefix );
		$token = self::cached_token( false, $scope );
		if ( '' !== $token ) {
			return $token;
		}
		list( $token, $expires_in ) = self::fetch( self::token_url(), $scope );
		self::cache_token( $token, $expires_in, null, $scope );
		return $token;
	}

	/**
	 * Keeps an access token for the login it came from until EXPIRY_MARGIN before it expires. Without a strong key
	 * (RustMail_Settings_Secrets::key_problem()) it is not kept: fetched again for each mail.
	 *
	 * @param string|null $grant_id the sign-in the token belongs to (RustMail_OAuth_Grant), null for the app's own:
	 *                              a sign-in replaced while its token was being fetched does not pass it on.
	 */
	public static function cache_token( $token, $expires_in, $grant_id = null, $scope = self::SCOPE ) {
		$encrypted = RustMail_Settings_Secrets::encrypt( $token, 'oauth_token' );
		if ( $expires_in > self::EXPIRY_MARGIN && null !== $encrypted ) {
			$record = array(
				'for'     => self::cache_key( $grant_id, $scope ),
				'token'   => $encrypted,
				'expires' => time() + $expires_in - self::EXPIRY_MARGIN,
			);
			RustMail_Settings_Store::update_plugin_option( self::CACHE_OPTION, $record );
		}
	}

	/**
	 * The cached token for the configured tenant and app while it is still good, else ''.
	 *
	 * @param bool   $even_expired also an expired one (to redact it from what is shown).
	 * @param string $scope        the app's token for this scope (a sign-in's token has the sign-in's).
	 */
	public static function cached_token( $even_expired = false, $scope = self::SCOPE ) {
		// Read from the database, not the request's option cache: a worker waiting for another one's refresh polls it.
		$cached = RustMail_Settings_Store::read_plugin_option( self::CACHE_OPTION )[1];
		if ( ! is_array( $cached ) || ( $cached['for'] ?? '' ) !== self::cache_key( null, $scope ) || ( ! $even_expired && (int) ( $cached['expires'] ?? 0 ) <= time() ) ) {
			return '';
		}
		return (string) RustMail_Settings_Secrets::decrypt( (string) ( $cached['token'] ?? '' ), 'oauth_token' );
	}

	/**
	 * Tenant (inside the URL) and client ID: another app or tenant never gets this one's token; a sign-in's tokens
	 * are its own (a new sign-in, or another mailbox, never gets the previous one's).
	 */
	private static function cache_key( $grant_id = null, $scope = self::SCOPE ) {
		if ( null === $grant_id && RustMail_OAuth_Grant::exists() && self::SCOPE === $scope ) {
			$grant_id = RustMail_OAuth_Grant::id();
		}
		// The app's token is for one scope: Exchange's SMTP token is no Graph token.
		$login = null !== $grant_id ? 'grant|' . $grant_id : self::token_url() . ( self::SCOPE === $scope ? '' : '|' . $scope );
		return hash( 'sha256', $login . '|' . trim( (string) RustMail_Settings_Store::get( 'oauth_client_id' ) ) );
	}

	/** Drops the cached token, so that the next mail asks for a new one. */
	public static function forget() {
		RustMail_Settings_Store::delete_plugin_option( self::CACHE_OPTION );
	}

	/**
	 * After the server refused the login or the API the token (the classifier says `auth_failed`, or
	 * `api_token_rejected`): a cached token it does not
	 * take (wrong scope, or the app's service principal not yet registered in Exchange) would otherwise be sent again
	 * until it expires, even after the admin fixed it.
	 *
	 * @param string $cause the failure's cause, from the extension.
	 * @return bool whether the token was dropped.
	 */
	public static function forget_if_refused( $cause ) {
		if ( ! in_array( $cause, array( 'auth_failed', 'api_token_rejected' ), true ) || ! self::is_configured() ) {
			return false;
		}
		self::forget();
		return true;
	}

	/** RUST_MAIL_OAUTH_TOKEN_URL, or Microsoft's global endpoint, with the tenant filled in. */
	public static function token_url() {
		$tenant = rawurlencode( trim( (string) RustMail_Settings_Store::get( 'oauth_tenant' ) ) );
		return str_replace( '{tenant}', $tenant, (string) RustMail_Settings_Store::get( 'oauth_token_url' ) );
	}

	/**
	 * @return array{0: string, 1: int} the access token and its lifetime in seconds.
	 * @throws RustMail_OAuth_Exception when there is no token in the answer.
	 */
	private static function fetch( $url, $scope ) {
		$secret = (string) RustMail_Settings_Store::get( 'oauth_client_secret' );
		$form   = array(
			'grant_type'    => 'client_credentials',
			'client_id'     => trim( (string) RustMail_Settings_Store::get( 'oauth_client_id' ) ),
			'client_secret' => $secret,
			'scope'         => $scope,
		);
		list( $status, $body ) = self::post( $url, $form, array( $secret ) );
		if ( 200 === $status && ! empty( $body['access_token'] ) && is_string( $body['access_token'] ) ) {
			return array( $body['access_token'], (int) ( $body['expires_in'] ?? 0 ) );
		}
		$reason = self::reason( $body );
		if ( '' !== $reason ) {
			/* translators: %s: the error Microsoft gave, such as "AADSTS7000215: Invalid client secret provided." */
			self::fail( sprintf( __( 'Microsoft refused the app\'s credentials: %s', 'rust-mail' ), $reason ), array( $secret ), false, 'oauth', RustMail_OAuth_Exception::problem_of_answer( $body ) );
		}
		self::fail( self::no_token_message( $url, $status ), array( $secret ), $status >= 500 );
	}

	/**
	 * POSTs a form to a token endpoint; the answer's status and JSON fields. Follows no redirect: a 307 or 308 would
	 * post the secret again to wherever it points.
	 *
	 * @param string[] $secrets values of the form never to appear in an error (client secret, code, refresh token).
	 * @return array{0: int, 1: array} the HTTP status and the decoded JSON object (empty when there is none).
	 * @throws RustMail_OAuth_Exception when the endpoint cannot be reached or redirects.
	 */
	public static function post( $url, array $form, array $secrets ) {
		$response = wp_remote_post(
			$url,
			array(
				'timeout'     => self::TIMEOUT,
				'redirection' => 0,
				'body'        => $form,
			)
		);
		if ( is_wp_error( $response ) ) {
			/* translators: 1: token endpoint URL, 2: the HTTP client's error */
			self::fail( sprintf( __( 'Could not reach the OAuth2 token endpoint %1$s: %2$s', 'rust-mail' ), $url, $response->get_error_message() ), $secrets, true, 'oauth', RustMail_OAuth_Exception::problem_of_http_error( $response->get_error_code(), $response->get_error_message() ) );
		}
		$status = (int) wp_remote_retrieve_response_code( $response );
		if ( $status >= 300 && $status < 400 ) {
			self::fail(
				/* translators: 1: token endpoint URL, 2: HTTP status code, 3: the address it redirects to */
				sprintf( __( 'The OAuth2 token endpoint %1$s answered HTTP %2$d, a redirect to %3$s; the client secret is not sent to another address. If that address is right, set RUST_MAIL_OAUTH_TOKEN_URL to it.', 'rust-mail' ), $url, $status, (string) wp_remote_retrieve_header( $response, 'location' ) ),
				$secrets
			);
		}
		$body = json_decode( (string) wp_remote_retrieve_body( $response ), true );
		return array( $status, is_array( $body ) ? $body : array() );
	}

	/**
	 * The provider's words for a refusal, or '' when the answer has none. Microsoft's error_description starts with
	 * the AADSTS code, which is what its documentation is searched by.
	 */
	public static function reason( array $body ) {
		if ( empty( $body['error'] ) && empty( $body['error_description'] ) ) {
			return '';
		}
		return (string) ( $body['error_description'] ?? $body['error'] );
	}

	public static function no_token_message( $url, $status ) {
		/* translators: 1: token endpoint URL, 2: HTTP status code */
		return sprintf( __( 'The OAuth2 token endpoint %1$s answered HTTP %2$d without an access token.', 'rust-mail' ), $url, $status );
	}

	/**
	 * @param string[] $secrets replaced by asterisks: the message goes to the log and the admin.
	 * @param string   $problem what failed, for the advice (RustMail_OAuth_Exception::PROBLEMS).
	 * @throws RustMail_OAuth_Exception always.
	 */
	public static function fail( $message, array $secrets, $transient = false, $kind = 'oauth', $problem = '' ) {
		$secrets = array_filter( array_map( 'strval', $secrets ), 'strlen' );
		throw new RustMail_OAuth_Exception( RustMail_Explain_Redactor::text( $message, $secrets ), $kind, $transient, $problem );
	}
}
