<?php
/**
 * Explains a logged failure: what went wrong and what to do.
 *
 * A failure of a transport (a server reply, a connection or TLS problem) is explained by the extension's classifier,
 * with rust_mail_explain(): the same classifier and advice as the Diagnose button, so the two never disagree. Without
 * the extension, the same rules, exported as data (RustMail_Explain_Classifier), give the same answer. Only the
 * failures that happen in the plugin, before a transport is reached, are explained here.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Log_Explainer {

	/**
	 * What went wrong and what to do, for a logged failure: the extension's classifier, or without it the same rules
	 * as exported data (RustMail_Explain_Classifier), which give the same answer.
	 */
	private static function explain( array $failure, array $transport ) {
		if ( function_exists( 'rust_mail_explain' ) ) {
			return rust_mail_explain( $failure, $transport );
		}
		return RustMail_Explain_Classifier::explain( $failure, $transport );
	}

	/**
	 * Failures of the plugin's own making, by the error kind it logs for them.
	 *
	 * @return array<string, array{0: string, 1: string}> kind => [what went wrong, what to do]
	 */
	private static function plugin_failures() {
		return array(
			'oauth'         => array( __( 'No OAuth2 token: the token endpoint (Microsoft) refused the app or could not be reached.', 'rust-mail' ), __( 'Check the tenant ID, client ID and client secret of the app registration; a client secret also expires.', 'rust-mail' ) ),
			'oauth_grant_revoked' => array( __( 'No OAuth2 token: Microsoft or Google no longer accepts the mailbox\'s sign-in (invalid_grant: revoked, expired, or the password changed).', 'rust-mail' ), __( 'Sign in again with the button on the Rust Mail settings page; until then no token is asked for.', 'rust-mail' ) ),
			'settings'      => array( __( 'The settings cannot be used as they are: a secret from wp-config.php would go to a server chosen on the settings page.', 'rust-mail' ), __( 'Fix the server (host, port, encryption, certificate checks) in wp-config.php too, as the settings page says.', 'rust-mail' ) ),
			'invalid_input' => array( __( 'The settings or the message were not accepted by the extension.', 'rust-mail' ), __( 'Check the settings page for a value out of range.', 'rust-mail' ) ),
			'engine'        => array( __( 'This connection needs the rust_mail extension: Amazon SES\'s API signs each request with AWS Signature Version 4, which the PHPMailer engine does not do.', 'rust-mail' ), __( 'Install the rust_mail extension (see the settings page), or send through Amazon SES\'s SMTP interface (email-smtp.REGION.amazonaws.com, port 587, with SMTP credentials) with the Custom preset.', 'rust-mail' ) ),
			'wordpress'     => array( __( 'WordPress stopped the mail before it reached the server (for example an invalid address or an empty message).', 'rust-mail' ), __( 'Check the recipient and From addresses the calling plugin used.', 'rust-mail' ) ),
		);
	}

	/**
	 * @param array $entry a log row.
	 * @return array{cause: string, advice: string[], code?: string}|null the summary, the advice and the classifier's
	 *         cause; null for a mail that was sent, or waits without a failure yet.
	 */
	public static function for_entry( array $entry ) {
		if ( RustMail_Log_Store::STATUS_SENT === $entry['status'] || ( '' === (string) $entry['error_kind'] && RustMail_Log_Store::STATUS_PARTIAL !== $entry['status'] ) ) {
			return null;
		}
		// A partly sent mail has no error: some recipients were refused, each with its reply in the message, and the
		// logged reply is the server's "250 queued" for the others.
		$partial = RustMail_Log_Store::STATUS_PARTIAL === $entry['status'];
		$kind    = $partial ? 'recipient_rejected' : (string) $entry['error_kind'];
		$plugins = self::plugin_failures();
		if ( 'oauth' === $kind && '' !== RustMail_OAuth_Exception::problem_of_cause( (string) $entry['error_cause'] ) ) {
			// The token's failure as it was logged (blocked HTTP, DNS, TLS, the app refused...): its own advice.
			return array( 'cause' => $plugins['oauth'][0], 'advice' => RustMail_OAuth_Exception::advice_for( $kind, RustMail_OAuth_Exception::problem_of_cause( (string) $entry['error_cause'] ) ) );
		}
		if ( isset( $plugins[ $kind ] ) ) {
			return array( 'cause' => $plugins[ $kind ][0], 'advice' => array( $plugins[ $kind ][1] ) );
		}
		$failure = array(
			'kind'          => $kind,
			'message'       => (string) $entry['error_message'],
			'code'          => $partial || '' === (string) $entry['smtp_code'] ? null : (int) $entry['smtp_code'],
			'enhanced_code' => (string) $entry['enhanced_code'],
			'reply'         => (string) $entry['reply'],
			'from'          => (string) $entry['from_address'],
		);
		try {
			// The cause the transport decided when it failed knows more than the row does (what was wrong with a
			// certificate, say): explained as it was decided.
			if ( ! $partial && RustMail_Explain_Classifier::is_cause( (string) $entry['error_cause'] ) ) {
				$failure['cause'] = (string) $entry['error_cause'];
			}
			$verdict = self::explain( $failure, RustMail_Transport_Connection::transport( false ) );
			// The classifier's words are a developer's ("security 'starttls'"); the owner reads the page's names.
			return array( 'cause' => RustMail_Explain_Owner_Words::text( $verdict['summary'] ), 'advice' => RustMail_Explain_Owner_Words::texts( $verdict['advice'] ), 'code' => (string) $verdict['cause'] );
		} catch ( Throwable $e ) {
			// An older row, settings the extension no longer accepts, or the exported rules unreadable (the admin
			// notice says so): the transcript below still tells the story.
			return array(
				'cause'  => __( 'The mail was not sent.', 'rust-mail' ),
				'advice' => array( __( 'Run a diagnosis on the settings page to test the connection step by step.', 'rust-mail' ) ),
			);
		}
	}
}
