<?php
/**
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

/** No token could be had; the message says why in words and never contains the secret. */
class RustMail_OAuth_Exception extends RuntimeException {

	/** The failure's cause, logged as the error kind: `oauth`, or `oauth_grant_revoked` when only a sign-in helps. */
	private $kind;

	/** Whether a later try may succeed (the token endpoint could not be reached, or failed on its side). */
	private $transient;

	public function __construct( $message, $kind = 'oauth', $transient = false ) {
		parent::__construct( $message );
		$this->kind      = $kind;
		$this->transient = $transient;
	}

	public function kind() {
		return $this->kind;
	}

	public function is_transient() {
		return $this->transient;
	}

	/** @return string[] what to do, for Diagnose. */
	public function advice() {
		if ( RustMail_OAuth_Token::GRANT_REVOKED === $this->kind ) {
			return array( __( 'Sign in again with the button on the Rust Mail settings page: the mailbox\'s sign-in was revoked or has expired (a password change, an administrator, or months without use end it).', 'rust-mail' ) );
		}
		return array( __( 'Check the tenant ID, client ID and client secret of the app registration in Microsoft Entra ID (or Google Cloud); a client secret also expires.', 'rust-mail' ) );
	}
}
