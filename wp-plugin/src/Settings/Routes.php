<?php
/**
 * Routing rules: which connection a mail goes through, by its From address (the address, or its domain) and
 * optionally by who sent it (the log's "Sent by": `plugin:contact-form-7`). The first rule that matches wins; a mail
 * no rule matches goes through the primary. Saved on the settings page (the settings option's `routes`), or fixed by
 * RUST_MAIL_ROUTES in wp-config.php (a list of array('from' => ..., 'caller' => ..., 'connection' => ...)).
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Settings_Routes {

	/** The settings option's entry that holds the rules, in order. */
	const OPTION_KEY = 'routes';

	/** A domain as a rule takes it: labels of letters, digits and hyphens, at least two. */
	const DOMAIN_PATTERN = '/^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/';

	/** A sender as the log records it (RustMail_Mail_Caller::detect()): kind, a colon, a name. */
	const CALLER_PATTERN = '/^(?:plugin|mu-plugin|theme|core|other):[A-Za-z0-9._\/-]+$/';

	public static function is_fixed_by_constant() {
		return defined( 'RUST_MAIL_ROUTES' );
	}

	/** @return array<int, array{from: string, caller: string, connection: string}> the rules in force, in order */
	public static function all() {
		if ( self::is_fixed_by_constant() ) {
			return self::validate( is_array( RUST_MAIL_ROUTES ) ? RUST_MAIL_ROUTES : array() )[0];
		}
		$stored = RustMail_Settings_Store::stored()[ self::OPTION_KEY ] ?? array();
		return is_array( $stored ) ? array_values( $stored ) : array();
	}

	/** What is wrong with RUST_MAIL_ROUTES, for the admin notice (its rules that are ignored), or ''. */
	public static function constant_problem() {
		if ( ! self::is_fixed_by_constant() ) {
			return '';
		}
		if ( ! is_array( RUST_MAIL_ROUTES ) ) {
			return __( 'RUST_MAIL_ROUTES in wp-config.php is not a list of rules; no rule applies.', 'rust-mail' );
		}
		$problems = self::validate( RUST_MAIL_ROUTES )[1];
		return $problems ? 'RUST_MAIL_ROUTES: ' . implode( ' ', $problems ) . ' ' . __( 'Those rules are ignored.', 'rust-mail' ) : '';
	}

	/**
	 * The rules as they are kept, and what is wrong with the others. A rule's From is an address (exact) or a domain
	 * (`example.com`, or `@example.com`), lowercased; its caller is the log's form, a bare name meaning a plugin; it
	 * needs one of the two, and a connection that exists.
	 *
	 * @param array $rules each array('from' => ..., 'caller' => ..., 'connection' => ...).
	 * @return array{0: array, 1: string[]} the valid rules, and a message per refused rule naming its number.
	 */
	public static function validate( array $rules ) {
		$valid    = array();
		$problems = array();
		$names    = RustMail_Settings_Connections::all();
		foreach ( array_values( $rules ) as $index => $rule ) {
			$rule    = is_array( $rule ) ? $rule : array();
			$from    = strtolower( trim( (string) ( $rule['from'] ?? '' ) ) );
			$caller  = trim( (string) ( $rule['caller'] ?? '' ) );
			$name    = (string) ( $rule['connection'] ?? '' );
			$problem = '';
			if ( '' !== $caller && false === strpos( $caller, ':' ) ) {
				$caller = 'plugin:' . $caller;
			}
			if ( preg_match( '/[\r\n\0]/', $from . $caller ) ) {
				$problem = __( 'a From address or sender may not hold a line break or NUL.', 'rust-mail' );
			} elseif ( '' === $from && '' === $caller ) {
				$problem = __( 'it needs a From address, a domain or a sender.', 'rust-mail' );
			} elseif ( '' !== $from && ! self::is_address_or_domain( $from ) ) {
				/* translators: %s: what was entered */
				$problem = sprintf( __( '"%s" is neither an email address nor a domain.', 'rust-mail' ), $from );
			} elseif ( '' !== $caller && ! preg_match( self::CALLER_PATTERN, $caller ) ) {
				/* translators: %s: what was entered */
				$problem = sprintf( __( '"%s" is not a sender as the log names it (for example plugin:contact-form-7).', 'rust-mail' ), $caller );
			} elseif ( ! isset( $names[ $name ] ) ) {
				/* translators: %s: connection name */
				$problem = sprintf( __( 'there is no connection named "%s".', 'rust-mail' ), $name );
			}
			if ( '' !== $problem ) {
				/* translators: 1: rule number, 2: what is wrong with it */
				$problems[] = sprintf( __( 'Rule %1$d: %2$s', 'rust-mail' ), $index + 1, $problem );
				continue;
			}
			$valid[] = array( 'from' => ltrim( $from, '@' ), 'caller' => $caller, 'connection' => $name );
		}
		return array( $valid, $problems );
	}

	private static function is_address_or_domain( $from ) {
		if ( 0 === strpos( $from, '@' ) ) {
			$from = substr( $from, 1 );
		} elseif ( false !== strpos( $from, '@' ) ) {
			return (bool) is_email( $from );
		}
		return (bool) preg_match( self::DOMAIN_PATTERN, $from );
	}

	/**
	 * Saves the page's rules, all or none: a rule that cannot be kept refuses the whole list, so that no rule is lost
	 * or reordered on the way.
	 *
	 * @return string[] what was refused (nothing when saved).
	 */
	public static function save( array $rules ) {
		list( $valid, $problems ) = self::validate( $rules );
		if ( $problems ) {
			return $problems;
		}
		$settings                     = RustMail_Settings_Store::stored();
		$settings[ self::OPTION_KEY ] = $valid;
		RustMail_Settings_Store::update_plugin_option( RustMail_Settings_Store::OPTION, $settings );
		return array();
	}

	/** The connection a mail from `$from`, sent by `$caller`, goes through. */
	public static function pick( $from, $caller ) {
		return self::first_match( self::all(), (string) $from, (string) $caller );
	}

	/**
	 * The connection of the first rule that matches, else the primary: a rule's From matches the address itself or
	 * its domain (case aside), its caller the caller exactly; an empty one matches any.
	 */
	public static function first_match( array $rules, $from, $caller ) {
		$from   = strtolower( trim( $from ) );
		$domain = substr( (string) strrchr( $from, '@' ), 1 );
		foreach ( $rules as $rule ) {
			$rule_from = $rule['from'];
			$from_hit  = '' === $rule_from || ( false !== strpos( $rule_from, '@' ) ? $rule_from === $from : $rule_from === $domain );
			if ( $from_hit && ( '' === $rule['caller'] || $rule['caller'] === $caller ) ) {
				return $rule['connection'];
			}
		}
		return RustMail_Settings_Connections::PRIMARY;
	}
}
