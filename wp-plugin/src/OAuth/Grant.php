<?php
/**
 * A mailbox's own OAuth2 sign-in (delegated): Sign in with Microsoft (Microsoft 365, Outlook.com) or Google (Gmail,
 * Google Workspace), for the mailboxes that client credentials cannot reach.
 *
 * The admin signs in once in the browser (authorization code flow with PKCE, RustMail_Admin_OAuth_Signin); the refresh
 * token that comes back is kept here, encrypted like the other secrets, and traded for access tokens before they
 * expire. Microsoft issues a new refresh token with each refresh and may stop taking the old one: two PHP workers
 * refreshing at once must not both spend it, so one of them claims the refresh with a compare-and-swap on the
 * stored record (an UPDATE that only matches the record as it read it), and the others wait for its token.
 *
 * The providers' endpoints are fixed in code: the authorization code, the client secret and the refresh token only
 * go to them. Microsoft's national clouds are chosen by RUST_MAIL_OAUTH_TOKEN_URL (and RUST_MAIL_OAUTH_AUTHORIZE_URL),
 * Google's by RUST_MAIL_OAUTH_GOOGLE_TOKEN_URL, RUST_MAIL_OAUTH_GOOGLE_AUTHORIZE_URL and
 * RUST_MAIL_OAUTH_GOOGLE_REVOKE_URL: constants in wp-config.php, never settings of the page.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_OAuth_Grant {

	/** The sign-in: one plugin option (the network's on multisite), read and swapped in the database directly. */
	const OPTION = 'rust_mail_oauth_grant';

	/** Field name the refresh token is encrypted for (RustMail_Settings_Secrets::encrypt() derives a key per field). */
	const SECRET_FIELD = 'oauth_refresh_token';

	/** How long a worker may hold the refresh: longer than a token request may take. */
	const LOCK_SECONDS = 30;

	/** How long a worker waits for another one's refresh before it gives up. */
	const WAIT_SECONDS = 35;

	/** Microsoft asks for the tenant too: a directory ID or domain, or `common` (any account) or `consumers`. */
	const DEFAULT_TENANT = 'common';

	/**
	 * The two providers: names, scopes (SMTP's or the API's, plus `openid email` to learn which account signed in) and the settings
	 * (constant-only) that hold their endpoints. Microsoft has no endpoint to revoke a refresh token (OAuth2 v2.0):
	 * only the user or an administrator can, at Microsoft.
	 *
	 * @return array<string, array{label: string, scope: string, token_key: string, revoke_key: string}>
	 */
	public static function providers() {
		// Over the Graph or Gmail API the token is for that API's sending scope instead of SMTP's (a sign-in made for
		// the other one is refused at its next renewal: sign in again after switching).
		$api = (string) RustMail_Settings_Store::get( 'api' );
		return array(
			'microsoft' => array(
				'label'      => 'Microsoft',
				'scope'      => ( 'graph' === $api ? 'https://graph.microsoft.com/Mail.Send' : 'https://outlook.office.com/SMTP.Send' ) . ' offline_access openid email',
				'token_key'  => 'oauth_token_url',
				'revoke_key' => '',
			),
			'google'    => array(
				'label'      => 'Google',
				'scope'      => ( 'gmail' === $api ? 'https://www.googleapis.com/auth/gmail.send' : 'https://mail.google.com/' ) . ' openid email',
				'token_key'  => 'oauth_google_token_url',
				'revoke_key' => 'oauth_google_revoke_url',
			),
		);
	}


	/** The tenant a Microsoft sign-in uses: the settings' tenant, else `common`. */
	public static function tenant() {
		$tenant = trim( (string) RustMail_Settings_Store::get( 'oauth_tenant' ) );
		return '' === $tenant ? self::DEFAULT_TENANT : $tenant;
	}

	/** A provider's token endpoint (Microsoft's with the tenant filled in). */
	public static function token_url( $provider, $tenant = null ) {
		$url = (string) RustMail_Settings_Store::get( self::providers()[ $provider ]['token_key'] );
		return str_replace( '{tenant}', rawurlencode( null === $tenant ? self::tenant() : $tenant ), $url );
	}

	/** A provider's authorization endpoint: Microsoft's is its token endpoint's sibling unless a constant says otherwise. */
	public static function authorize_url( $provider ) {
		if ( 'google' === $provider ) {
			return (string) RustMail_Settings_Store::get( 'oauth_google_authorize_url' );
		}
		$url = (string) RustMail_Settings_Store::get( 'oauth_authorize_url' );
		if ( '' === $url ) {
			$url = (string) preg_replace( '#/token$#', '/authorize', (string) RustMail_Settings_Store::get( 'oauth_token_url' ) );
		}
		return str_replace( '{tenant}', rawurlencode( self::tenant() ), $url );
	}

	/**
	 * Where the provider sends the browser back: admin-post.php, which hands over to the settings page. No query
	 * string, because Microsoft refuses one for apps that sign in personal accounts (Outlook.com).
	 */
	public static function redirect_uri() {
		return admin_url( 'admin-post.php' );
	}

	/** The browser's address of the provider's sign-in page (authorization code with PKCE, S256). */
	public static function sign_in_url( $provider, $state, $verifier ) {
		$args = array(
			'client_id'             => trim( (string) RustMail_Settings_Store::get( 'oauth_client_id' ) ),
			'response_type'         => 'code',
			'redirect_uri'          => self::redirect_uri(),
			'scope'                 => self::providers()[ $provider ]['scope'],
			'state'                 => $state,
			'code_challenge'        => self::challenge( $verifier ),
			'code_challenge_method' => 'S256',
		);
		if ( 'google' === $provider ) {
			// Google only hands out a refresh token with offline access, and again only when consent is asked.
			$args += array( 'access_type' => 'offline', 'prompt' => 'consent' );
		} else {
			$args += array( 'response_mode' => 'query', 'prompt' => 'select_account' );
		}
		return self::authorize_url( $provider ) . '?' . http_build_query( $args, '', '&', PHP_QUERY_RFC3986 );
	}

	/** A PKCE code verifier, or a state: 256 random bits, base64url. */
	public static function random() {
		return rtrim( strtr( base64_encode( random_bytes( 32 ) ), '+/', '-_' ), '=' );
	}

	public static function challenge( $verifier ) {
		return rtrim( strtr( base64_encode( hash( 'sha256', $verifier, true ) ), '+/', '-_' ), '=' );
	}


	/**
	 * The scopes the provider granted the sign-in, as its last token answer listed them (space-separated), or ''
	 * when it did not say: Diagnose reads them to tell whether an opaque token may send.
	 */
	public static function scopes() {
		return (string) ( self::get()['scope'] ?? '' );
	}

	/** A token answer's `scope` (RFC 6749 section 5.1: present when it differs from what was asked), or ''. */
	private static function granted_scope( array $body ) {
		return isset( $body['scope'] ) && is_string( $body['scope'] ) ? trim( $body['scope'] ) : '';
	}

	/** The stored sign-in, or null. */
	public static function get() {
		$record = RustMail_Settings_Store::read_plugin_option( self::OPTION )[1];
		return is_array( $record ) && ! empty( $record['id'] ) ? $record : null;
	}

	public static function exists() {
		return null !== self::get();
	}

	public static function id() {
		return (string) ( self::get()['id'] ?? '' );
	}

	/**
	 * Compare-and-swap on the record: writes $new only when the record is still exactly $old_raw. Each write changes
	 * the version, so that the new text never equals the old one (MySQL counts an UPDATE that changes nothing as no row).
	 *
	 * @return bool whether this worker's write took place.
	 */
	private static function swap( $old_raw, array $new ) {
		$new['version'] = (int) ( $new['version'] ?? 0 ) + 1;
		return RustMail_Settings_Store::swap_plugin_option( self::OPTION, $old_raw, $new );
	}

	/**
	 * Keeps a new sign-in, replacing any earlier one (and its cached access token).
	 *
	 * @param string $provider      'microsoft' or 'google'.
	 * @param string $refresh_token the provider's refresh token.
	 * @param string $account       the mailbox's address as the provider said it, or ''.
	 * @param string $tenant        the tenant the sign-in used (Microsoft).
	 * @param string $scope         the scopes the provider granted (its answer's `scope`), for Diagnose.
	 * @return string|null the sign-in's id, or null when there is no strong key to encrypt the refresh token with.
	 */
	public static function save( $provider, $refresh_token, $account, $tenant, $scope = '' ) {
		$encrypted = RustMail_Settings_Secrets::encrypt( $refresh_token, self::SECRET_FIELD );
		if ( null === $encrypted ) {
			return null;
		}
		RustMail_OAuth_Token::forget();
		$id = bin2hex( random_bytes( 8 ) );
		RustMail_Settings_Store::update_plugin_option(
			self::OPTION,
			array(
				'id'         => $id,
				'provider'   => $provider,
				'tenant'     => $tenant,
				'client_id'  => trim( (string) RustMail_Settings_Store::get( 'oauth_client_id' ) ),
				'account'    => $account,
				'scope'      => $scope,
				'refresh'    => $encrypted,
				'connected'  => time(),
				'refreshed'  => time(),
				'revoked'    => '',
				'lock'       => '',
				'lock_until' => 0,
				'version'    => 1,
			)
		);
		return $id;
	}

	/** Disconnect: forgets the sign-in and its access token. */
	public static function forget() {
		RustMail_Settings_Store::delete_plugin_option( self::OPTION );
		RustMail_OAuth_Token::forget();
	}


	/**
	 * The code the browser brought back, traded for the sign-in's tokens.
	 *
	 * @return array{refresh_token: string, access_token: string, expires_in: int, account: string, scope: string}
	 * @throws RustMail_OAuth_Exception when the provider refuses or the answer lacks a refresh token.
	 */
	public static function exchange( $provider, $code, $verifier, $tenant ) {
		$secret = (string) RustMail_Settings_Store::get( 'oauth_client_secret' );
		$form   = array(
			'grant_type'    => 'authorization_code',
			'client_id'     => trim( (string) RustMail_Settings_Store::get( 'oauth_client_id' ) ),
			'code'          => $code,
			'redirect_uri'  => self::redirect_uri(),
			'code_verifier' => $verifier,
		);
		if ( '' !== $secret ) {
			$form['client_secret'] = $secret;
		}
		$url                   = self::token_url( $provider, $tenant );
		list( $status, $body ) = RustMail_OAuth_Token::post( $url, $form, array( $secret, $code, $verifier ) );
		$label                 = self::providers()[ $provider ]['label'];
		self::check_answer( $url, $status, $body, $label, array( $secret, $code, $verifier ), true );
		if ( empty( $body['refresh_token'] ) || ! is_string( $body['refresh_token'] ) ) {
			RustMail_OAuth_Token::fail(
				/* translators: %s: Microsoft or Google */
				sprintf( __( '%s signed you in but gave no refresh token, so the site could only send for an hour. Check that the app may ask for offline access (the offline_access permission at Microsoft), then sign in again.', 'rust-mail' ), $label ),
				array( $secret, $body['access_token'] )
			);
		}
		return array(
			'refresh_token' => $body['refresh_token'],
			'access_token'  => $body['access_token'],
			'expires_in'    => (int) ( $body['expires_in'] ?? 0 ),
			'account'       => self::account( $body, $form['client_id'] ),
			'scope'         => self::granted_scope( $body ),
		);
	}

	/**
	 * Which mailbox signed in, from the ID token of the answer (`openid email`). It came straight from the token
	 * endpoint over HTTPS, which OpenID Connect accepts in place of checking its signature; its audience must still be
	 * this app.
	 */
	private static function account( array $body, $client_id ) {
		$parts  = explode( '.', (string) ( $body['id_token'] ?? '' ) );
		$claims = count( $parts ) >= 2 ? json_decode( (string) base64_decode( strtr( $parts[1], '-_', '+/' ) ), true ) : null;
		if ( ! is_array( $claims ) || ! in_array( $client_id, (array) ( $claims['aud'] ?? array() ), true ) ) {
			return '';
		}
		foreach ( array( 'email', 'preferred_username', 'upn' ) as $claim ) {
			if ( isset( $claims[ $claim ] ) && is_email( (string) $claims[ $claim ] ) ) {
				return sanitize_email( (string) $claims[ $claim ] );
			}
		}
		return '';
	}

	/**
	 * @param bool $code whether a code was traded (its invalid_grant is a failed sign-in, not a revoked one).
	 * @throws RustMail_OAuth_Exception unless the answer is an HTTP 200 with an access token; `invalid_grant` for a
	 *         refresh token (revoked, expired, or already used) is a cause of its own.
	 */
	private static function check_answer( $url, $status, array $body, $label, array $secrets, $code = false ) {
		if ( 200 === $status && ! empty( $body['access_token'] ) && is_string( $body['access_token'] ) ) {
			return;
		}
		$reason = RustMail_OAuth_Token::reason( $body );
		if ( $code && 'invalid_grant' === ( $body['error'] ?? '' ) ) {
			/* translators: 1: Microsoft or Google, 2: the error it gave */
			RustMail_OAuth_Token::fail( sprintf( __( '%1$s refused the authorization code (invalid_grant: %2$s). Sign in again.', 'rust-mail' ), $label, $reason ), $secrets, false, 'oauth', RustMail_OAuth_Exception::problem_of_answer( $body ) );
		}
		if ( 'invalid_grant' === ( $body['error'] ?? '' ) ) {
			RustMail_OAuth_Token::fail(
				/* translators: 1: Microsoft or Google, 2: the error it gave */
				sprintf( __( '%1$s no longer accepts the mailbox\'s sign-in (invalid_grant: %2$s). Sign in again on the Rust Mail settings page.', 'rust-mail' ), $label, $reason ),
				$secrets,
				false,
				RustMail_OAuth_Token::GRANT_REVOKED
			);
		}
		if ( '' !== $reason ) {
			/* translators: 1: Microsoft or Google, 2: the error it gave */
			RustMail_OAuth_Token::fail( sprintf( __( '%1$s refused the token request: %2$s', 'rust-mail' ), $label, $reason ), $secrets, $status >= 500, 'oauth', RustMail_OAuth_Exception::problem_of_answer( $body ) );
		}
		RustMail_OAuth_Token::fail( RustMail_OAuth_Token::no_token_message( $url, $status ), $secrets, $status >= 500 );
	}

	/**
	 * A valid access token of the sign-in: cached, else refreshed by this worker, else (when another worker is
	 * refreshing) the one it gets.
	 *
	 * @throws RustMail_OAuth_Exception when there is no token: the cause is `oauth_grant_revoked` when the sign-in
	 *         was refused (and then no token endpoint is asked again until the next sign-in).
	 */
	public static function access_token() {
		$deadline = microtime( true ) + self::WAIT_SECONDS;
		while ( true ) {
			list( $raw, $grant ) = RustMail_Settings_Store::read_plugin_option( self::OPTION );
			if ( ! is_array( $grant ) || empty( $grant['id'] ) ) {
				RustMail_OAuth_Token::fail( __( 'No mailbox is signed in: use "Sign in with Microsoft" or "Sign in with Google" on the Rust Mail settings page.', 'rust-mail' ), array(), false, RustMail_OAuth_Token::GRANT_REVOKED );
			}
			self::check_usable( $grant );
			$token = RustMail_OAuth_Token::cached_token();
			if ( '' !== $token ) {
				return $token;
			}
			if ( '' !== $grant['lock'] && (int) $grant['lock_until'] > time() ) {
				// Another worker is refreshing: its token will be in the cache in a moment.
				if ( microtime( true ) > $deadline ) {
					RustMail_OAuth_Token::fail( __( 'Another request has been renewing the OAuth2 token for too long; try again.', 'rust-mail' ), array(), true );
				}
				usleep( 100000 );
				continue;
			}
			$locked = array_merge( $grant, array( 'lock' => bin2hex( random_bytes( 8 ) ), 'lock_until' => time() + self::LOCK_SECONDS ) );
			if ( self::swap( $raw, $locked ) ) {
				return self::refresh( $locked );
			}
			// Somebody else changed the record between the read and the write: read it again.
			if ( microtime( true ) > $deadline ) {
				RustMail_OAuth_Token::fail( __( 'The OAuth2 sign-in kept changing while this request tried to renew its token; try again.', 'rust-mail' ), array(), true );
			}
		}
	}

	/** @throws RustMail_OAuth_Exception when the sign-in cannot be used (revoked, or made with another app). */
	private static function check_usable( array $grant ) {
		if ( '' !== (string) $grant['revoked'] ) {
			RustMail_OAuth_Token::fail( (string) $grant['revoked'], array(), false, RustMail_OAuth_Token::GRANT_REVOKED );
		}
		if ( trim( (string) RustMail_Settings_Store::get( 'oauth_client_id' ) ) !== (string) $grant['client_id'] ) {
			RustMail_OAuth_Token::fail( __( 'The mailbox signed in with another client ID than the one in the settings now; sign in again, or put the client ID back.', 'rust-mail' ), array(), false, RustMail_OAuth_Token::GRANT_REVOKED );
		}
	}

	/**
	 * The refresh, by the worker that holds the record's lock: the new refresh token (when the provider rotated it)
	 * replaces the old one, and the lock is released, in one swap from the locked record.
	 *
	 * @throws RustMail_OAuth_Exception
	 */
	private static function refresh( array $locked ) {
		$locked_raw = maybe_serialize( array_merge( $locked, array( 'version' => (int) $locked['version'] + 1 ) ) );
		$refresh    = (string) RustMail_Settings_Secrets::decrypt( (string) $locked['refresh'], self::SECRET_FIELD );
		$secret     = (string) RustMail_Settings_Store::get( 'oauth_client_secret' );
		$label      = self::providers()[ $locked['provider'] ]['label'] ?? 'OAuth2';
		$released   = array_merge( $locked, array( 'lock' => '', 'lock_until' => 0, 'version' => (int) $locked['version'] + 1 ) );
		try {
			if ( '' === $refresh ) {
				RustMail_OAuth_Token::fail(
					__( 'The saved sign-in can no longer be decrypted (the keys in wp-config.php changed). Sign in again on the Rust Mail settings page.', 'rust-mail' ),
					array(),
					false,
					RustMail_OAuth_Token::GRANT_REVOKED
				);
			}
			$form = array(
				'grant_type'    => 'refresh_token',
				'client_id'     => (string) $locked['client_id'],
				'refresh_token' => $refresh,
				'scope'         => self::providers()[ $locked['provider'] ]['scope'],
			);
			if ( '' !== $secret ) {
				$form['client_secret'] = $secret;
			}
			$url                   = self::token_url( $locked['provider'], (string) $locked['tenant'] );
			list( $status, $body ) = RustMail_OAuth_Token::post( $url, $form, array( $secret, $refresh ) );
			self::check_answer( $url, $status, $body, $label, array( $secret, $refresh ) );
		} catch ( RustMail_OAuth_Exception $e ) {
			if ( RustMail_OAuth_Token::GRANT_REVOKED === $e->kind() ) {
				// Kept as refused, with the provider's words, and without the dead refresh token: nothing asks again.
				$released['revoked'] = $e->getMessage();
				$released['refresh'] = '';
				RustMail_OAuth_Token::forget();
			}
			self::write_back( $locked_raw, $released );
			throw $e;
		}
		$rotated = ! empty( $body['refresh_token'] ) && is_string( $body['refresh_token'] ) ? RustMail_Settings_Secrets::encrypt( $body['refresh_token'], self::SECRET_FIELD ) : null;
		if ( null !== $rotated ) {
			$released['refresh'] = $rotated;
		}
		$released['refreshed'] = time();
		if ( '' !== self::granted_scope( $body ) ) {
			$released['scope'] = self::granted_scope( $body );
		}
		// The token is readable before the lock is released: a worker waiting on the lock that found the record
		// released but the cache still empty would refresh a second time, spending the rotated token twice.
		RustMail_OAuth_Token::cache_token( $body['access_token'], (int) ( $body['expires_in'] ?? 0 ), (string) $locked['id'] );
		self::write_back( $locked_raw, $released );
		return $body['access_token'];
	}

	/**
	 * Swaps the locked record for the released one. Should the lock have run out and another worker have taken it
	 * meanwhile, the release is kept only while that worker has not stored a refresh token of its own.
	 */
	private static function write_back( $locked_raw, array $released ) {
		if ( self::swap( $locked_raw, $released ) ) {
			return;
		}
		for ( $try = 0; $try < 5; $try++ ) {
			list( $raw, $now ) = RustMail_Settings_Store::read_plugin_option( self::OPTION );
			if ( ! is_array( $now ) || ( $now['id'] ?? '' ) !== $released['id'] || ( $now['refresh'] ?? '' ) !== maybe_unserialize( $locked_raw )['refresh'] ) {
				return; // Disconnected, signed in again, or refreshed by the other worker.
			}
			if ( self::swap( $raw, array_merge( $released, array( 'version' => (int) $now['version'] ) ) ) ) {
				return;
			}
		}
	}

	/**
	 * Asks the provider to revoke the sign-in's refresh token, before the site forgets it (Disconnect, uninstall):
	 * forgetting alone would leave it valid for whoever holds a copy (a database dump, a backup). Google revokes the
	 * whole sign-in with it; an answer `invalid_token` means it no longer worked anyway.
	 *
	 * @return bool|null true when the provider revoked it; false when the provider has no way to (Microsoft); null
	 *                   when there is nothing to revoke (no sign-in, or one the provider already refused).
	 * @throws RustMail_OAuth_Exception when the provider could not be reached or did not revoke it.
	 */
	public static function revoke() {
		$grant = self::get();
		$token = null === $grant ? '' : (string) RustMail_Settings_Secrets::decrypt( (string) $grant['refresh'], self::SECRET_FIELD );
		if ( '' === $token ) {
			return null;
		}
		$provider = self::providers()[ $grant['provider'] ] ?? array( 'revoke_key' => '' );
		if ( '' === $provider['revoke_key'] ) {
			return false;
		}
		$url                   = (string) RustMail_Settings_Store::get( $provider['revoke_key'] );
		list( $status, $body ) = RustMail_OAuth_Token::post( $url, array( 'token' => $token ), array( $token ) );
		if ( 200 !== $status && 'invalid_token' !== ( $body['error'] ?? '' ) ) {
			/* translators: 1: revocation endpoint URL, 2: HTTP status code, 3: the error it gave, or nothing */
			RustMail_OAuth_Token::fail( trim( sprintf( __( '%1$s answered HTTP %2$d %3$s', 'rust-mail' ), $url, $status, RustMail_OAuth_Token::reason( $body ) ) ), array( $token ) );
		}
		return true;
	}
}
