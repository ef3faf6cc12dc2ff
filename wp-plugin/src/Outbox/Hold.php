<?php
/**
 * The hold switch: mail is kept in the outbox, not sent, for a staging copy or a developer's machine that must not
 * mail real customers. RUST_MAIL_HOLD in wp-config.php decides when it is defined; else the Alerts page's setting;
 * else the environment: on where wp_get_environment_type() is `local` or `development`.
 *
 * While it is on, wp_mail() stores each message as queued (whatever the delivery mode) and no drain sends it;
 * "Send the held mail" releases it, and switching the hold off lets the outbox send it as usual. The owner's own
 * test mail is not held: it goes to the address they typed, which is the point of the button.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Outbox_Hold {

	/** Option: 'on', 'off', or '' (follow the environment). */
	const OPTION = 'rust_mail_hold';

	/** @var bool true while release() drains the outbox */
	private static $releasing = false;

	/** Whether mail is held now. */
	public static function is_on() {
		if ( defined( 'RUST_MAIL_HOLD' ) ) {
			return (bool) RUST_MAIL_HOLD;
		}
		$setting = RustMail_Settings_Store::get_plugin_option( self::OPTION, '' );
		if ( 'on' === $setting || 'off' === $setting ) {
			return 'on' === $setting;
		}
		return self::environment_holds();
	}

	/** What decides: constant, setting or environment. */
	public static function decided_by() {
		if ( defined( 'RUST_MAIL_HOLD' ) ) {
			return 'constant';
		}
		return in_array( RustMail_Settings_Store::get_plugin_option( self::OPTION, '' ), array( 'on', 'off' ), true ) ? 'setting' : 'environment';
	}

	public static function environment_holds() {
		return in_array( wp_get_environment_type(), array( 'local', 'development' ), true );
	}

	/** Whether a message from this caller is kept in the outbox rather than sent now. */
	public static function keeps( $caller ) {
		return self::is_on() && RustMail_Alerts_Incident::TEST_CALLER !== $caller;
	}

	/** Whether a drain must leave the outbox alone. */
	public static function stops_drains() {
		return self::is_on() && ! self::$releasing;
	}

	/** Number of messages held: queued in the outbox. */
	public static function held_count() {
		return RustMail_Admin_Notices::queued_count();
	}

	/**
	 * Sends the held mail now, the hold staying on for new mail.
	 *
	 * @return array<string, int> the drain's counts.
	 */
	public static function release() {
		self::$releasing = true;
		try {
			return RustMail_Outbox_Drain::send_all_now();
		} finally {
			self::$releasing = false;
		}
	}
}
