<?php
/**
 * Every setting, one entry per key (see declared()): its type, default and choices, and how the settings page shows
 * it. The `$transport` keys of rust_mail_send() come with their types, choices and defaults from the extension's
 * export (data/classifier.json); the plugin keeps no second list. Adding a setting means adding its entry here.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Settings_Schema {

	/**
	 * Settings that decide where a secret goes. A secret fixed in wp-config.php is used only when these are fixed there
	 * too; otherwise an administrator could point it at their own server and read it (RustMail_Transport_Connection::transport()).
	 */
	const SECRET_DESTINATION_KEYS = array( 'host', 'port', 'security' );

	/**
	 * The same for a connection over an HTTP API (`api` set): which API, its base URL, and for SES and Mailgun the
	 * region, which makes the default base URL (RustMail_Settings_Store::constant_secret_problem()).
	 */
	const API_SECRET_DESTINATION_KEYS = array( 'api', 'api_base' );

	/**
	 * The settings that guard a secret on its way (the certificate check, the CA it trusts, a login without TLS).
	 * While a secret from wp-config.php is in use, each takes its constant, or else its safe default (checked, the
	 * system's CAs, never without TLS), never the page's value (RustMail_Transport_Connection::transport()).
	 */
	const SECRET_GUARD_KEYS = array( 'verify_peer', 'ca_file', 'allow_insecure_auth' );

	/** The APIs whose default base URL is made from the region. */
	const REGIONAL_APIS = array( 'ses', 'mailgun' );

	/**
	 * The `$transport` keys of an SMTP server, which the extension refuses with `api` set: a connection over an API
	 * leaves them out (RustMail_Transport_Connection) and the settings page hides them.
	 */
	const SMTP_ONLY_KEYS = array( 'host', 'port', 'security', 'auth', 'helo', 'allow_insecure_auth', 'chunking' );

	/**
	 * OAuth2 for auth 'xoauth2': the app registration. With all three set, the plugin fetches the access token itself
	 * (RustMail_OAuth_Token: client credentials), because a pasted token expires within the hour. With a mailbox signed in
	 * (Sign in with Microsoft or Google, RustMail_OAuth_Grant), the client ID and secret are that sign-in's app, and
	 * the tenant is optional (`common`). The secret is stored like the password.
	 */
	const OAUTH_APP_KEYS = array( 'oauth_tenant', 'oauth_client_id', 'oauth_client_secret' );

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

	/** Prefix of the fallback connection's keys (and of its RUST_MAIL_FALLBACK_<KEY> constants). */
	const FALLBACK = 'fallback_';

	/**
	 * The settings the plugin declares, in the order the form saves them. Each entry may have:
	 * - type: string, int, bool, secret or choice; default; choices. A `$transport` key has no type or choices here
	 *   (the extension's export declares them), and a default only where the plugin chooses its own.
	 * - connection: a key each connection has besides the `$transport` keys; the fallback's has the fallback_ prefix.
	 * - constant_only: settable only by its RUST_MAIL_<KEY> constant.
	 * - section (of sections()) and control (text, email, number, select, checkbox, password, static): where and how
	 *   the settings page shows it, in the order of entries() within its section (the `$transport` keys in the
	 *   export's); without them it is not shown.
	 * - label, help, choice_labels: functions, because settings are read before init loads the translations; the
	 *   page calls them (entries()).
	 * A fallback key shown on the page has its primary's control, label and choice labels unless its entry has its
	 * own; its section and help are its own.
	 * entries() adds what the export declares and the presets that set each key.
	 */
	private static function declared() {
		static $declared = null; // Asked for by every default_value(): built once.
		if ( null !== $declared ) {
			return $declared;
		}
		$security_labels = fn () => array(
			'none'          => __( 'None (plain text)', 'rust-mail' ),
			'starttls'      => __( 'STARTTLS (required)', 'rust-mail' ),
			'opportunistic' => __( 'STARTTLS when offered', 'rust-mail' ),
			'tls'           => __( 'TLS from the start (port 465)', 'rust-mail' ),
		);
		$auth_labels     = fn () => array(
			'none'    => __( 'No login', 'rust-mail' ),
			'login'   => __( 'LOGIN', 'rust-mail' ),
			'plain'   => __( 'PLAIN', 'rust-mail' ),
			'xoauth2' => __( 'OAuth2 token (XOAUTH2)', 'rust-mail' ),
			'auto'    => __( 'Whatever the server offers', 'rust-mail' ),
		);
		$declared = array(
			// Empty: SMTP, the server below. An API sends over HTTPS (port 443) instead.
			'api'                         => array(
				'default'       => '',
				'section'       => 'server',
				'control'       => 'select',
				'label'         => fn () => __( 'Send through', 'rust-mail' ),
				'choice_labels' => fn () => array(
					''        => __( 'SMTP (the server below)', 'rust-mail' ),
					'graph'   => __( 'Microsoft Graph API', 'rust-mail' ),
					'gmail'   => __( 'Gmail API', 'rust-mail' ),
					'ses'     => __( 'Amazon SES API', 'rust-mail' ),
					'mailgun' => __( 'Mailgun API', 'rust-mail' ),
				),
				'help'          => fn () => __( 'An HTTP API sends over HTTPS (port 443), for hosts that block the SMTP ports or providers that switched password login off.', 'rust-mail' ),
			),
			'region'                      => array(
				'default' => '',
				'section' => 'server',
				'control' => 'text',
				'label'   => fn () => __( 'Region', 'rust-mail' ),
				'help'    => fn () => __( 'Amazon SES: the AWS region, such as eu-west-1. Mailgun: us (default) or eu.', 'rust-mail' ),
			),
			'host'                        => array(
				'default' => '',
				'section' => 'server',
				'control' => 'text',
				'label'   => fn () => __( 'Host', 'rust-mail' ),
				'help'    => fn () => __( 'Name or IP address of the SMTP server.', 'rust-mail' ),
			),
			// The extension, given neither port nor security, uses port 25 with STARTTLS when offered (its export's
			// transport.otherwise): a relay's setup. The form starts from what most servers want, mail
			// submission on 587 with STARTTLS, as it always has.
			'port'                        => array(
				'default' => 587,
				'section' => 'server',
				'control' => 'number',
				'label'   => fn () => __( 'Port', 'rust-mail' ),
				'help'    => fn () => __( 'Usually 587 (STARTTLS), 465 (TLS) or 25.', 'rust-mail' ),
			),
			'security'                    => array(
				'default'       => 'starttls',
				'section'       => 'server',
				'control'       => 'select',
				'label'         => fn () => __( 'Encryption', 'rust-mail' ),
				'choice_labels' => $security_labels,
			),
			'auth'                        => array(
				'section'       => 'server',
				'control'       => 'select',
				'label'         => fn () => __( 'Authentication', 'rust-mail' ),
				'choice_labels' => $auth_labels,
			),
			'username'                    => array(
				'default' => '',
				'section' => 'server',
				'control' => 'text',
				'label'   => fn () => __( 'User name', 'rust-mail' ),
			),
			'password'                    => array(
				'default' => '',
				'section' => 'server',
				'control' => 'password',
				'label'   => fn () => __( 'Password', 'rust-mail' ),
				'help'    => fn () => __( 'Stored encrypted with a key from wp-config.php; never shown again.', 'rust-mail' ),
			),
			'timeout'                     => array(
				'section' => 'advanced',
				'control' => 'number',
				'label'   => fn () => __( 'Timeout (seconds)', 'rust-mail' ),
			),
			'tls_min_version'             => array(
				'section'       => 'advanced',
				'control'       => 'select',
				'label'         => fn () => __( 'Minimum TLS version', 'rust-mail' ),
				'choice_labels' => fn () => array(
					'1.2' => __( 'TLS 1.2', 'rust-mail' ),
					'1.3' => __( 'TLS 1.3', 'rust-mail' ),
				),
			),
			'verify_peer'                 => array(
				'section' => 'advanced',
				'control' => 'checkbox',
				'label'   => fn () => __( 'Verify certificate', 'rust-mail' ),
				'help'    => fn () => __( 'Check that the server\'s certificate is valid and names the host.', 'rust-mail' ),
			),
			'ca_file'                     => array(
				'default' => '',
				'section' => 'advanced',
				'control' => 'text',
				'label'   => fn () => __( 'CA file', 'rust-mail' ),
				'help'    => fn () => __( 'Path to extra trusted certificates (PEM), for a server with a private CA.', 'rust-mail' ),
			),
			'api_base'                    => array(
				'default' => '',
				'section' => 'advanced',
				'control' => 'text',
				'label'   => fn () => __( 'API base URL', 'rust-mail' ),
				'help'    => fn () => __( 'Only for an API: another https:// address than the provider\'s own (a national cloud). Empty: the provider\'s.', 'rust-mail' ),
			),
			'helo'                        => array(
				'default' => '',
				'section' => 'advanced',
				'control' => 'text',
				'label'   => fn () => __( 'HELO name', 'rust-mail' ),
				'help'    => fn () => __( 'Name to greet the server with; empty uses this machine\'s name.', 'rust-mail' ),
			),
			'pool'                        => array(
				'section' => 'advanced',
				'control' => 'checkbox',
				'label'   => fn () => __( 'Reuse connections', 'rust-mail' ),
				'help'    => fn () => __( 'Keep the connection open for the next mail from the same PHP process.', 'rust-mail' ),
			),
			'allow_insecure_auth'         => array(
				'section' => 'advanced',
				'control' => 'checkbox',
				'label'   => fn () => __( 'Allow login without encryption', 'rust-mail' ),
				'help'    => fn () => __( 'Send the password over an unencrypted connection. Only for a server on this machine.', 'rust-mail' ),
			),
			// Rate limits of a connection (0: none). Mail over a limit waits in the outbox (RustMail_Outbox_Rate_Limit).
			'rate_per_minute'             => array(
				'type'       => 'int',
				'default'    => 0,
				'connection' => true,
				'section'    => 'limits',
				'control'    => 'number',
				'label'      => fn () => __( 'Messages a minute', 'rust-mail' ),
				'help'       => fn () => __( 'The most the server takes; 0 for no limit. Mail over a limit waits in the outbox instead of failing. The Microsoft 365 preset fills in Microsoft\'s limits (30 a minute, 10,000 recipients a day).', 'rust-mail' ),
			),
			'rate_per_day'                => array(
				'type'       => 'int',
				'default'    => 0,
				'connection' => true,
				'section'    => 'limits',
				'control'    => 'number',
				'label'      => fn () => __( 'Messages a day', 'rust-mail' ),
			),
			'recipients_per_day'          => array(
				'type'       => 'int',
				'default'    => 0,
				'connection' => true,
				'section'    => 'limits',
				'control'    => 'number',
				'label'      => fn () => __( 'Recipients a day', 'rust-mail' ),
			),
			// The fallback has no host by default, so it is off until one is set.
			'fallback_api'                => array( 'section' => 'fallback' ),
			'fallback_region'             => array( 'section' => 'fallback' ),
			'fallback_api_base'           => array( 'section' => 'fallback' ),
			'fallback_host'               => array(
				'default' => '',
				'section' => 'fallback',
				'help'    => fn () => __( 'A second server, used when the first one fails for a while or is over its limits. Empty (and no API above): none. It may be of the other kind: an API behind an SMTP server, or the reverse.', 'rust-mail' ),
			),
			'fallback_port'               => array( 'section' => 'fallback' ),
			'fallback_security'           => array( 'section' => 'fallback' ),
			'fallback_auth'               => array( 'section' => 'fallback' ),
			'fallback_username'           => array( 'section' => 'fallback' ),
			'fallback_password'           => array( 'section' => 'fallback' ),
			'fallback_rate_per_minute'    => array(
				'section' => 'limits',
				'control' => 'number',
				'label'   => fn () => __( 'Fallback: messages a minute', 'rust-mail' ),
			),
			'fallback_rate_per_day'       => array(
				'section' => 'limits',
				'control' => 'number',
				'label'   => fn () => __( 'Fallback: messages a day', 'rust-mail' ),
			),
			'fallback_recipients_per_day' => array(
				'section' => 'limits',
				'control' => 'number',
				'label'   => fn () => __( 'Fallback: recipients a day', 'rust-mail' ),
			),
			// Sender settings, also fixable by constants (RUST_MAIL_FROM, RUST_MAIL_FROM_NAME, RUST_MAIL_FORCE_FROM).
			'from'                        => array(
				'type'    => 'string',
				'default' => '',
				'section' => 'sender',
				'control' => 'email',
				'label'   => fn () => __( 'From address', 'rust-mail' ),
				'help'    => fn () => __( 'Replaces WordPress\'s default wordpress@ address.', 'rust-mail' ),
			),
			'from_name'                   => array(
				'type'    => 'string',
				'default' => '',
				'section' => 'sender',
				'control' => 'text',
				'label'   => fn () => __( 'From name', 'rust-mail' ),
				'help'    => fn () => __( 'Replaces the default name "WordPress".', 'rust-mail' ),
			),
			'force_from'                  => array(
				'type'    => 'bool',
				'default' => false,
				'section' => 'sender',
				'control' => 'checkbox',
				'label'   => fn () => __( 'Force From', 'rust-mail' ),
				'help'    => fn () => __( 'Use this From address and name for all mail, even when a plugin sets its own (for example to send as support@ through another mailbox\'s login).', 'rust-mail' ),
			),
			// The OAuth2 app (OAUTH_APP_KEYS).
			'oauth_tenant'                => array(
				'type'    => 'string',
				'default' => '',
				'section' => 'oauth',
				'control' => 'text',
				'label'   => fn () => __( 'Tenant ID', 'rust-mail' ),
				'help'    => fn () => __( 'Directory (tenant) ID of your Microsoft Entra ID, or its domain such as contoso.onmicrosoft.com. With these three filled in, the plugin fetches the OAuth2 token itself and the password field is not used; the user name stays the mailbox address. For a sign-in below it may stay empty (common: any Microsoft account); consumers limits it to Outlook.com accounts; Google does not use it.', 'rust-mail' ),
			),
			'oauth_client_id'             => array(
				'type'    => 'string',
				'default' => '',
				'section' => 'oauth',
				'control' => 'text',
				'label'   => fn () => __( 'Client ID', 'rust-mail' ),
				'help'    => fn () => __( 'Application (client) ID of the app registration.', 'rust-mail' ),
			),
			'oauth_client_secret'         => array(
				'type'    => 'secret',
				'default' => '',
				'section' => 'oauth',
				'control' => 'password',
				'label'   => fn () => __( 'Client secret', 'rust-mail' ),
				'help'    => fn () => __( 'The secret\'s value (not its ID). Stored encrypted with a key from wp-config.php; never shown again.', 'rust-mail' ),
			),
			// Plugin behaviour. The preset is shown apart, with each preset's description (RustMail_Settings_Presets).
			'preset'                      => array(
				'type'    => 'choice',
				'default' => 'custom',
				'choices' => array( 'm365', 'm365_graph', 'm365_direct', 'outlook', 'godaddy', 'localhost', 'gmail', 'gmail_api', 'ses', 'mailgun', 'custom' ),
			),
			'retention_days'              => array(
				'type'    => 'int',
				'default' => 30,
				'section' => 'log',
				'control' => 'number',
				'label'   => fn () => __( 'Keep entries for (days)', 'rust-mail' ),
			),
			// A busy site's log grows by the day; the cap bounds it whatever the retention.
			'log_max_rows'                => array(
				'type'    => 'int',
				'default' => 100000,
				'section' => 'log',
				'control' => 'number',
				'label'   => fn () => __( 'Keep at most (entries)', 'rust-mail' ),
				'help'    => fn () => __( 'Once a day the oldest entries beyond this number are removed, a thousand at a time; a message that still waits is never removed.', 'rust-mail' ),
			),
			// RUST_MAIL_LOG_BODIES set to false keeps bodies out of the log whatever the page says.
			'log_bodies'                  => array(
				'type'    => 'bool',
				'default' => false,
				'section' => 'log',
				'control' => 'checkbox',
				'label'   => fn () => __( 'Store message bodies', 'rust-mail' ),
				'help'    => fn () => __( 'Off by default: bodies contain password-reset links and other secrets.', 'rust-mail' ),
			),
			// How wp_mail() hands mail over (RustMail_Outbox_Drain): `queued` returns once the message is stored and
			// sends after the response, retrying a transient failure for `retry_hours`; `immediate` waits for the
			// server, as core does.
			'delivery'                    => array(
				'type'          => 'choice',
				'default'       => 'queued',
				'choices'       => array( 'queued', 'immediate' ),
				'section'       => 'delivery',
				'control'       => 'select',
				'label'         => fn () => __( 'Delivery', 'rust-mail' ),
				'help'          => fn () => __( 'Queued: WordPress gets "sent" as soon as the message is safely stored, the page does not wait for the server, and a server that is down, slow or throttling is tried again later. Immediate: the page waits for the server, and a failure is final, as in WordPress without this plugin.', 'rust-mail' ),
				'choice_labels' => fn () => array(
					'queued'    => __( 'Queued (recommended)', 'rust-mail' ),
					'immediate' => __( 'Immediate', 'rust-mail' ),
				),
			),
			'retry_hours'                 => array(
				'type'    => 'int',
				'default' => 48,
				'section' => 'delivery',
				'control' => 'number',
				'label'   => fn () => __( 'Keep retrying for (hours)', 'rust-mail' ),
				'help'    => fn () => __( 'Queued mail refused for a while (4xx replies, no connection) is retried, less and less often, for this long.', 'rust-mail' ),
			),
			// Constant-only: the client secret, authorization codes and refresh tokens are sent to these addresses,
			// and the admin signs in at the authorization page, so whoever could change them could read the secrets;
			// an administrator must not be able to redirect them. Microsoft's national clouds set the first (its
			// authorization page is then found next to it: .../token becomes .../authorize).
			'oauth_token_url'             => array(
				'type'          => 'string',
				'default'       => 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token',
				'constant_only' => true,
				'section'       => 'oauth',
				'control'       => 'static',
				'label'         => fn () => __( 'Token URL', 'rust-mail' ),
				'help'          => fn () => __( 'Where the token is fetched; only RUST_MAIL_OAUTH_TOKEN_URL in wp-config.php changes it (for example for login.microsoftonline.us).', 'rust-mail' ),
			),
			// Empty: next to the token URL.
			'oauth_authorize_url'         => array(
				'type'          => 'string',
				'default'       => '',
				'constant_only' => true,
			),
			'oauth_google_token_url'      => array(
				'type'          => 'string',
				'default'       => 'https://oauth2.googleapis.com/token',
				'constant_only' => true,
			),
			'oauth_google_authorize_url'  => array(
				'type'          => 'string',
				'default'       => 'https://accounts.google.com/o/oauth2/v2/auth',
				'constant_only' => true,
			),
			'oauth_google_revoke_url'     => array(
				'type'          => 'string',
				'default'       => 'https://oauth2.googleapis.com/revoke',
				'constant_only' => true,
			),
		);
		return $declared;
	}

	/** The settings page's sections, in its order; an entry's `section` names one. Translated: call after init. */
	public static function sections() {
		return array(
			'server'   => __( 'Mail server', 'rust-mail' ),
			// Shown by settings.js only while the authentication is XOAUTH2.
			'oauth'    => __( 'OAuth2 app (Microsoft 365, Outlook.com, Google)', 'rust-mail' ),
			'sender'   => __( 'Sender', 'rust-mail' ),
			'advanced' => __( 'Advanced', 'rust-mail' ),
			'delivery' => __( 'Delivery', 'rust-mail' ),
			'fallback' => __( 'Fallback connection', 'rust-mail' ),
			'limits'   => __( 'Rate limits', 'rust-mail' ),
			'log'      => __( 'Connection log', 'rust-mail' ),
		);
	}

	/**
	 * Every setting with all that is known of it: type, default, choices, the presets that set it, and for the page
	 * section, control, label, help and choice_labels (translated: call after init).
	 *
	 * @return array<string, array{type: string, default: mixed, choices: string[], presets: string[], section?: string, control?: string, label?: string, help?: string, choice_labels?: array<string, string>}>
	 */
	public static function entries() {
		$declared = self::declared();
		$set_by   = array();
		foreach ( RustMail_Settings_Presets::all() as $name => $preset ) {
			foreach ( array_keys( $preset['values'] + ( $preset['limits'] ?? array() ) ) as $key ) {
				$set_by[ $key ][] = $name;
			}
		}
		$entries = array();
		foreach ( self::keys() + self::constant_only_keys() as $key => $type ) {
			$own   = $declared[ $key ] ?? array();
			$entry = array(
				'type'    => $type,
				'default' => self::default_value( $key ),
				'choices' => self::choices( $key ),
				'presets' => $set_by[ $key ] ?? array(),
			);
			if ( isset( $own['section'] ) ) {
				$shown = $own + array_intersect_key( $declared[ self::base_key( $key ) ] ?? array(), array_flip( array( 'control', 'label', 'choice_labels' ) ) );
				$entry += array_intersect_key( $shown, array_flip( array( 'section', 'control' ) ) );
				foreach ( array_intersect_key( $shown, array_flip( array( 'label', 'help', 'choice_labels' ) ) ) as $name => $text ) {
					$entry[ $name ] = $text();
				}
			}
			$entries[ $key ] = $entry;
		}
		return $entries;
	}

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
		$keys = RustMail_Explain_Data::get()['transport']['keys'] ?? array();
		// `api` first: it decides which of the others apply, and the page shows it above the server.
		return array_merge( array_intersect_key( $keys, array( 'api' => true ) ), $keys );
	}

	/**
	 * What the extension uses for a `$transport` key left out (its export's `defaults`), as the setting's type; null
	 * for a key it has no default for, and while the export cannot be read.
	 */
	private static function exported_default( $key ) {
		$defaults = RustMail_Explain_Data::get()['defaults'] ?? array();
		// The settings start without a username, so the extension's auth for a transport without one.
		$values = ( $defaults['values'] ?? array() ) + array( 'auth' => $defaults['auth']['otherwise'] ?? null );
		if ( ! isset( $values[ $key ] ) ) {
			return null;
		}
		// The timeout is exported in seconds with a fraction; the setting is whole seconds.
		return 'int' === ( self::transport_keys()[ $key ] ?? '' ) ? (int) $values[ $key ] : $values[ $key ];
	}

	/** @return string[] the values a choice setting may take (a fallback key's are its primary's) */
	public static function choices( $key ) {
		$key = self::base_key( $key );
		return self::declared()[ $key ]['choices'] ?? self::exported_transport_keys()[ $key ]['choices'] ?? array();
	}

	/** @return array<string, string> every key the settings form saves, with its type */
	public static function keys() {
		static $keys = null; // Asked for by every get(): built once.
		if ( null === $keys ) {
			$keys = self::connection_keys( '' ) + self::connection_keys( self::FALLBACK );
			foreach ( self::declared() as $key => $entry ) {
				if ( isset( $entry['type'] ) && empty( $entry['connection'] ) && empty( $entry['constant_only'] ) ) {
					$keys[ $key ] = $entry['type'];
				}
			}
		}
		return $keys;
	}

	/**
	 * @return string[] the keys the settings form has a field for, the preset among them: a key missing from its post
	 *                  is a box left unticked or a field left empty, while a key it has no field for keeps its value.
	 */
	public static function form_keys() {
		$shown = array_filter( self::declared(), fn ( $entry ) => isset( $entry['section'] ) && 'static' !== ( $entry['control'] ?? '' ) );
		return array_merge( array( 'preset' ), array_keys( $shown ) );
	}

	/** @return array<string, string> the keys only a RUST_MAIL_<KEY> constant sets, with their type */
	public static function constant_only_keys() {
		static $keys = null; // Asked for by every get(): built once.
		if ( null === $keys ) {
			$keys = array_map( fn ( $entry ) => $entry['type'], array_filter( self::declared(), fn ( $entry ) => ! empty( $entry['constant_only'] ) ) );
		}
		return $keys;
	}

	/** @return string[] the rate limits of a connection, by unprefixed name (0: no limit) */
	public static function limit_keys() {
		return array_keys( array_filter( self::declared(), fn ( $entry ) => ! empty( $entry['connection'] ) ) );
	}

	/** The transport and rate limit keys of one connection: '' for the primary, FALLBACK for the fallback. */
	public static function connection_keys( $prefix ) {
		$keys = array();
		foreach ( self::transport_keys() + array_fill_keys( self::limit_keys(), 'int' ) as $key => $type ) {
			$keys[ $prefix . $key ] = $type;
		}
		return $keys;
	}

	/**
	 * A fallback key's primary counterpart ('fallback_port' => 'port'), and a named connection's
	 * ('connection:support:port' => 'port'): the same type, choices and default.
	 */
	public static function base_key( $key ) {
		$named = RustMail_Settings_Connections::parse_key( $key );
		if ( null !== $named ) {
			return $named[1];
		}
		return 0 === strpos( $key, self::FALLBACK ) ? substr( $key, strlen( self::FALLBACK ) ) : $key;
	}

	/** The plugin's default where it declares one (the fallback's host among them), else the extension's. */
	public static function default_value( $key ) {
		$declared = self::declared();
		if ( array_key_exists( 'default', $declared[ $key ] ?? array() ) ) {
			return $declared[ $key ]['default'];
		}
		$key = self::base_key( $key );
		return array_key_exists( 'default', $declared[ $key ] ?? array() ) ? $declared[ $key ]['default'] : self::exported_default( $key );
	}

	/** @return string[] the keys stored encrypted and never sent back to the browser */
	public static function secret_keys() {
		static $secret_keys = null;
		if ( null === $secret_keys ) {
			$secret_keys = array_keys( self::keys(), 'secret', true );
		}
		return $secret_keys;
	}

	/** The constant that fixes a setting: RUST_MAIL_<KEY>, or for a named connection its entry in RUST_MAIL_CONNECTIONS. */
	public static function constant_name( $key ) {
		$named = RustMail_Settings_Connections::parse_key( $key );
		if ( null !== $named ) {
			return sprintf( "RUST_MAIL_CONNECTIONS['%s']['%s']", $named[0], $named[1] );
		}
		return 'RUST_MAIL_' . strtoupper( $key );
	}
}
