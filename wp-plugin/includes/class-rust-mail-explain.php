<?php
/**
 * Explains a logged failure in words: what went wrong and what to do, from the enhanced status code, the SMTP code
 * or the extension's error kind, most specific first.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class Rust_Mail_Explain {

	/**
	 * Enhanced status codes worth recognising (see the Microsoft 365 and Gmail replies in the project notes).
	 *
	 * @return array<string, array{0: string, 1: string}> code => [cause, advice]
	 */
	private static function by_enhanced_code() {
		return array(
			'5.7.139' => array( __( 'The server has SMTP login switched off for this mailbox or the whole tenant.', 'rust-mail' ), __( 'Enable SMTP AUTH for the mailbox in the Microsoft 365 admin center, or switch to OAuth2 (XOAUTH2).', 'rust-mail' ) ),
			'5.7.3'   => array( __( 'The server refused the login: wrong user name or password, or a token with the wrong scope.', 'rust-mail' ), __( 'Check the user name and password; for OAuth2 check the scope and the app\'s rights on the mailbox.', 'rust-mail' ) ),
			'5.7.8'   => array( __( 'The server refused the login: wrong user name or password.', 'rust-mail' ), __( 'Check the user name and password (Gmail needs an app password).', 'rust-mail' ) ),
			'5.7.9'   => array( __( 'Gmail wants an app password, not the account password.', 'rust-mail' ), __( 'Create an app password in the Google account and use it here.', 'rust-mail' ) ),
			'5.7.57'  => array( __( 'The server wants a login before it accepts mail.', 'rust-mail' ), __( 'Set authentication and credentials, or use direct send to the tenant\'s MX host.', 'rust-mail' ) ),
			'5.7.60'  => array( __( 'The login may not send as this From address.', 'rust-mail' ), __( 'Grant "Send As" on the address to the mailbox, or send From the mailbox you log in with.', 'rust-mail' ) ),
			'5.7.64'  => array( __( 'Microsoft 365 refused to relay: no connector matches this sender.', 'rust-mail' ), __( 'Fix the inbound connector, or authenticate.', 'rust-mail' ) ),
			'5.7.68'  => array( __( 'The tenant rejects direct send.', 'rust-mail' ), __( 'Use authenticated submission (the Microsoft 365 preset).', 'rust-mail' ) ),
			'5.7.30'  => array( __( 'The server no longer accepts password login for client submission.', 'rust-mail' ), __( 'Switch to OAuth2 (XOAUTH2).', 'rust-mail' ) ),
			'5.7.1'   => array( __( 'The server will not relay to this recipient.', 'rust-mail' ), __( 'Authenticate; direct send only reaches your own organisation\'s mailboxes.', 'rust-mail' ) ),
			'5.7.54'  => array( __( 'The server will not relay to this recipient.', 'rust-mail' ), __( 'Authenticate; direct send only reaches your own organisation\'s mailboxes.', 'rust-mail' ) ),
			'5.2.2'   => array( __( 'A sending quota is exhausted.', 'rust-mail' ), __( 'Send less often or spread mail over time; it will work again later.', 'rust-mail' ) ),
			'5.1.90'  => array( __( 'The mailbox reached its daily recipient limit.', 'rust-mail' ), __( 'Wait for the limit to reset, or send through another mailbox.', 'rust-mail' ) ),
			'4.7.66'  => array( __( 'The server requires TLS 1.2 or newer.', 'rust-mail' ), __( 'Set the minimum TLS version to 1.2.', 'rust-mail' ) ),
			'5.7.705' => array( __( 'Microsoft blocked the tenant for suspicious traffic.', 'rust-mail' ), __( 'This is outside the site\'s control: contact Microsoft support.', 'rust-mail' ) ),
			'5.7.708' => array( __( 'Microsoft blocked the sending IP address for suspicious traffic.', 'rust-mail' ), __( 'This is outside the site\'s control: contact Microsoft support.', 'rust-mail' ) ),
		);
	}

	/**
	 * Error kinds from rust_mail_send(), matched by the words they contain, since a kind names the stage that failed.
	 *
	 * @return array<string, array{0: string, 1: string}> word => [cause, advice]
	 */
	private static function by_kind_word() {
		return array(
			// Before 'auth', which it contains: no login was tried, the token endpoint said no.
			'oauth'     => array( __( 'No OAuth2 token: the token endpoint (Microsoft) refused the app or could not be reached.', 'rust-mail' ), __( 'Check the tenant ID, client ID and client secret of the app registration; a client secret also expires.', 'rust-mail' ) ),
			'auth'      => array( __( 'Logging in to the mail server failed.', 'rust-mail' ), __( 'Check the user name, password and authentication method.', 'rust-mail' ) ),
			'refused'   => array( __( 'Nothing is listening on that host and port: the connection was refused at once.', 'rust-mail' ), __( 'Check the host name and port; the server may be down.', 'rust-mail' ) ),
			'timeout'   => array( __( 'The server did not answer in time; a firewall dropping the connection is the usual reason.', 'rust-mail' ), __( 'Ask the host whether outbound SMTP on this port is blocked, or try port 587 or 465.', 'rust-mail' ) ),
			'connect'   => array( __( 'The connection to the mail server could not be made.', 'rust-mail' ), __( 'Check the host name and port, and that this server may make outbound SMTP connections.', 'rust-mail' ) ),
			'dns'       => array( __( 'The server\'s host name could not be resolved.', 'rust-mail' ), __( 'Check the spelling of the host name.', 'rust-mail' ) ),
			'tls'       => array( __( 'The encrypted connection could not be set up.', 'rust-mail' ), __( 'Check the encryption setting matches the port (STARTTLS on 587, TLS on 465) and that the certificate names this host.', 'rust-mail' ) ),
			'certific'  => array( __( 'The server\'s certificate was not accepted.', 'rust-mail' ), __( 'The certificate may be expired, self-signed, or name another host (hosting that redirects SMTP does this).', 'rust-mail' ) ),
			'sender'    => array( __( 'The server refused the sender address.', 'rust-mail' ), __( 'Send From an address the server lets this login use.', 'rust-mail' ) ),
			'recipient' => array( __( 'The server refused the recipient(s).', 'rust-mail' ), __( 'Check the address; the server may not relay to it.', 'rust-mail' ) ),
			'invalid'   => array( __( 'The settings or the message were not accepted by the extension.', 'rust-mail' ), __( 'Check the settings page for a value out of range.', 'rust-mail' ) ),
			'wordpress' => array( __( 'WordPress stopped the mail before it reached the server (for example an invalid address or an empty message).', 'rust-mail' ), __( 'Check the recipient and From addresses the calling plugin used.', 'rust-mail' ) ),
		);
	}

	/**
	 * @param array $entry a log row.
	 * @return array{cause: string, advice: string}|null null for a mail that was sent.
	 */
	public static function for_entry( array $entry ) {
		if ( Rust_Mail_Log::STATUS_SENT === $entry['status'] ) {
			return null;
		}
		$known = self::by_enhanced_code();
		if ( '' !== $entry['enhanced_code'] && isset( $known[ $entry['enhanced_code'] ] ) ) {
			return self::pair( $known[ $entry['enhanced_code'] ] );
		}
		// The kind names the failing stage; the message is only consulted when the kind says nothing known.
		foreach ( array( $entry['error_kind'], $entry['error_message'] ) as $text ) {
			foreach ( self::by_kind_word() as $word => $explanation ) {
				if ( false !== stripos( (string) $text, $word ) ) {
					return self::pair( $explanation );
				}
			}
		}
		$code = (int) $entry['smtp_code'];
		if ( $code >= 400 && $code < 500 ) {
			return array( 'cause' => __( 'The server refused for now (a temporary error).', 'rust-mail' ), 'advice' => __( 'Try again later; if it keeps happening, read the server\'s reply below.', 'rust-mail' ) );
		}
		if ( $code >= 500 ) {
			return array( 'cause' => __( 'The server refused the message for good.', 'rust-mail' ), 'advice' => __( 'Read the server\'s reply below; it usually names the reason.', 'rust-mail' ) );
		}
		return array( 'cause' => __( 'The mail was not sent.', 'rust-mail' ), 'advice' => __( 'Run a diagnosis on the settings page to test the connection step by step.', 'rust-mail' ) );
	}

	private static function pair( array $explanation ) {
		return array( 'cause' => $explanation[0], 'advice' => $explanation[1] );
	}
}
