<?php
/**
 * The checks a connection's settings pass before they are saved or tried: the settings form, a named connection's
 * form and the setup flow give it the values as typed (before sanitizing, which would quietly turn a wrong value into
 * another one: HTML in the host into an empty host, `shop@contoso` into no address) and refuse each value it names,
 * keeping the others. Pure: the only thing it reads is the CA file it is asked about.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Settings_Validator {

	/** The rate limits, from the shortest period to the longest. */
	const LIMIT_KEYS = array( 'rate_per_minute', 'rate_per_day', 'recipients_per_day' );

	/**
	 * What is wrong with the values, by key: each message says what is wrong with the value and what to enter instead.
	 * Keys are checked by their unprefixed name (fallback_port as port, connection:support:host as host); the limits
	 * of one connection against each other. Keys it has no check for, and empty values (the defaults), pass.
	 *
	 * @param array<string, mixed> $values the form's values by setting name, as typed.
	 * @param string               $open_basedir PHP's open_basedir, which a CA file must lie under (ini_get()).
	 * @return array<string, string> message by setting name; none when everything may be saved.
	 */
	public static function problems( array $values, $open_basedir = '' ) {
		$problems = array();
		$limits   = array();
		foreach ( $values as $key => $value ) {
			if ( ! is_scalar( $value ) ) {
				continue;
			}
			$base    = RustMail_Settings_Schema::base_key( (string) $key );
			$value   = trim( (string) $value );
			$problem = '' === $value ? '' : self::value_problem( $base, $value, $open_basedir );
			if ( '' !== $problem ) {
				$problems[ $key ] = $problem;
			} elseif ( in_array( $base, self::LIMIT_KEYS, true ) ) {
				$limits[ substr( (string) $key, 0, -strlen( $base ) ) ][ $base ] = (int) $value;
			}
		}
		foreach ( $limits as $prefix => $connection ) {
			$problems += self::limits_problems( $prefix, $connection );
		}
		return $problems;
	}

	/** What is wrong with one value of a key (unprefixed), or ''. */
	private static function value_problem( $key, $value, $open_basedir ) {
		switch ( $key ) {
			case 'host':
				return self::host_problem( $value );
			case 'port':
				return ctype_digit( $value ) && (int) $value >= 1 && (int) $value <= 65535 ? ''
					/* translators: %s: the value entered */
					: sprintf( __( '"%s" is not a port: enter a number from 1 to 65535, usually 587, 465 or 25.', 'rust-mail' ), $value );
			case 'from':
				return self::address_problem( $value );
			case 'ca_file':
				return self::ca_file_problem( $value, $open_basedir );
			case 'rate_per_minute':
			case 'rate_per_day':
			case 'recipients_per_day':
				return ctype_digit( $value ) ? ''
					/* translators: %s: the value entered */
					: sprintf( __( '"%s" is not a limit: enter a whole number, or 0 for no limit.', 'rust-mail' ), $value );
		}
		return '';
	}

	/** A host name or IP address, without a port, a scheme or anything a browser would render. */
	public static function host_problem( $host ) {
		if ( preg_match( '/^([^\s:\/]+):(\d{1,5})$/', $host, $parts ) ) {
			/* translators: 1: the host name entered, 2: the port it ended with */
			return sprintf( __( 'Put the port in the Port field: enter %1$s here and %2$s as the port.', 'rust-mail' ), $parts[1], $parts[2] );
		}
		if ( preg_match( '#^[a-z][a-z0-9+.-]*://#i', $host ) ) {
			return __( 'Enter the server\'s name only, without smtp:// or https:// in front, such as smtp.example.com.', 'rust-mail' );
		}
		$literal = trim( $host, '[]' );
		if ( filter_var( $literal, FILTER_VALIDATE_IP ) ) {
			return '';
		}
		$labels = explode( '.', rtrim( $host, '.' ) );
		$valid  = strlen( $host ) <= 253 && ! in_array( '', $labels, true );
		foreach ( $labels as $label ) {
			// Letters of any script (an internationalised name), digits, hyphens and underscores, 63 bytes at most.
			$valid = $valid && strlen( $label ) <= 63 && preg_match( '/^[\p{L}\p{N}_]([\p{L}\p{N}_-]*[\p{L}\p{N}_])?$/u', $label );
		}
		/* translators: %s: the value entered */
		return $valid ? '' : sprintf( __( '"%s" is not a host name: enter the server\'s name (letters, digits, dots and hyphens, no spaces), such as smtp.example.com, or its IP address.', 'rust-mail' ), $host );
	}

	/** An address a server will take as a sender: one address, with a domain that has a dot. */
	public static function address_problem( $address ) {
		if ( is_email( $address ) ) {
			return '';
		}
		if ( preg_match( '/^[^@\s]+@[^@\s.]+$/', $address ) ) {
			/* translators: 1: the address entered, 2: its domain */
			return sprintf( __( '"%1$s" is not a complete address: its domain "%2$s" has no dot. Enter the whole domain, such as %2$s.com.', 'rust-mail' ), $address, substr( $address, strpos( $address, '@' ) + 1 ) );
		}
		/* translators: %s: the value entered */
		return sprintf( __( '"%s" is not an email address: enter one address, such as shop@example.com.', 'rust-mail' ), $address );
	}

	/** A CA file PHP can read: it exists, is a file, lies under open_basedir (a colon-separated list, '' for none). */
	public static function ca_file_problem( $path, $open_basedir ) {
		if ( '' !== (string) $open_basedir && ! self::under_open_basedir( $path, $open_basedir ) ) {
			/* translators: 1: file path, 2: PHP's open_basedir setting */
			return sprintf( __( '%1$s is outside PHP\'s open_basedir (%2$s), so PHP may not read it: put the file in one of those directories.', 'rust-mail' ), $path, $open_basedir );
		}
		if ( ! is_file( $path ) ) {
			/* translators: %s: file path */
			return sprintf( __( 'There is no file %s: enter the full path of a PEM file on this server.', 'rust-mail' ), $path );
		}
		if ( ! is_readable( $path ) ) {
			/* translators: %s: file path */
			return sprintf( __( 'PHP may not read %s: let the web server\'s user read it.', 'rust-mail' ), $path );
		}
		return '';
	}

	/** Whether a path lies under one of open_basedir's directories (a directory ends with its separator). */
	private static function under_open_basedir( $path, $open_basedir ) {
		foreach ( explode( PATH_SEPARATOR, $open_basedir ) as $directory ) {
			if ( '' !== $directory && 0 === strpos( $path, $directory ) ) {
				return true;
			}
		}
		return false;
	}

	/**
	 * One connection's limits against each other: a longer period may not allow less than a shorter one (30 a minute
	 * with 20 a day), and a day may not allow more messages than recipients (each message has one at least).
	 *
	 * @param array<string, int> $limits by unprefixed key, 0 for none.
	 * @return array<string, string> message by setting name
	 */
	private static function limits_problems( $prefix, array $limits ) {
		$minute     = $limits['rate_per_minute'] ?? 0;
		$day        = $limits['rate_per_day'] ?? 0;
		$recipients = $limits['recipients_per_day'] ?? 0;
		$problems   = array();
		if ( $minute > 0 && $day > 0 && $minute > $day ) {
			/* translators: 1: messages a minute, 2: messages a day */
			$problems[ $prefix . 'rate_per_minute' ] = sprintf( __( '%1$d a minute is more than the %2$d a day allowed: lower it, or raise the daily limit.', 'rust-mail' ), $minute, $day );
		}
		if ( $day > 0 && $recipients > 0 && $day > $recipients ) {
			/* translators: 1: messages a day, 2: recipients a day */
			$problems[ $prefix . 'rate_per_day' ] = sprintf( __( '%1$d messages a day cannot go out with %2$d recipients a day, since each message has one recipient at least: lower it to %2$d, or raise the recipients.', 'rust-mail' ), $day, $recipients );
		}
		return $problems;
	}

	/**
	 * The daily caps a save sets or changes, to be told in words: mail over a daily cap waits in the outbox until
	 * the next day without failing, so an owner who did not mean the cap would not notice it otherwise.
	 *
	 * @param array<string, int> $before the saved limits by setting name.
	 * @param array<string, int> $after  the limits being saved by setting name.
	 * @return string[] setting names of the daily caps that are new or changed, above 0.
	 */
	public static function new_daily_caps( array $before, array $after ) {
		$caps = array();
		foreach ( $after as $key => $value ) {
			$base = RustMail_Settings_Schema::base_key( $key );
			if ( in_array( $base, array( 'rate_per_day', 'recipients_per_day' ), true ) && (int) $value > 0 && (int) $value !== (int) ( $before[ $key ] ?? 0 ) ) {
				$caps[] = $key;
			}
		}
		return $caps;
	}
}
