<?php
/**
 * The extension's step details and advice in the site owner's words. rust_mail_diagnose() and the classifier speak
 * to a PHP developer: `$transport['host']`, "security 'starttls'", "set send_test with 'from' and 'to'". The admin
 * pages show the same facts with the settings page's names ("Encryption", "STARTTLS (required)") and without the
 * options a developer would pass, which the page has no field for. Pure: text in, text out.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Explain_Owner_Words {

	/** The `$transport` keys whose values the texts quote, by the setting whose choice labels name them. */
	const CHOICE_KEYS = array( 'security', 'auth', 'api' );

	/**
	 * Whole texts of the walk that only make sense to a developer, by what the page says instead.
	 *
	 * @return array<string, string>
	 */
	private static function sentences() {
		return array(
			'give \'from\' in the options to check its domain\'s SPF and DMARC records' => __( 'Set a From address (Sender section) to check its domain\'s SPF and DMARC records.', 'rust-mail' ),
			'checked for direct send and relays (auth \'none\') only'                   => __( 'Checked only for direct send and relays, which send without a login.', 'rust-mail' ),
			'auth is \'none\''                                                         => __( 'No login: Authentication is "No login".', 'rust-mail' ),
			'give \'from\' and \'to\' in the options to try the envelope'              => __( 'Needs a From address and a recipient to try.', 'rust-mail' ),
			'set send_test with \'from\' and \'to\' to send a test message'            => __( 'Diagnose sends nothing: use Send test mail to send a message.', 'rust-mail' ),
			' (scan_ports tells which answer)'                                         => '',
		);
	}

	/** The settings page's labels of the `$transport` keys, and the words of their choices. */
	private static function labels() {
		static $labels = null;
		if ( null === $labels ) {
			$labels = array(
				'fields'  => array(),
				'choices' => array(),
			);
			foreach ( RustMail_Settings_Schema::entries() as $key => $entry ) {
				if ( isset( $entry['label'] ) ) {
					$labels['fields'][ $key ] = $entry['label'];
				}
				if ( in_array( $key, self::CHOICE_KEYS, true ) ) {
					$labels['choices'][ $key ] = $entry['choice_labels'] ?? array();
				}
			}
		}
		return $labels;
	}

	/** A text of the extension's, in the owner's words. */
	public static function text( $text ) {
		$text   = strtr( (string) $text, self::sentences() );
		$labels = self::labels();
		$field  = static fn ( $key ) => $labels['fields'][ $key ] ?? $key;
		$choice = static fn ( $key, $value ) => $labels['choices'][ $key ][ $value ] ?? $value;
		// "$transport['host'] 'x' is not a host name": the setting by its label.
		$text = preg_replace_callback(
			'/\$transport\[\'(\w+)\'\]/',
			/* translators: %s: a setting's label, such as Host */
			static fn ( $m ) => sprintf( __( 'The "%s" setting', 'rust-mail' ), $field( $m[1] ) ),
			$text
		);
		// "security 'starttls'", "set auth to 'none'", "'api' => 'ses'": the setting and its choice, as the page names
		// them (Encryption: "STARTTLS (required)"; set "Authentication" to "No login").
		$keys = implode( '|', self::CHOICE_KEYS );
		$text = preg_replace_callback(
			'/\'?\b(' . $keys . ')\'?( is | to | => |\s)\'([\w.{}-]+)\'/',
			static fn ( $m ) => in_array( $m[2], array( ' => ', ' ' ), true )
				? $field( $m[1] ) . ': "' . $choice( $m[1], $m[3] ) . '"'
				: '"' . $field( $m[1] ) . '"' . $m[2] . '"' . $choice( $m[1], $m[3] ) . '"',
			$text
		);
		// "Set auth to a mechanism the server offers", "match security to the port".
		$text = preg_replace_callback(
			'/\b(set|switch|match) (' . $keys . ')\b/i',
			static fn ( $m ) => $m[1] . ' "' . $field( $m[2] ) . '"',
			$text
		);
		$text = preg_replace( '/\busername \'/', __( 'user name', 'rust-mail' ) . ' \'', $text );
		// A setting named alone: "give its certificate with ca_file", "verify_peer is off".
		$text = preg_replace_callback(
			'/\b(ca_file|verify_peer|tls_min_version|api_base|allow_insecure_auth|helo)\b/',
			static fn ( $m ) => '"' . $field( $m[1] ) . '"',
			$text
		);
		// The choices a text quotes alone ("ports 587 and 25 expect 'starttls' or 'opportunistic'", "auth 'login' or
		// 'xoauth2'"): security's, then the login kinds.
		$text = preg_replace_callback(
			'/\'(none|starttls|opportunistic|tls)\'/',
			static fn ( $m ) => '"' . $choice( 'security', $m[1] ) . '"',
			$text
		);
		return preg_replace_callback(
			'/\'(login|plain|xoauth2|auto)\'/',
			static fn ( $m ) => '"' . $choice( 'auth', $m[1] ) . '"',
			$text
		);
	}

	/** @param string[] $texts */
	public static function texts( array $texts ) {
		return array_map( array( __CLASS__, 'text' ), $texts );
	}
}
