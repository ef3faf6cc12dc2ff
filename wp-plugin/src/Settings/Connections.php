<?php
/**
 * The named connections. The primary (keys without prefix, RUST_MAIL_<KEY>) and the fallback (keys with the
 * fallback_ prefix, RUST_MAIL_FALLBACK_<KEY>) stay what they were, named `primary` and `fallback`; any further
 * connection has a name of its own and the same keys (the `$transport` keys and the rate limits), stored in the
 * settings option under `connections`, or defined in wp-config.php by RUST_MAIL_CONNECTIONS (name => keys), which
 * the page shows read-only.
 *
 * Each key of a named connection has a setting name of its own, `connection:<name>:<key>`, that works wherever a
 * prefixed key does (RustMail_Settings_Store::get(), is_fixed_by_constant(), the secret pinning, the rate limits,
 * RustMail_Transport_Connection::transport()): a connection is its settings prefix, as the fallback always was.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Settings_Connections {

	const PRIMARY  = 'primary';
	const FALLBACK = 'fallback';

	/** The settings option's entry that holds the named connections: name => key => value (secrets encrypted). */
	const OPTION_KEY = 'connections';

	/** Start of a named connection's setting names: `connection:<name>:<key>`. */
	const KEY_PREFIX = 'connection:';

	/** A name: short, and safe in a setting name, a form field, a log column and a message. */
	const NAME_PATTERN = '/^[a-z0-9][a-z0-9_-]{0,31}$/';

	/** The settings prefix of a connection: '' for the primary, fallback_ for the fallback. */
	public static function prefix( $name ) {
		if ( self::PRIMARY === $name ) {
			return '';
		}
		if ( self::FALLBACK === $name ) {
			return RustMail_Settings_Schema::FALLBACK;
		}
		return self::KEY_PREFIX . $name . ':';
	}

	/** @return array{0: string, 1: string}|null a named connection's name and unprefixed key, null for another key */
	public static function parse_key( $key ) {
		if ( 0 !== strpos( (string) $key, self::KEY_PREFIX ) ) {
			return null;
		}
		$parts = explode( ':', substr( $key, strlen( self::KEY_PREFIX ) ), 2 );
		return 2 === count( $parts ) ? $parts : null;
	}

	/** Why a name cannot be a new connection's, or '' when it can. */
	public static function name_problem( $name ) {
		if ( '' === $name ) {
			return __( 'A connection needs a name.', 'rust-mail' );
		}
		if ( ! preg_match( self::NAME_PATTERN, $name ) ) {
			/* translators: %s: the name entered */
			return sprintf( __( 'The connection name "%s" is not allowed: use at most 32 lowercase letters, digits, - and _, starting with a letter or digit.', 'rust-mail' ), $name );
		}
		if ( in_array( $name, array( self::PRIMARY, self::FALLBACK ), true ) || isset( self::named()[ $name ] ) ) {
			/* translators: %s: connection name */
			return sprintf( __( 'A connection named "%s" exists already: choose another name.', 'rust-mail' ), $name );
		}
		return '';
	}

	/** @return array<string, array> the connections RUST_MAIL_CONNECTIONS defines, by name (valid names only) */
	public static function from_constant() {
		if ( ! defined( 'RUST_MAIL_CONNECTIONS' ) || ! is_array( RUST_MAIL_CONNECTIONS ) ) {
			return array();
		}
		$connections = array();
		foreach ( RUST_MAIL_CONNECTIONS as $name => $keys ) {
			if ( is_string( $name ) && is_array( $keys ) && preg_match( self::NAME_PATTERN, $name ) && ! in_array( $name, array( self::PRIMARY, self::FALLBACK ), true ) ) {
				$connections[ $name ] = $keys;
			}
		}
		return $connections;
	}

	/** What is wrong with RUST_MAIL_CONNECTIONS, for the admin notice: entries it ignores. */
	public static function constant_problem() {
		if ( ! defined( 'RUST_MAIL_CONNECTIONS' ) ) {
			return '';
		}
		if ( ! is_array( RUST_MAIL_CONNECTIONS ) ) {
			return __( 'RUST_MAIL_CONNECTIONS in wp-config.php is not an array (name => settings); it is ignored.', 'rust-mail' );
		}
		$ignored = array_diff( array_map( 'strval', array_keys( RUST_MAIL_CONNECTIONS ) ), array_keys( self::from_constant() ) );
		if ( ! $ignored ) {
			return '';
		}
		/* translators: %s: connection names */
		return sprintf( __( 'RUST_MAIL_CONNECTIONS in wp-config.php: these entries are ignored, because their name is primary, fallback or not made of at most 32 lowercase letters, digits, - and _, or their settings are not an array: %s', 'rust-mail' ), implode( ', ', $ignored ) );
	}

	/** @return array<string, array> the connections saved on the settings page, by name (secrets encrypted) */
	private static function stored() {
		$stored = RustMail_Settings_Store::stored()[ self::OPTION_KEY ] ?? array();
		return is_array( $stored ) ? $stored : array();
	}

	/** @return array<string, bool> every named connection: name => whether wp-config.php defines it; its own first */
	public static function named() {
		return array_map( '__return_true', self::from_constant() ) + array_map( '__return_false', self::stored() );
	}

	/** @return array<string, string> every connection mail can go through, name => settings prefix, the primary first */
	public static function all() {
		$all = array( self::PRIMARY => '' );
		if ( RustMail_Settings_Store::has_fallback() ) {
			$all[ self::FALLBACK ] = RustMail_Settings_Schema::FALLBACK;
		}
		foreach ( array_keys( self::named() ) as $name ) {
			$all[ $name ] = self::prefix( $name );
		}
		return $all;
	}

	/** A named connection's setting (RustMail_Settings_Store::get()): wp-config.php's, else the saved one, else the default. */
	public static function get( $name, $key ) {
		$constant = self::from_constant();
		if ( isset( $constant[ $name ] ) ) {
			return array_key_exists( $key, $constant[ $name ] ) ? $constant[ $name ][ $key ] : RustMail_Settings_Schema::default_value( $key );
		}
		$stored = self::stored()[ $name ] ?? array();
		if ( ! array_key_exists( $key, $stored ) ) {
			return RustMail_Settings_Schema::default_value( $key );
		}
		if ( 'secret' === ( RustMail_Settings_Schema::transport_keys()[ $key ] ?? '' ) ) {
			$plain = RustMail_Settings_Secrets::decrypt( (string) $stored[ $key ], self::prefix( $name ) . $key );
			return null === $plain ? '' : $plain;
		}
		return $stored[ $key ];
	}

	/** Whether RUST_MAIL_CONNECTIONS sets this key of this connection. */
	public static function is_fixed( $name, $key ) {
		return array_key_exists( $key, self::from_constant()[ $name ] ?? array() );
	}

	/** Whether a saved connection has this secret saved. */
	public static function has_saved_secret( $name, $key ) {
		return '' !== (string) ( self::stored()[ $name ][ $key ] ?? '' );
	}

	/**
	 * Saves a connection from the page: a new one (`$original` '') under `$name`, or the saved one `$original`. An empty
	 * secret field keeps the saved secret; `forget_<key>` clears it.
	 *
	 * @param array $input unslashed form values by unprefixed key.
	 * @return string what was refused ('' when it was saved).
	 */
	public static function save( $name, $original, array $input ) {
		if ( '' === $original ) {
			$problem = self::name_problem( $name );
			if ( '' !== $problem ) {
				return $problem;
			}
		} elseif ( ! array_key_exists( $original, self::stored() ) ) {
			/* translators: %s: connection name */
			return sprintf( __( 'There is no connection named "%s" saved on this page to change.', 'rust-mail' ), $original );
		} else {
			$name = $original;
		}
		$problems = RustMail_Settings_Validator::problems( array_intersect_key( $input, RustMail_Settings_Schema::connection_keys( '' ) ), (string) ini_get( 'open_basedir' ) );
		if ( $problems ) {
			$named = array();
			foreach ( $problems as $key => $problem ) {
				$named[] = ( RustMail_Settings_Schema::entries()[ $key ]['label'] ?? $key ) . ': ' . $problem;
			}
			/* translators: %s: each refused field with what is wrong with it */
			return sprintf( __( 'The connection was not saved: %s', 'rust-mail' ), implode( ' ', $named ) );
		}
		$saved  = self::stored()[ $name ] ?? array();
		$values = array();
		foreach ( RustMail_Settings_Schema::connection_keys( '' ) as $key => $type ) {
			$field = self::prefix( $name ) . $key;
			if ( 'secret' !== $type ) {
				$values[ $key ] = RustMail_Settings_Store::sanitize( $field, $type, $input[ $key ] ?? null );
			} elseif ( ! empty( $input[ 'forget_' . $key ] ) ) {
				$values[ $key ] = '';
			} elseif ( '' !== (string) ( $input[ $key ] ?? '' ) ) {
				$encrypted = RustMail_Settings_Secrets::encrypt( (string) $input[ $key ], $field );
				if ( null === $encrypted ) {
					return __( 'The connection was not saved: its password cannot be stored.', 'rust-mail' ) . ' ' . RustMail_Settings_Secrets::key_problem();
				}
				$values[ $key ] = $encrypted;
			} else {
				$values[ $key ] = $saved[ $key ] ?? '';
			}
		}
		if ( '' === $values['api'] && '' === trim( $values['host'] ) ) {
			return __( 'The connection was not saved: it needs a host (an SMTP server) or an API to send through.', 'rust-mail' );
		}
		$settings                              = RustMail_Settings_Store::stored();
		$settings[ self::OPTION_KEY ][ $name ] = $values;
		RustMail_Settings_Store::update_plugin_option( RustMail_Settings_Store::OPTION, $settings );
		return '';
	}

	/** Deletes a saved connection; refused while a routing rule names it. @return string what was refused, or '' */
	public static function delete( $name ) {
		if ( ! array_key_exists( $name, self::stored() ) ) {
			/* translators: %s: connection name */
			return sprintf( __( 'There is no connection named "%s" saved on this page to delete.', 'rust-mail' ), $name );
		}
		foreach ( RustMail_Settings_Routes::all() as $number => $rule ) {
			if ( $name === $rule['connection'] ) {
				/* translators: 1: connection name, 2: rule number */
				return sprintf( __( 'The connection "%1$s" was not deleted: routing rule %2$d sends mail through it. Change or delete that rule first.', 'rust-mail' ), $name, $number + 1 );
			}
		}
		$settings = RustMail_Settings_Store::stored();
		unset( $settings[ self::OPTION_KEY ][ $name ] );
		RustMail_Settings_Store::update_plugin_option( RustMail_Settings_Store::OPTION, $settings );
		return '';
	}

	/** How the page and the log name a connection. */
	public static function label( $name ) {
		if ( self::PRIMARY === $name ) {
			return __( 'primary', 'rust-mail' );
		}
		return self::FALLBACK === $name ? __( 'fallback', 'rust-mail' ) : $name;
	}

	/**
	 * The connection a log row was routed to, as the log shows it: a row from before routing went to the primary; one
	 * that never reached the outbox (WordPress refused the call: no attempt) has none ('').
	 */
	public static function route_of( array $row ) {
		if ( '' !== (string) $row['route'] ) {
			return $row['route'];
		}
		return (int) $row['attempts'] > 0 ? self::PRIMARY : '';
	}

	/** A connection in a sentence, for the log: "the primary connection", "the connection "support"". */
	public static function described( $name ) {
		if ( self::PRIMARY === $name ) {
			return __( 'the primary connection', 'rust-mail' );
		}
		if ( self::FALLBACK === $name ) {
			return __( 'the fallback connection', 'rust-mail' );
		}
		/* translators: %s: connection name */
		return sprintf( __( 'the connection "%s"', 'rust-mail' ), $name );
	}

	/** Where a connection sends, for the page's list: the API, or host:port. */
	public static function destination( $name ) {
		$prefix = self::prefix( $name );
		$api    = (string) RustMail_Settings_Store::get( $prefix . 'api' );
		if ( '' !== $api ) {
			/* translators: %s: API name such as graph */
			return sprintf( __( 'API: %s', 'rust-mail' ), $api );
		}
		return RustMail_Settings_Store::get( $prefix . 'host' ) . ':' . RustMail_Settings_Store::get( $prefix . 'port' );
	}
}
