<?php
/**
 * Keeps secrets out of what the plugin shows and stores: one list of the forms a secret takes on the wire (the
 * extension's, from its export: the secret itself and the AUTH PLAIN, LOGIN and XOAUTH2 encodings) and one marker,
 * the extension's (its export's `redaction.marker`).
 *
 * Plain PHP: no WordPress function, so the rules export test runs it without WordPress.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

final class RustMail_Explain_Redactor {

	/**
	 * What a secret is replaced with, everywhere, as the extension does. Without the export (a damaged data file,
	 * which the admin notice reports) the secret is still removed, with nothing in its place.
	 */
	public static function marker() {
		return (string) ( RustMail_Explain_Data::get()['redaction']['marker'] ?? '' );
	}

	/**
	 * The password (or token) and the encodings in which it crosses the wire, as the extension keeps them out of
	 * results. Without the exported list (a damaged data file) only the secret as typed is known.
	 *
	 * @param string $user   the login name the secret goes with.
	 * @param string $secret a password, client secret or token.
	 * @return string[]
	 */
	public static function forms( $user, $secret ) {
		$secret = (string) $secret;
		if ( '' === $secret ) {
			return array();
		}
		$data = RustMail_Explain_Data::get();
		if ( null === $data ) {
			return array( $secret );
		}
		$values = array(
			'{user}'   => (string) $user,
			'{secret}' => $secret,
		);
		$forms  = array();
		foreach ( $data['transport']['secret_forms'] as $form ) {
			$text    = strtr( $form['text'], $values );
			$forms[] = $form['base64'] ? base64_encode( $text ) : $text;
		}
		return array_values( array_filter( $forms, fn ( $s ) => strlen( $s ) >= $data['transport']['secret_min_length'] ) );
	}

	/** The forms of a `$transport`'s password (or token), for its username. */
	public static function secret_forms( array $transport ) {
		$scalar = fn ( $name ) => isset( $transport[ $name ] ) && is_scalar( $transport[ $name ] ) ? (string) $transport[ $name ] : '';
		return self::forms( $scalar( 'username' ), $scalar( 'password' ) );
	}

	/** A text with every form replaced by the marker. */
	public static function text( $text, array $forms ) {
		return $forms ? str_replace( $forms, self::marker(), (string) $text ) : (string) $text;
	}

	/** Every string in a nested array (a verdict, a result) with every form replaced by the marker. */
	public static function scrub( array $result, array $forms ) {
		array_walk_recursive(
			$result,
			function ( &$text ) use ( $forms ) {
				$text = self::text( $text, $forms );
			}
		);
		return $result;
	}
}
