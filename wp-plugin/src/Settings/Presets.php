<?php
/**
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Settings_Presets {

	/**
	 * Presets: the setups our users have. Each fills host (when it is the same for everybody), port, security and auth;
	 * `also` lists other values a field may keep under the preset.
	 *
	 * @return array<string, array{label: string, description: string, values: array, also?: array}>
	 */
	public static function all() {
		return array(
			'm365'        => array(
				'label'       => __( 'Microsoft 365', 'rust-mail' ),
				'description' => __( 'Sends through smtp.office365.com on port 587 with STARTTLS and a mailbox login; Microsoft switches password login off by default at the end of December 2026, after which it needs OAuth2 (XOAUTH2): register an app in Microsoft Entra ID (OAuth2 app registration with a client secret), let it send as the mailbox in Exchange, then choose "OAuth2 token (XOAUTH2)" and fill in its tenant ID, client ID and client secret.', 'rust-mail' ),
				'values'      => array( 'host' => 'smtp.office365.com', 'port' => 587, 'security' => 'starttls', 'auth' => 'login' ),
				// The OAuth2 login that replaces the password: chosen on the form, it is kept instead of the preset's value.
				'also'        => array( 'auth' => array( 'xoauth2' ) ),
				// Exchange Online's published sending limits; filled in where the form leaves a limit at 0.
				'limits'      => array( 'rate_per_minute' => 30, 'recipients_per_day' => 10000 ),
			),
			'm365_direct' => array(
				'label'       => __( 'Microsoft 365 direct send', 'rust-mail' ),
				'description' => __( 'Delivers to your tenant domain\'s MX host (for example contoso-com.mail.protection.outlook.com) on port 25 without a login, which only reaches mailboxes of your own organisation.', 'rust-mail' ),
				'values'      => array( 'port' => 25, 'security' => 'opportunistic', 'auth' => 'none' ),
			),
			'outlook'     => array(
				'label'       => __( 'Outlook.com / Hotmail', 'rust-mail' ),
				'description' => __( 'Sends through smtp-mail.outlook.com on port 587 with STARTTLS. Outlook.com no longer takes passwords: register an app in Microsoft Entra ID for personal accounts, fill in its client ID and secret under OAuth2, save, then use "Sign in with Microsoft".', 'rust-mail' ),
				'values'      => array( 'host' => 'smtp-mail.outlook.com', 'port' => 587, 'security' => 'starttls', 'auth' => 'xoauth2' ),
			),
			'godaddy'     => array(
				'label'       => __( 'GoDaddy shared hosting relay', 'rust-mail' ),
				'description' => __( 'Hands mail to relay-hosting.secureserver.net on port 25 without login or TLS, the only way out of GoDaddy shared hosting (about 250 messages a day).', 'rust-mail' ),
				'values'      => array( 'host' => 'relay-hosting.secureserver.net', 'port' => 25, 'security' => 'none', 'auth' => 'none' ),
				'limits'      => array( 'rate_per_day' => 250 ),
			),
			'localhost'   => array(
				'label'       => __( 'A server on this machine', 'rust-mail' ),
				'description' => __( 'Hands mail to the mail server running on this machine (localhost, port 25), which delivers it onwards.', 'rust-mail' ),
				'values'      => array( 'host' => 'localhost', 'port' => 25, 'security' => 'none', 'auth' => 'none' ),
			),
			'gmail'       => array(
				'label'       => __( 'Gmail (app password)', 'rust-mail' ),
				'description' => __( 'Sends through smtp.gmail.com on port 587 with STARTTLS, logging in with your address and an app password (your normal password is refused). Where app passwords are not allowed (Google Workspace), choose "OAuth2 token (XOAUTH2)", fill in the client ID and secret of your Google Cloud app, save, then use "Sign in with Google".', 'rust-mail' ),
				'values'      => array( 'host' => 'smtp.gmail.com', 'port' => 587, 'security' => 'starttls', 'auth' => 'login' ),
				// Signed in with Google instead of an app password.
				'also'        => array( 'auth' => array( 'xoauth2' ) ),
				// Gmail's published limit for a personal account.
				'limits'      => array( 'recipients_per_day' => 500 ),
			),
			'custom'      => array(
				'label'       => __( 'Custom', 'rust-mail' ),
				'description' => __( 'Any other SMTP server: fill in every field yourself.', 'rust-mail' ),
				'values'      => array(),
			),
		);
	}
}
