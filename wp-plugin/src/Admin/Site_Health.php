<?php
/**
 * Site Health > Status: the engine, the outbox and the mailbox's sign-in.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Admin_Site_Health {

	/** Site Health > Status: which engine, and what the extension would add. */
	public static function engine() {
		$extension = RustMail_Transport_Extension::is_available();
		$items     = '';
		if ( ! $extension ) {
			$items = '<p>' . esc_html__( 'The extension would add:', 'rust-mail' ) . '</p><ul><li>' . implode( '</li><li>', array_map( 'esc_html', RustMail_Transport_Extension::benefits() ) ) . '</li></ul>'
				. '<p>' . implode( '</p><p>', array_map( 'esc_html', RustMail_Transport_Extension::install_steps() ) ) . '</p>';
		}
		return array(
			'label'       => $extension ? __( 'Mail goes out through the rust_mail extension', 'rust-mail' ) : __( 'Mail goes out through PHPMailer: the rust_mail extension is not loaded', 'rust-mail' ),
			'status'      => $extension ? 'good' : 'recommended',
			'badge'       => array( 'label' => __( 'Mail', 'rust-mail' ), 'color' => 'blue' ),
			'description' => '<p>' . esc_html( RustMail_Transport_Registry::reason() ) . '</p>' . $items,
			'actions'     => '<a href="' . esc_url( RustMail_Admin_Pages::settings_url() ) . '#rust-mail-engine">' . esc_html__( 'Rust Mail settings', 'rust-mail' ) . '</a>',
			'test'        => 'rust_mail_engine',
		);
	}

	/** Site Health > Status: one test for the outbox. */
	public static function outbox() {
		$problems = RustMail_Outbox_Health::problems();
		return array(
			'label'       => $problems ? __( 'Mail is not going out as it should', 'rust-mail' ) : __( 'Mail goes out', 'rust-mail' ),
			'status'      => $problems ? 'critical' : 'good',
			'badge'       => array( 'label' => __( 'Mail', 'rust-mail' ), 'color' => $problems ? 'red' : 'blue' ),
			'description' => $problems ? '<p>' . implode( '</p><p>', array_map( 'esc_html', $problems ) ) . '</p>' : '<p>' . esc_html__( 'The Rust Mail outbox has nothing stuck and no recent failure.', 'rust-mail' ) . '</p>',
			'actions'     => '<a href="' . esc_url( RustMail_Log_Store::url() ) . '">' . esc_html__( 'Connection log', 'rust-mail' ) . '</a>',
			'test'        => 'rust_mail_outbox',
		);
	}

	/** Site Health > Status: whether the mailbox's sign-in still works. */
	public static function oauth() {
		$grant   = RustMail_OAuth_Grant::get();
		$revoked = RustMail_Admin_OAuth_Signin::revoked_message();
		return array(
			'label'       => '' !== $revoked ? __( 'The mailbox\'s OAuth2 sign-in no longer works: sign in again', 'rust-mail' ) : __( 'The mailbox\'s OAuth2 sign-in works', 'rust-mail' ),
			'status'      => '' !== $revoked ? 'critical' : 'good',
			'badge'       => array( 'label' => __( 'Mail', 'rust-mail' ), 'color' => '' !== $revoked ? 'red' : 'blue' ),
			'description' => '<p>' . esc_html( '' !== $revoked ? $revoked : RustMail_Admin_OAuth_Signin::connection_text( (array) $grant ) ) . '</p>',
			'actions'     => '<a href="' . esc_url( RustMail_Admin_Pages::settings_url() . '#rust-mail-oauth-section' ) . '">' . esc_html__( 'Rust Mail settings', 'rust-mail' ) . '</a>',
			'test'        => 'rust_mail_oauth',
		);
	}

	public static function register() {
		add_filter( 'site_status_tests', array( __CLASS__, 'add_tests' ) );
	}

	/** The outbox and the engine always; the sign-in while there is one. */
	public static function add_tests( $tests ) {
		$tests['direct']['rust_mail_outbox'] = array(
			'label' => __( 'Rust Mail outbox', 'rust-mail' ),
			'test'  => array( __CLASS__, 'outbox' ),
		);
		$tests['direct']['rust_mail_engine'] = array(
			'label' => __( 'Rust Mail engine', 'rust-mail' ),
			'test'  => array( __CLASS__, 'engine' ),
		);
		if ( RustMail_OAuth_Grant::exists() ) {
			$tests['direct']['rust_mail_oauth'] = array(
				'label' => __( 'Rust Mail OAuth2 sign-in', 'rust-mail' ),
				'test'  => array( __CLASS__, 'oauth' ),
			);
		}
		return $tests;
	}
}
