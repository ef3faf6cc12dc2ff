<?php
/**
 * Every setting: its key, its type, its default and its choices. The `$transport` keys of rust_mail_send() come with
 * their types and choices from the extension's export (data/classifier.json); the plugin keeps no second list.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Settings_Schema {

	/**
	 * Settings that decide where a secret goes. A secret fixed in wp-config.php is used only when these are fixed there
	 * too; otherwise an administrator could point it at their own server and read it (RustMail_Transport_Connection::transport()).
	 */
	const SECRET_DESTINATION_KEYS = array( 'host', 'port', 'security', 'verify_peer', 'ca_file', 'allow_insecure_auth' );

	/** The setting type of each type of `$transport` key the extension declares. */
	const SETTING_TYPES = array(
		'text'    => 'string',
		'path'    => 'string',
		'int'     => 'int',
		'seconds' => 'int',
		'bool'    => 'bool',
		'secret'  => 'secret',
		'choice'  => 'choice',
	);

	/**
	 * The `$transport` keys of rust_mail_send(), with their setting type, as the extension declares them (its rules
	 * export, data/classifier.json): the plugin keeps no second list. Each one can be fixed by RUST_MAIL_<KEY>.
	 * None while the export cannot be read: the router then leaves wp_mail() to core (RustMail_Mail_Router).
	 *
	 * @return array<string, string>
	 */
	public static function transport_keys() {
		static $keys = null;
		if ( null === $keys ) {
			$keys = array_map( fn ( $about ) => self::SETTING_TYPES[ $about['type'] ], self::exported_transport_keys() );
		}
		return $keys;
	}

	/** @return array<string, array{type: string, choices?: string[]}> the `$transport` keys, as the extension declares them */
	private static function exported_transport_keys() {
		return RustMail_Explain_Data::get()['transport']['keys'] ?? array();
	}

	/** Sender settings, also fixable by constants (RUST_MAIL_FROM, RUST_MAIL_FROM_NAME, RUST_MAIL_FORCE_FROM). */
	const SENDER_KEYS = array(
		'from'       => 'string',
		'from_name'  => 'string',
		'force_from' => 'bool',
	);

	/**
	 * OAuth2 for auth 'xoauth2': the app registration. With all three set, the plugin fetches the access token itself
	 * (RustMail_OAuth_Token: client credentials), because a pasted token expires within the hour. With a mailbox signed in
	 * (Sign in with Microsoft or Google, RustMail_OAuth_Grant), the client ID and secret are that sign-in's app, and
	 * the tenant is optional (`common`). The secret is stored like the password.
	 */
	const OAUTH_KEYS = array(
		'oauth_tenant'        => 'string',
		'oauth_client_id'     => 'string',
		'oauth_client_secret' => 'secret',
	);

	/**
	 * Settable only by a constant (RUST_MAIL_OAUTH_TOKEN_URL and the like): the client secret, authorization codes and
	 * refresh tokens are sent to these addresses, and the admin signs in at the authorization page, so whoever could
	 * change them could read the secrets; an administrator must not be able to redirect them. Microsoft's national
	 * clouds set the first (its authorization page is then found next to it: .../token becomes .../authorize).
	 */
	const CONSTANT_ONLY_KEYS = array(
		'oauth_token_url'            => 'string',
		'oauth_authorize_url'        => 'string',
		'oauth_google_token_url'     => 'string',
		'oauth_google_authorize_url' => 'string',
		'oauth_google_revoke_url'    => 'string',
	);

	/** Plugin behaviour. RUST_MAIL_LOG_BODIES set to false keeps bodies out of the log whatever the page says. */
	const LOG_KEYS = array(
		'preset'         => 'choice',
		'log_bodies'     => 'bool',
		'retention_days' => 'int',
	);

	/**
	 * How wp_mail() hands mail over (RustMail_Outbox_Drain): `queued` returns once the message is stored and sends after
	 * the response, retrying a transient failure for `retry_hours`; `immediate` waits for the server, as core does.
	 */
	const DELIVERY_KEYS = array(
		'delivery'    => 'choice',
		'retry_hours' => 'int',
		'alert_mail'  => 'bool',
	);

	/** Rate limits of a connection (0: none); the fallback's are the same keys with the fallback_ prefix. */
	const LIMIT_KEYS = array(
		'rate_per_minute'    => 'int',
		'rate_per_day'       => 'int',
		'recipients_per_day' => 'int',
	);

	/** Prefix of the fallback connection's keys (and of its RUST_MAIL_FALLBACK_<KEY> constants). */
	const FALLBACK = 'fallback_';

	const DEFAULTS = array(
		'host'                => '',
		'port'                => 587,
		'security'            => 'starttls',
		'auth'                => 'none',
		'username'            => '',
		'password'            => '',
		'timeout'             => 30,
		'tls_min_version'     => '1.2',
		'verify_peer'         => true,
		'ca_file'             => '',
		'helo'                => '',
		'pool'                => true,
		'allow_insecure_auth' => false,
		'chunking'            => true,
		'from'                => '',
		'from_name'           => '',
		'force_from'          => false,
		'oauth_tenant'        => '',
		'oauth_client_id'     => '',
		'oauth_client_secret' => '',
		'oauth_token_url'     => 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token',
		// Empty: next to the token URL.
		'oauth_authorize_url' => '',
		'oauth_google_token_url'     => 'https://oauth2.googleapis.com/token',
		'oauth_google_authorize_url' => 'https://accounts.google.com/o/oauth2/v2/auth',
		'oauth_google_revoke_url'    => 'https://oauth2.googleapis.com/revoke',
		'preset'              => 'custom',
		'log_bodies'          => false,
		'retention_days'      => 30,
		'delivery'            => 'queued',
		'retry_hours'         => 48,
		'alert_mail'          => false,
		'rate_per_minute'     => 0,
		'rate_per_day'        => 0,
		'recipients_per_day'  => 0,
	);

	/** The plugin's own choices; a `$transport` key's come from the extension (see choices()). */
	const CHOICES = array(
		'preset'   => array( 'm365', 'm365_direct', 'outlook', 'godaddy', 'localhost', 'gmail', 'custom' ),
		'delivery' => array( 'queued', 'immediate' ),
	);

	/** @return string[] the values a choice setting may take (a fallback key's are its primary's) */
	public static function choices( $key ) {
		$key = self::base_key( $key );
		return self::CHOICES[ $key ] ?? self::exported_transport_keys()[ $key ]['choices'] ?? array();
	}

	/** @return array<string, string> every key the settings form saves, with its type */
	public static function keys() {
		static $keys = null; // Asked for by every get(): built once.
		if ( null === $keys ) {
			$keys = self::connection_keys( '' ) + self::connection_keys( self::FALLBACK ) + self::SENDER_KEYS
				+ self::OAUTH_KEYS + self::LOG_KEYS + self::DELIVERY_KEYS;
		}
		return $keys;
	}

	/** The transport and rate limit keys of one connection: '' for the primary, FALLBACK for the fallback. */
	public static function connection_keys( $prefix ) {
		$keys = array();
		foreach ( self::transport_keys() + self::LIMIT_KEYS as $key => $type ) {
			$keys[ $prefix . $key ] = $type;
		}
		return $keys;
	}

	/** A fallback key's primary counterpart ('fallback_port' => 'port'): the same type, choices and default. */
	public static function base_key( $key ) {
		return 0 === strpos( $key, self::FALLBACK ) ? substr( $key, strlen( self::FALLBACK ) ) : $key;
	}

	/** The fallback has no host by default, so it is off until one is set. */
	public static function default_value( $key ) {
		return self::FALLBACK . 'host' === $key ? '' : self::DEFAULTS[ self::base_key( $key ) ];
	}

	/** @return string[] the keys stored encrypted and never sent back to the browser */
	public static function secret_keys() {
		static $secret_keys = null;
		if ( null === $secret_keys ) {
			$secret_keys = array_keys( self::keys(), 'secret', true );
		}
		return $secret_keys;
	}

	public static function constant_name( $key ) {
		return 'RUST_MAIL_' . strtoupper( $key );
	}
}
