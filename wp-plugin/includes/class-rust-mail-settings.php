<?php
/**
 * Settings: stored in one option, each of them overridable by a RUST_MAIL_<KEY> constant in wp-config.php.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class Rust_Mail_Settings {

	const OPTION = 'rust_mail_settings';

	/** Prefix of the stored, encrypted password, so that a format change can be recognised later. */
	const SECRET_PREFIX = 'sodium1:';

	/**
	 * The `$transport` keys of rust_mail_send(), with their type. Each one can be fixed by RUST_MAIL_<KEY>.
	 */
	const TRANSPORT_KEYS = array(
		'host'                => 'string',
		'port'                => 'int',
		'security'            => 'choice',
		'auth'                => 'choice',
		'username'            => 'string',
		'password'            => 'secret',
		'timeout'             => 'int',
		'tls_min_version'     => 'choice',
		'verify_peer'         => 'bool',
		'ca_file'             => 'string',
		'helo'                => 'string',
		'pool'                => 'bool',
		'allow_insecure_auth' => 'bool',
	);

	/** Sender settings, also fixable by constants (RUST_MAIL_FROM, RUST_MAIL_FROM_NAME, RUST_MAIL_FORCE_FROM). */
	const SENDER_KEYS = array(
		'from'       => 'string',
		'from_name'  => 'string',
		'force_from' => 'bool',
	);

	/**
	 * OAuth2 app-only login (client credentials) for auth 'xoauth2': with all three set, the plugin fetches the access
	 * token itself (Rust_Mail_OAuth), because a pasted token expires within the hour. The secret is stored like the password.
	 */
	const OAUTH_KEYS = array(
		'oauth_tenant'        => 'string',
		'oauth_client_id'     => 'string',
		'oauth_client_secret' => 'secret',
	);

	/**
	 * Settable only by a constant (RUST_MAIL_OAUTH_TOKEN_URL): the client secret is sent to this address, so whoever
	 * can change it can read the secret; an administrator must not be able to redirect a secret fixed in wp-config.php.
	 */
	const CONSTANT_ONLY_KEYS = array(
		'oauth_token_url' => 'string',
	);

	/** Plugin behaviour, stored only in the option. */
	const LOG_KEYS = array(
		'preset'         => 'choice',
		'log_bodies'     => 'bool',
		'retention_days' => 'int',
	);

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
		'from'                => '',
		'from_name'           => '',
		'force_from'          => false,
		'oauth_tenant'        => '',
		'oauth_client_id'     => '',
		'oauth_client_secret' => '',
		'oauth_token_url'     => 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token',
		'preset'              => 'custom',
		'log_bodies'          => false,
		'retention_days'      => 30,
	);

	const CHOICES = array(
		'security'        => array( 'none', 'starttls', 'opportunistic', 'tls' ),
		'auth'            => array( 'none', 'plain', 'login', 'xoauth2', 'auto' ),
		'tls_min_version' => array( '1.2', '1.3' ),
		'preset'          => array( 'm365', 'm365_direct', 'godaddy', 'localhost', 'gmail', 'custom' ),
	);

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
			),
			'm365_direct' => array(
				'label'       => __( 'Microsoft 365 direct send', 'rust-mail' ),
				'description' => __( 'Delivers to your tenant domain\'s MX host (for example contoso-com.mail.protection.outlook.com) on port 25 without a login, which only reaches mailboxes of your own organisation.', 'rust-mail' ),
				'values'      => array( 'port' => 25, 'security' => 'opportunistic', 'auth' => 'none' ),
			),
			'godaddy'     => array(
				'label'       => __( 'GoDaddy shared hosting relay', 'rust-mail' ),
				'description' => __( 'Hands mail to relay-hosting.secureserver.net on port 25 without login or TLS, the only way out of GoDaddy shared hosting (about 250 messages a day).', 'rust-mail' ),
				'values'      => array( 'host' => 'relay-hosting.secureserver.net', 'port' => 25, 'security' => 'none', 'auth' => 'none' ),
			),
			'localhost'   => array(
				'label'       => __( 'A server on this machine', 'rust-mail' ),
				'description' => __( 'Hands mail to the mail server running on this machine (localhost, port 25), which delivers it onwards.', 'rust-mail' ),
				'values'      => array( 'host' => 'localhost', 'port' => 25, 'security' => 'none', 'auth' => 'none' ),
			),
			'gmail'       => array(
				'label'       => __( 'Gmail (app password)', 'rust-mail' ),
				'description' => __( 'Sends through smtp.gmail.com on port 587 with STARTTLS, logging in with your address and an app password (your normal password is refused).', 'rust-mail' ),
				'values'      => array( 'host' => 'smtp.gmail.com', 'port' => 587, 'security' => 'starttls', 'auth' => 'login' ),
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
		return self::TRANSPORT_KEYS + self::SENDER_KEYS + self::OAUTH_KEYS + self::LOG_KEYS;
	}

	/** @return string[] the keys stored encrypted and never sent back to the browser */
	public static function secret_keys() {
		return array_keys( self::keys(), 'secret', true );
	}

	public static function constant_name( $key ) {
		return 'RUST_MAIL_' . strtoupper( $key );
	}

	/** Log settings cannot be fixed by constants; everything else can. */
	public static function is_fixed_by_constant( $key ) {
		return ! isset( self::LOG_KEYS[ $key ] ) && defined( self::constant_name( $key ) );
	}

	/** @return string[] keys fixed by constants in wp-config.php */
	public static function fixed_keys() {
		return array_values( array_filter( array_keys( self::keys() + self::CONSTANT_ONLY_KEYS ), array( __CLASS__, 'is_fixed_by_constant' ) ) );
	}

	private static function stored() {
		$stored = get_option( self::OPTION, array() );
		return is_array( $stored ) ? $stored : array();
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
			return self::DEFAULTS[ $key ];
		}
		if ( in_array( $key, self::secret_keys(), true ) ) {
			$plain = self::decrypt( (string) $stored[ $key ] );
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
		return ! self::is_fixed_by_constant( 'password' ) && '' !== $stored && null === self::decrypt( $stored );
	}

	/** Configured means there is a server to send to; RUST_MAIL_HOST alone is enough. */
	public static function is_configured() {
		return '' !== trim( (string) self::get( 'host' ) );
	}

	/**
	 * The `$transport` array for rust_mail_send() and rust_mail_diagnose(). Empty optional strings are left out so that
	 * the extension applies its own defaults. With an OAuth2 app configured, the password is its access token.
	 *
	 * @param bool $with_secret false for a transport that is only described (explaining a logged failure): no
	 *                          password is decrypted and no OAuth2 token fetched.
	 * @throws Rust_Mail_OAuth_Exception when the token cannot be had.
	 */
	public static function transport( $with_secret = true ) {
		$transport = array();
		foreach ( self::TRANSPORT_KEYS as $key => $type ) {
			if ( 'secret' === $type && ! $with_secret ) {
				continue;
			}
			$value = self::get( $key );
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
		} elseif ( $with_secret && 'xoauth2' === $transport['auth'] && Rust_Mail_OAuth::is_configured() ) {
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

		foreach ( self::secret_keys() as $key ) {
			if ( self::is_fixed_by_constant( $key ) ) {
				continue;
			}
			if ( ! empty( $input[ 'forget_' . $key ] ) ) {
				$settings[ $key ] = '';
			} elseif ( isset( $input[ $key ] ) && '' !== $input[ $key ] ) {
				$settings[ $key ] = self::encrypt( (string) $input[ $key ] );
			}
		}

		update_option( self::OPTION, $settings, false );
	}

	private static function sanitize( $key, $type, $value ) {
		switch ( $type ) {
			case 'bool':
				return ! empty( $value );
			case 'int':
				$number = absint( $value );
				if ( 'retention_days' === $key ) {
					return max( 1, $number ?: self::DEFAULTS['retention_days'] );
				}
				return $number ?: self::DEFAULTS[ $key ];
			case 'choice':
				return in_array( $value, self::CHOICES[ $key ], true ) ? $value : self::DEFAULTS[ $key ];
			default:
				if ( 'from' === $key ) {
					return sanitize_email( (string) $value );
				}
				return sanitize_text_field( (string) $value );
		}
	}

	/**
	 * The encryption key is derived from RUST_MAIL_SECRET_KEY if defined, else from wp-config.php's salts: never
	 * from anything in the database, so a database dump alone does not reveal the password.
	 */
	private static function key() {
		if ( defined( 'RUST_MAIL_SECRET_KEY' ) ) {
			$material = (string) RUST_MAIL_SECRET_KEY;
		} else {
			$material = ( defined( 'AUTH_KEY' ) ? AUTH_KEY : '' ) . ( defined( 'SECURE_AUTH_SALT' ) ? SECURE_AUTH_SALT : '' );
		}
		return sodium_crypto_generichash( 'rust-mail password v1|' . $material, '', SODIUM_CRYPTO_SECRETBOX_KEYBYTES );
	}

	public static function encrypt( $plain ) {
		$nonce = random_bytes( SODIUM_CRYPTO_SECRETBOX_NONCEBYTES );
		return self::SECRET_PREFIX . base64_encode( $nonce . sodium_crypto_secretbox( $plain, $nonce, self::key() ) );
	}

	/** @return string|null the password, or null when it cannot be decrypted */
	public static function decrypt( $stored ) {
		if ( '' === $stored ) {
			return '';
		}
		if ( 0 !== strpos( $stored, self::SECRET_PREFIX ) ) {
			return null;
		}
		$bytes = base64_decode( substr( $stored, strlen( self::SECRET_PREFIX ) ), true );
		if ( false === $bytes || strlen( $bytes ) <= SODIUM_CRYPTO_SECRETBOX_NONCEBYTES ) {
			return null;
		}
		$nonce = substr( $bytes, 0, SODIUM_CRYPTO_SECRETBOX_NONCEBYTES );
		$plain = sodium_crypto_secretbox_open( substr( $bytes, SODIUM_CRYPTO_SECRETBOX_NONCEBYTES ), $nonce, self::key() );
		return false === $plain ? null : $plain;
	}
}
