<?php
/**
 * Settings: stored in one option, each of them (but the preset) overridable by a RUST_MAIL_<KEY> constant in
 * wp-config.php. On multisite they are the network's: one network option, edited on a network admin screen, because
 * every site's mail (password resets of the network's users among it) goes through them.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Settings_Store {

	const OPTION = 'rust_mail_settings';

	/** The preset only chooses what the form fills in, so it is the one setting a constant cannot fix. */
	public static function is_fixed_by_constant( $key ) {
		$named = RustMail_Settings_Connections::parse_key( $key );
		if ( null !== $named ) {
			return RustMail_Settings_Connections::is_fixed( ...$named );
		}
		return 'preset' !== $key && defined( RustMail_Settings_Schema::constant_name( $key ) );
	}

	/** @return string[] keys fixed by constants in wp-config.php */
	public static function fixed_keys() {
		return array_values( array_filter( array_keys( RustMail_Settings_Schema::keys() + RustMail_Settings_Schema::constant_only_keys() ), array( __CLASS__, 'is_fixed_by_constant' ) ) );
	}

	/** @var array|null the option as this request read it: a drain reads settings for every message it sends. */
	private static $stored = null;

	/** The settings option as stored (secrets encrypted), for those who write it: the form, the connections, the rules. */
	public static function stored() {
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
			RustMail_Transport_Connection::forget();
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
		$named = RustMail_Settings_Connections::parse_key( $key );
		if ( null !== $named ) {
			return RustMail_Settings_Connections::get( ...$named );
		}
		if ( self::is_fixed_by_constant( $key ) ) {
			return constant( RustMail_Settings_Schema::constant_name( $key ) );
		}
		if ( null !== self::$trial && array_key_exists( $key, self::$trial ) ) {
			return self::$trial[ $key ];
		}
		$stored = self::stored();
		if ( ! array_key_exists( $key, $stored ) || isset( RustMail_Settings_Schema::constant_only_keys()[ $key ] ) ) {
			return RustMail_Settings_Schema::default_value( $key );
		}
		if ( in_array( $key, RustMail_Settings_Schema::secret_keys(), true ) ) {
			$plain = RustMail_Settings_Secrets::decrypt( (string) $stored[ $key ], $key );
			return null === $plain ? '' : $plain;
		}
		return $stored[ $key ];
	}

	/** @param string $key 'password' or another secret key. */
	public static function has_saved_password( $key = 'password' ) {
		$named = RustMail_Settings_Connections::parse_key( $key );
		if ( null !== $named ) {
			return self::is_fixed_by_constant( $key ) || RustMail_Settings_Connections::has_saved_secret( ...$named );
		}
		return self::is_fixed_by_constant( $key ) || '' !== (string) ( self::stored()[ $key ] ?? '' );
	}

	/** True when a password is stored but cannot be decrypted any more (for example after the salts changed). */
	public static function saved_password_unreadable() {
		$stored = (string) ( self::stored()['password'] ?? '' );
		return ! self::is_fixed_by_constant( 'password' ) && '' !== $stored && null === RustMail_Settings_Secrets::decrypt( $stored, 'password' );
	}

	/**
	 * Why a secret fixed in wp-config.php cannot be used by a connection, or '' when it can: the settings that decide
	 * where it is sent must be fixed there too.
	 *
	 * @param string $prefix '' for the primary connection (its password and the OAuth2 app), FALLBACK for the fallback,
	 *                       a named connection's prefix (RustMail_Settings_Connections::prefix()) for that one.
	 */
	public static function constant_secret_problem( $prefix = '' ) {
		$secrets = self::constant_secrets( $prefix );
		if ( ! $secrets ) {
			return '';
		}
		$editable = array();
		foreach ( self::secret_destination_keys( $prefix ) as $key ) {
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
			implode( ', ', array_map( array( 'RustMail_Settings_Schema', 'constant_name' ), $secrets ) ),
			implode( ', ', array_map( array( 'RustMail_Settings_Schema', 'constant_name' ), $editable ) )
		);
	}

	/**
	 * The secrets of a connection that wp-config.php fixes: then their destination must be fixed there too
	 * (constant_secret_problem()), and the settings that guard them take no value from the page.
	 *
	 * @return string[] setting names
	 */
	public static function constant_secrets( $prefix = '' ) {
		$own = '' === $prefix ? array_diff( RustMail_Settings_Schema::secret_keys(), array( RustMail_Settings_Schema::FALLBACK . 'password' ) ) : array( $prefix . 'password' );
		if ( '' !== $prefix && 'graph' === self::get( $prefix . 'api' ) ) {
			$own[] = 'oauth_client_secret'; // A Graph fallback (or named connection) gets the app's token (RustMail_OAuth_Token::is_configured()).
		}
		return array_values( array_filter( $own, array( __CLASS__, 'is_fixed_by_constant' ) ) );
	}

	/**
	 * The settings that decide where a connection's secret goes: an SMTP server's, or with `api` set the API's (its
	 * base URL, and the region that makes SES's and Mailgun's). The API is one of them either way, once it is set: a
	 * secret fixed for an SMTP server must not follow an `api` chosen on the page to an `api_base` chosen there too.
	 *
	 * @return string[] unprefixed keys
	 */
	public static function secret_destination_keys( $prefix = '' ) {
		$api = (string) self::get( $prefix . 'api' );
		if ( '' === $api ) {
			return RustMail_Settings_Schema::SECRET_DESTINATION_KEYS;
		}
		$keys = RustMail_Settings_Schema::API_SECRET_DESTINATION_KEYS;
		if ( in_array( $api, RustMail_Settings_Schema::REGIONAL_APIS, true ) ) {
			$keys[] = 'region';
		}
		return $keys;
	}

	/** Whether a connection sends over an HTTP API (`api` set) rather than SMTP. */
	public static function uses_api( $prefix = '' ) {
		return '' !== (string) self::get( $prefix . 'api' );
	}

	/** Configured means there is a server to send to: an API, or a host (RUST_MAIL_HOST alone is enough). */
	public static function is_configured() {
		return self::uses_api() || '' !== trim( (string) self::get( 'host' ) );
	}

	public static function has_fallback() {
		return self::uses_api( RustMail_Settings_Schema::FALLBACK ) || '' !== trim( (string) self::get( RustMail_Settings_Schema::FALLBACK . 'host' ) );
	}

	/** @return array<string, int> a connection's rate limits that are set (above 0), by unprefixed name */
	public static function limits( $prefix ) {
		$limits = array();
		foreach ( RustMail_Settings_Schema::limit_keys() as $key ) {
			$value = (int) self::get( $prefix . $key );
			if ( $value > 0 ) {
				$limits[ $key ] = $value;
			}
		}
		return $limits;
	}

	/**
	 * What the settings form's input makes of the non-secret settings: each value checked (RustMail_Settings_Validator)
	 * and sanitized, then the preset applied (RustMail_Settings_Presets::apply(), coming from the saved preset). A value
	 * the checks refuse keeps the saved one and is named in `problems`. Keys fixed by constants are left out, and so
	 * are keys the page has no field for (Schema::form_keys()): a box the page does not show is not an unticked box.
	 *
	 * @param array $input unslashed $_POST['rust_mail'] values.
	 * @return array{values: array<string, mixed>, problems: array<string, string>}
	 */
	public static function from_form( array $input ) {
		$editable = array_filter(
			array_intersect_key( RustMail_Settings_Schema::keys(), array_flip( RustMail_Settings_Schema::form_keys() ) ),
			fn ( $type, $key ) => 'secret' !== $type && ! self::is_fixed_by_constant( $key ),
			ARRAY_FILTER_USE_BOTH
		);
		$problems = RustMail_Settings_Validator::problems( array_intersect_key( $input, $editable ), (string) ini_get( 'open_basedir' ) );
		$values   = array();
		foreach ( $editable as $key => $type ) {
			$values[ $key ] = isset( $problems[ $key ] ) ? self::get( $key ) : self::sanitize( $key, $type, $input[ $key ] ?? null );
		}
		return array(
			'values'   => RustMail_Settings_Presets::apply( (string) self::get( 'preset' ), $values['preset'], $values ),
			'problems' => $problems,
		);
	}

	/**
	 * Saves the settings form: from_form()'s values, and the secrets. A value refused by the checks keeps the saved
	 * one, and the others are saved; an empty password (or client secret) field keeps the saved one.
	 *
	 * @param array $input unslashed $_POST['rust_mail'] values.
	 * @return array{problems: array<string, string>, refused_secrets: string[], daily_caps: string[]} the values
	 *         refused (message by key), the secrets not stored because there is no strong key (see key_problem()), and
	 *         the daily limits this save sets or changes (RustMail_Settings_Validator::new_daily_caps()).
	 */
	public static function save( array $input ) {
		$form     = self::from_form( $input );
		$before   = array_map( array( __CLASS__, 'get' ), array_combine( array_keys( $form['values'] ), array_keys( $form['values'] ) ) );
		$settings = array_merge( self::stored(), $form['values'] );

		$refused = array();
		foreach ( RustMail_Settings_Schema::secret_keys() as $key ) {
			if ( self::is_fixed_by_constant( $key ) ) {
				continue;
			}
			if ( ! empty( $input[ 'forget_' . $key ] ) ) {
				$settings[ $key ] = '';
			} elseif ( isset( $input[ $key ] ) && '' !== $input[ $key ] ) {
				$encrypted = RustMail_Settings_Secrets::encrypt( (string) $input[ $key ], $key );
				if ( null === $encrypted ) {
					$refused[] = $key;
				} else {
					$settings[ $key ] = $encrypted;
				}
			}
		}

		self::update_plugin_option( self::OPTION, $settings );
		return array(
			'problems'        => $form['problems'],
			'refused_secrets' => $refused,
			'daily_caps'      => RustMail_Settings_Validator::new_daily_caps( $before, $form['values'] ),
		);
	}

	/** @var array<string, mixed>|null settings being tried without being saved (try_form()); get() answers with them. */
	private static $trial = null;

	/** Whether try_form() is running: settings then come from the page, for that call only. */
	public static function in_trial() {
		return null !== self::$trial;
	}

	/**
	 * Runs `$run` with the settings the form's input would save, without saving them: Send test and Diagnose try what
	 * is on the page. A secret field left empty means the saved secret; wp-config.php's constants still win.
	 *
	 * @param array    $input unslashed $_POST['rust_mail'] values.
	 * @param callable $run   called with no argument.
	 * @return array{problems: array<string, string>, changed: string[], result: mixed} the values refused (then
	 *         `$run` is not called, and `result` is null), and the settings whose value on the page is not the saved one.
	 */
	public static function try_form( array $input, callable $run ) {
		$form = self::from_form( $input );
		if ( $form['problems'] ) {
			return array( 'problems' => $form['problems'], 'changed' => array(), 'result' => null );
		}
		$values = $form['values'];
		foreach ( RustMail_Settings_Schema::secret_keys() as $key ) {
			if ( ! self::is_fixed_by_constant( $key ) && ( ! empty( $input[ 'forget_' . $key ] ) || '' !== (string) ( $input[ $key ] ?? '' ) ) ) {
				$values[ $key ] = empty( $input[ 'forget_' . $key ] ) ? (string) $input[ $key ] : '';
			}
		}
		// Compared as text: the stored option may hold "587" where the form gives 587.
		$changed = array_keys( array_filter( $values, fn ( $value, $key ) => (string) self::get( $key ) !== (string) $value, ARRAY_FILTER_USE_BOTH ) );
		self::$trial = $values;
		try {
			$result = $run();
		} finally {
			self::$trial = null;
		}
		return array( 'problems' => array(), 'changed' => $changed, 'result' => $result );
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
			if ( isset( RustMail_Settings_Schema::keys()[ $key ] ) && 'secret' !== RustMail_Settings_Schema::keys()[ $key ] && ! self::is_fixed_by_constant( $key ) ) {
				$settings[ $key ] = self::sanitize( $key, RustMail_Settings_Schema::keys()[ $key ], $value );
			}
		}
		self::update_plugin_option( self::OPTION, $settings );
	}

	public static function sanitize( $key, $type, $value ) {
		switch ( $type ) {
			case 'bool':
				return ! empty( $value );
			case 'int':
				$number = absint( $value );
				if ( in_array( RustMail_Settings_Schema::base_key( $key ), RustMail_Settings_Schema::limit_keys(), true ) ) {
					return $number; // 0: no limit.
				}
				return $number ?: RustMail_Settings_Schema::default_value( $key );
			case 'choice':
				return in_array( $value, RustMail_Settings_Schema::choices( $key ), true ) ? $value : RustMail_Settings_Schema::default_value( $key );
			default:
				if ( 'from' === $key ) {
					return sanitize_email( (string) $value );
				}
				return sanitize_text_field( (string) $value );
		}
	}
}
