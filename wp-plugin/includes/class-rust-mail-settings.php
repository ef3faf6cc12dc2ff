<?php
/**
 * Settings: stored in one option, each of them (but the preset) overridable by a RUST_MAIL_<KEY> constant in
 * wp-config.php. On multisite they are the network's: one network option, edited on a network admin screen, because
 * every site's mail (password resets of the network's users among it) goes through them.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class Rust_Mail_Settings {

	const OPTION = 'rust_mail_settings';

	/** Prefix of a stored secret: version 2 encrypts each field with a key of its own. */
	const SECRET_PREFIX = 'sodium2:';

	/** The placeholder of wp-config-sample.php: a salt still set to it is public. */
	const SAMPLE_SALT = 'put your unique phrase here';

	/** Shortest RUST_MAIL_SECRET_KEY, or salts taken together, accepted as key material (WordPress's own are 64). */
	const MIN_KEY_MATERIAL = 32;

	/**
	 * Settings that decide where a secret goes. A secret fixed in wp-config.php is used only when these are fixed there
	 * too; otherwise an administrator could point it at their own server and read it (Rust_Mail_Settings::transport()).
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
	 *
	 * @return array<string, string>
	 */
	public static function transport_keys() {
		static $keys = null;
		if ( null === $keys ) {
			$keys = array_map( fn ( $about ) => self::SETTING_TYPES[ $about['type'] ], Rust_Mail_Rules::transport_keys() );
		}
		return $keys;
	}

	/** Sender settings, also fixable by constants (RUST_MAIL_FROM, RUST_MAIL_FROM_NAME, RUST_MAIL_FORCE_FROM). */
	const SENDER_KEYS = array(
		'from'       => 'string',
		'from_name'  => 'string',
		'force_from' => 'bool',
	);

	/**
	 * OAuth2 for auth 'xoauth2': the app registration. With all three set, the plugin fetches the access token itself
	 * (Rust_Mail_OAuth: client credentials), because a pasted token expires within the hour. With a mailbox signed in
	 * (Sign in with Microsoft or Google, Rust_Mail_OAuth_Grant), the client ID and secret are that sign-in's app, and
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
	 * How wp_mail() hands mail over (Rust_Mail_Outbox): `queued` returns once the message is stored and sends after
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
		return self::CHOICES[ $key ] ?? Rust_Mail_Rules::transport_keys()[ $key ]['choices'];
	}

	/**
	 * Presets: the setups our users have. Each fills host (when it is the same for everybody), port, security and auth;
	 * `also` lists other values a field may keep under the preset.
	 *
	 * @return array<string, array{label: string, description: string, values: array, also?: array}>
	 */
	public static function presets() {
		return array(
			'm365'        => array(
				'label'       => __( 'Microsoft 365', 'rust-mail' ),
				'description' => __( 'Sends through smtp.office365.com on port 587 with STARTTLS and a mailbox login; Microsoft switches password login off by default at the end of December 2026, after which it needs OAuth2 (XOAUTH2): register an app in Microsoft Entra ID (OAuth2 app registration with a client secret), let it send as the mailbox in Exchange, then choose "OAuth2 token (XOAUTH2)" and fill in its tenant ID, client ID and client secret.', 'rust-mail' ),
				'values'      => array( 'host' => 'smtp.office365.com', 'port' => 587, 'security' => 'starttls', 'auth' => 'login' ),
				// The OAuth2 login that replaces the password: chosen on the form, it is kept instead of the preset's value.
				'also'        => array( 'auth' => array( 'xoauth2' ) ),
				// Exchange Online's published sending limits; filled in where the form leaves a limit at 0.
				'limits'      => array( 'rate_per_minute' => 30, 'recipients_per_day' => 10000 ),
			),
			'm365_direct' => array(
				'label'       => __( 'Microsoft 365 direct send', 'rust-mail' ),
				'description' => __( 'Delivers to your tenant domain\'s MX host (for example contoso-com.mail.protection.outlook.com) on port 25 without a login, which only reaches mailboxes of your own organisation.', 'rust-mail' ),
				'values'      => array( 'port' => 25, 'security' => 'opportunistic', 'auth' => 'none' ),
			),
			'outlook'     => array(
				'label'       => __( 'Outlook.com / Hotmail', 'rust-mail' ),
				'description' => __( 'Sends through smtp-mail.outlook.com on port 587 with STARTTLS. Outlook.com no longer takes passwords: register an app in Microsoft Entra ID for personal accounts, fill in its client ID and secret under OAuth2, save, then use "Sign in with Microsoft".', 'rust-mail' ),
				'values'      => array( 'host' => 'smtp-mail.outlook.com', 'port' => 587, 'security' => 'starttls', 'auth' => 'xoauth2' ),
			),
			'godaddy'     => array(
				'label'       => __( 'GoDaddy shared hosting relay', 'rust-mail' ),
				'description' => __( 'Hands mail to relay-hosting.secureserver.net on port 25 without login or TLS, the only way out of GoDaddy shared hosting (about 250 messages a day).', 'rust-mail' ),
				'values'      => array( 'host' => 'relay-hosting.secureserver.net', 'port' => 25, 'security' => 'none', 'auth' => 'none' ),
				'limits'      => array( 'rate_per_day' => 250 ),
			),
			'localhost'   => array(
				'label'       => __( 'A server on this machine', 'rust-mail' ),
				'description' => __( 'Hands mail to the mail server running on this machine (localhost, port 25), which delivers it onwards.', 'rust-mail' ),
				'values'      => array( 'host' => 'localhost', 'port' => 25, 'security' => 'none', 'auth' => 'none' ),
			),
			'gmail'       => array(
				'label'       => __( 'Gmail (app password)', 'rust-mail' ),
				'description' => __( 'Sends through smtp.gmail.com on port 587 with STARTTLS, logging in with your address and an app password (your normal password is refused). Where app passwords are not allowed (Google Workspace), choose "OAuth2 token (XOAUTH2)", fill in the client ID and secret of your Google Cloud app, save, then use "Sign in with Google".', 'rust-mail' ),
				'values'      => array( 'host' => 'smtp.gmail.com', 'port' => 587, 'security' => 'starttls', 'auth' => 'login' ),
				// Signed in with Google instead of an app password.
				'also'        => array( 'auth' => array( 'xoauth2' ) ),
				// Gmail's published limit for a personal account.
				'limits'      => array( 'recipients_per_day' => 500 ),
			),
			'custom'      => array(
				'label'       => __( 'Custom', 'rust-mail' ),
				'description' => __( 'Any other SMTP server: fill in every field yourself.', 'rust-mail' ),
				'values'      => array(),
			),
		);
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
	private static function default_value( $key ) {
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

	/** The preset only chooses what the form fills in, so it is the one setting a constant cannot fix. */
	public static function is_fixed_by_constant( $key ) {
		return 'preset' !== $key && defined( self::constant_name( $key ) );
	}

	/** @return string[] keys fixed by constants in wp-config.php */
	public static function fixed_keys() {
		return array_values( array_filter( array_keys( self::keys() + self::CONSTANT_ONLY_KEYS ), array( __CLASS__, 'is_fixed_by_constant' ) ) );
	}

	/** @var array|null the option as this request read it: a drain reads settings for every message it sends. */
	private static $stored = null;

	private static function stored() {
		if ( null === self::$stored ) {
			$stored       = self::get_plugin_option( self::OPTION, array() );
			self::$stored = is_array( $stored ) ? $stored : array();
		}
		return self::$stored;
	}

	/** Forgets what stored() read, when the option changes in this request (the form, another plugin, a test). */
	public static function watch_option() {
		$forget = static function () {
			self::$stored = null;
		};
		foreach ( array( 'add_option_', 'update_option_', 'delete_option_', 'add_site_option_', 'update_site_option_', 'delete_site_option_' ) as $hook ) {
			add_action( $hook . self::OPTION, $forget );
		}
	}

	/**
	 * The plugin's own options (settings, log version, OAuth2 token): the network's on multisite, else the site's.
	 * Every option of the plugin goes through these three, so no subsite can hold a setting of its own.
	 */
	public static function get_plugin_option( $name, $default = false ) {
		return is_multisite() ? get_site_option( $name, $default ) : get_option( $name, $default );
	}

	public static function update_plugin_option( $name, $value ) {
		return is_multisite() ? update_site_option( $name, $value ) : update_option( $name, $value, false );
	}

	public static function delete_plugin_option( $name ) {
		return is_multisite() ? delete_site_option( $name ) : delete_option( $name );
	}

	/**
	 * One of the plugin's options as the database has it now, bypassing the request's caches (another PHP worker may
	 * have changed it a moment ago: the OAuth2 token and sign-in).
	 *
	 * @return array{0: string|null, 1: mixed} the stored (serialized) text, null when there is none, and its value.
	 */
	public static function read_plugin_option( $name ) {
		global $wpdb;
		if ( is_multisite() ) {
			$raw = $wpdb->get_var( $wpdb->prepare( "SELECT meta_value FROM {$wpdb->sitemeta} WHERE site_id = %d AND meta_key = %s ORDER BY meta_id LIMIT 1", get_current_network_id(), $name ) );
		} else {
			$raw = $wpdb->get_var( $wpdb->prepare( "SELECT option_value FROM {$wpdb->options} WHERE option_name = %s LIMIT 1", $name ) );
		}
		return array( $raw, null === $raw ? null : maybe_unserialize( $raw ) );
	}

	/**
	 * Compare-and-swap on one of the plugin's options: one UPDATE that matches the option only while its stored text
	 * is still exactly $old_raw (byte for byte), so of two workers that read the same value only one replaces it.
	 *
	 * @param string $old_raw the stored text as read_plugin_option() returned it.
	 * @param mixed  $value   the new value; it must differ from the old one.
	 * @return bool whether this write took place.
	 */
	public static function swap_plugin_option( $name, $old_raw, $value ) {
		global $wpdb;
		if ( is_multisite() ) {
			$rows = $wpdb->query( $wpdb->prepare( "UPDATE {$wpdb->sitemeta} SET meta_value = %s WHERE site_id = %d AND meta_key = %s AND BINARY meta_value = %s", maybe_serialize( $value ), get_current_network_id(), $name, $old_raw ) );
			wp_cache_delete( get_current_network_id() . ':' . $name, 'site-options' );
		} else {
			$rows = $wpdb->query( $wpdb->prepare( "UPDATE {$wpdb->options} SET option_value = %s WHERE option_name = %s AND BINARY option_value = %s", maybe_serialize( $value ), $name, $old_raw ) );
			wp_cache_delete( $name, 'options' );
		}
		return 1 === $rows;
	}

	/**
	 * The effective value of a setting: constant, else stored option, else default. Secrets come back decrypted.
	 */
	public static function get( $key ) {
		if ( self::is_fixed_by_constant( $key ) ) {
			return constant( self::constant_name( $key ) );
		}
		$stored = self::stored();
		if ( ! array_key_exists( $key, $stored ) || isset( self::CONSTANT_ONLY_KEYS[ $key ] ) ) {
			return self::default_value( $key );
		}
		if ( in_array( $key, self::secret_keys(), true ) ) {
			$plain = self::decrypt( (string) $stored[ $key ], $key );
			return null === $plain ? '' : $plain;
		}
		return $stored[ $key ];
	}

	/** @param string $key 'password' or another secret key. */
	public static function has_saved_password( $key = 'password' ) {
		return self::is_fixed_by_constant( $key ) || '' !== (string) ( self::stored()[ $key ] ?? '' );
	}

	/** True when a password is stored but cannot be decrypted any more (for example after the salts changed). */
	public static function saved_password_unreadable() {
		$stored = (string) ( self::stored()['password'] ?? '' );
		return ! self::is_fixed_by_constant( 'password' ) && '' !== $stored && null === self::decrypt( $stored, 'password' );
	}

	/**
	 * Why a secret fixed in wp-config.php cannot be used by a connection, or '' when it can: the settings that decide
	 * where it is sent must be fixed there too.
	 *
	 * @param string $prefix '' for the primary connection (its password and the OAuth2 app), FALLBACK for the fallback.
	 */
	public static function constant_secret_problem( $prefix = '' ) {
		$own     = '' === $prefix ? array_diff( self::secret_keys(), array( self::FALLBACK . 'password' ) ) : array( $prefix . 'password' );
		$secrets = array_filter( $own, array( __CLASS__, 'is_fixed_by_constant' ) );
		if ( ! $secrets ) {
			return '';
		}
		$editable = array();
		foreach ( self::SECRET_DESTINATION_KEYS as $key ) {
			if ( ! self::is_fixed_by_constant( $prefix . $key ) ) {
				$editable[] = $prefix . $key;
			}
		}
		if ( ! $editable ) {
			return '';
		}
		return sprintf(
			/* translators: 1: secret constants such as RUST_MAIL_PASSWORD, 2: the constants that are missing */
			__( 'The secret in %1$s is not used: it is only sent to a server that wp-config.php fixes too, so that nobody who can change these settings can send it to a server of their own. Define %2$s in wp-config.php as well.', 'rust-mail' ),
			implode( ', ', array_map( array( __CLASS__, 'constant_name' ), $secrets ) ),
			implode( ', ', array_map( array( __CLASS__, 'constant_name' ), $editable ) )
		);
	}

	/** Configured means there is a server to send to; RUST_MAIL_HOST alone is enough. */
	public static function is_configured() {
		return '' !== trim( (string) self::get( 'host' ) );
	}

	public static function has_fallback() {
		return '' !== trim( (string) self::get( self::FALLBACK . 'host' ) );
	}

	/** @return array<string, int> a connection's rate limits that are set (above 0), by unprefixed name */
	public static function limits( $prefix ) {
		$limits = array();
		foreach ( array_keys( self::LIMIT_KEYS ) as $key ) {
			$value = (int) self::get( $prefix . $key );
			if ( $value > 0 ) {
				$limits[ $key ] = $value;
			}
		}
		return $limits;
	}

	/**
	 * The `$transport` array for rust_mail_send() and rust_mail_diagnose(). Empty optional strings are left out so that
	 * the extension applies its own defaults. With an OAuth2 app configured, the password is its access token.
	 *
	 * @param bool   $with_secret false for a transport that is only described (explaining a logged failure): no
	 *                            password is decrypted and no OAuth2 token fetched.
	 * @param string $prefix      '' for the primary connection, FALLBACK for the fallback (which has no OAuth2 app:
	 *                            with XOAUTH2 its password is the token).
	 * @throws Rust_Mail_OAuth_Exception when the token cannot be had.
	 * @throws Rust_Mail_Settings_Exception when a secret from wp-config.php would go to a server the page chose.
	 */
	public static function transport( $with_secret = true, $prefix = '' ) {
		$problem = $with_secret ? self::constant_secret_problem( $prefix ) : '';
		if ( '' !== $problem ) {
			throw new Rust_Mail_Settings_Exception( $problem );
		}
		$transport = array();
		foreach ( self::transport_keys() as $key => $type ) {
			if ( 'secret' === $type && ! $with_secret ) {
				continue;
			}
			$value = self::get( $prefix . $key );
			if ( 'string' === $type || 'secret' === $type ) {
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
		if ( 'none' === $transport['auth'] ) {
			unset( $transport['username'], $transport['password'] );
		} elseif ( $with_secret && '' === $prefix && 'xoauth2' === $transport['auth'] && Rust_Mail_OAuth::is_configured() ) {
			// The one place every send and every diagnosis gets its transport: the app's fresh token replaces the
			// password here. Throws Rust_Mail_OAuth_Exception when no token can be had.
			$transport['password'] = Rust_Mail_OAuth::token();
		}
		return $transport;
	}

	/**
	 * Saves the settings form. Values fixed by constants are ignored; a preset overrides the fields it fills;
	 * an empty password (or client secret) field keeps the saved one.
	 *
	 * @param array $input unslashed $_POST['rust_mail'] values.
	 * @return string[] the secrets that were not stored because there is no strong key (see key_problem()).
	 */
	public static function save( array $input ) {
		$settings = self::stored();
		foreach ( self::keys() as $key => $type ) {
			if ( 'secret' === $type || self::is_fixed_by_constant( $key ) ) {
				continue;
			}
			$settings[ $key ] = self::sanitize( $key, $type, $input[ $key ] ?? null );
		}

		$presets = self::presets();
		$preset = $presets[ $settings['preset'] ];
		foreach ( $preset['values'] as $key => $value ) {
			if ( ! self::is_fixed_by_constant( $key ) && ! in_array( $settings[ $key ], $preset['also'][ $key ] ?? array(), true ) ) {
				$settings[ $key ] = $value;
			}
		}
		// A preset's published limits fill the limits left at 0; a lower limit of the owner's own is kept.
		foreach ( $preset['limits'] ?? array() as $key => $value ) {
			if ( ! self::is_fixed_by_constant( $key ) && 0 === $settings[ $key ] ) {
				$settings[ $key ] = $value;
			}
		}

		$refused = array();
		foreach ( self::secret_keys() as $key ) {
			if ( self::is_fixed_by_constant( $key ) ) {
				continue;
			}
			if ( ! empty( $input[ 'forget_' . $key ] ) ) {
				$settings[ $key ] = '';
			} elseif ( isset( $input[ $key ] ) && '' !== $input[ $key ] ) {
				$encrypted = self::encrypt( (string) $input[ $key ], $key );
				if ( null === $encrypted ) {
					$refused[] = $key;
				} else {
					$settings[ $key ] = $encrypted;
				}
			}
		}

		self::update_plugin_option( self::OPTION, $settings );
		return $refused;
	}

	/**
	 * Stores some settings as they are (values the plugin decided, such as the address a sign-in gave for the user
	 * name); keys fixed by constants are left alone.
	 *
	 * @param array<string, mixed> $values non-secret settings.
	 */
	public static function update( array $values ) {
		$settings = self::stored();
		foreach ( $values as $key => $value ) {
			if ( isset( self::keys()[ $key ] ) && 'secret' !== self::keys()[ $key ] && ! self::is_fixed_by_constant( $key ) ) {
				$settings[ $key ] = self::sanitize( $key, self::keys()[ $key ], $value );
			}
		}
		self::update_plugin_option( self::OPTION, $settings );
	}

	private static function sanitize( $key, $type, $value ) {
		switch ( $type ) {
			case 'bool':
				return ! empty( $value );
			case 'int':
				$number = absint( $value );
				if ( isset( self::LIMIT_KEYS[ self::base_key( $key ) ] ) ) {
					return $number; // 0: no limit.
				}
				return $number ?: self::default_value( $key );
			case 'choice':
				return in_array( $value, self::choices( $key ), true ) ? $value : self::default_value( $key );
			default:
				if ( 'from' === $key ) {
					return sanitize_email( (string) $value );
				}
				return sanitize_text_field( (string) $value );
		}
	}

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
	 * @return string|null the stored form, or null when there is no strong key to encrypt with.
	 */
	public static function encrypt( $plain, $field ) {
		$key = self::key( $field );
		if ( null === $key ) {
			return null;
		}
		$nonce = random_bytes( SODIUM_CRYPTO_SECRETBOX_NONCEBYTES );
		return self::SECRET_PREFIX . base64_encode( $nonce . sodium_crypto_secretbox( $plain, $nonce, $key ) );
	}

	/** @return string|null the secret, or null when it cannot be decrypted (other key, other field, other format) */
	public static function decrypt( $stored, $field ) {
		if ( '' === $stored ) {
			return '';
		}
		$key = self::key( $field );
		if ( null === $key || 0 !== strpos( $stored, self::SECRET_PREFIX ) ) {
			return null;
		}
		$bytes = base64_decode( substr( $stored, strlen( self::SECRET_PREFIX ) ), true );
		if ( false === $bytes || strlen( $bytes ) <= SODIUM_CRYPTO_SECRETBOX_NONCEBYTES ) {
			return null;
		}
		$nonce = substr( $bytes, 0, SODIUM_CRYPTO_SECRETBOX_NONCEBYTES );
		$plain = sodium_crypto_secretbox_open( substr( $bytes, SODIUM_CRYPTO_SECRETBOX_NONCEBYTES ), $nonce, $key );
		return false === $plain ? null : $plain;
	}
}

/** The settings cannot be used as they are; the message says which constants to add. */
class Rust_Mail_Settings_Exception extends RuntimeException {
}
