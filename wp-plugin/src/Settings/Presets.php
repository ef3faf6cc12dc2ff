<?php
/**
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Settings_Presets {

	/**
	 * What the settings page shows for a connection over each API: the SMTP server's fields are hidden (the
	 * extension refuses them), the region only where it is read, and the user name and password under the API's
	 * own names. The page's script switches them as the preset or the API changes.
	 *
	 * @return array<string, array{hide: string[], labels: array<string, string>, oauth: bool}> by `api` ('' for SMTP)
	 */
	public static function api_fields() {
		$smtp    = RustMail_Settings_Schema::SMTP_ONLY_KEYS;
		$no_auth = array_merge( $smtp, array( 'region' ) );
		return array(
			''        => array(
				'hide'   => array( 'region', 'api_base' ),
				'labels' => array(),
				'oauth'  => false,
			),
			'graph'   => array(
				'hide'   => array_merge( $no_auth, array( 'password' ) ),
				'labels' => array( 'username' => __( 'Mailbox', 'rust-mail' ) ),
				'oauth'  => true,
			),
			'gmail'   => array(
				'hide'   => array_merge( $no_auth, array( 'password' ) ),
				'labels' => array( 'username' => __( 'Mailbox (empty: the account signed in)', 'rust-mail' ) ),
				'oauth'  => true,
			),
			'ses'     => array(
				'hide'   => $smtp,
				'labels' => array(
					'username' => __( 'Access key ID', 'rust-mail' ),
					'password' => __( 'Secret access key', 'rust-mail' ),
				),
				'oauth'  => false,
			),
			'mailgun' => array(
				'hide'   => $smtp,
				'labels' => array(
					'username' => __( 'Sending domain', 'rust-mail' ),
					'password' => __( 'API key', 'rust-mail' ),
				),
				'oauth'  => false,
			),
		);
	}

	/**
	 * The Exchange Online PowerShell lines that limit an app-only Graph registration to the one mailbox (RBAC for
	 * Applications): without them Mail.Send lets the app send as every mailbox of the tenant. Plain text, to be
	 * escaped where it is shown; the values are quoted for PowerShell.
	 *
	 * @return string[] the lines, or none while the mailbox or client ID is missing.
	 */
	public static function graph_rbac_lines( $mailbox, $client_id ) {
		$mailbox   = trim( (string) $mailbox );
		$client_id = trim( (string) $client_id );
		if ( '' === $mailbox || '' === $client_id ) {
			return array();
		}
		$quote = fn ( $value ) => str_replace( array( "'", '"', '`', '$' ), array( "''", '`"', '``', '`$' ), $value );
		$app   = preg_match( '/^[A-Za-z0-9-]+$/', $client_id ) ? $client_id : "'" . str_replace( "'", "''", $client_id ) . "'";
		return array(
			'New-ManagementScope -Name "rust-mail mailbox" -RecipientRestrictionFilter "PrimarySmtpAddress -eq \'' . $quote( $mailbox ) . '\'"',
			'New-ManagementRoleAssignment -App ' . $app . ' -Role "Application Mail.Send" -CustomResourceScope "rust-mail mailbox"',
		);
	}

	/** @return array<string, mixed> what a preset sets, by key: its server's values and its published limits. */
	public static function owned( $name ) {
		$preset = self::all()[ $name ] ?? array( 'values' => array() );
		return $preset['values'] + ( $preset['limits'] ?? array() );
	}

	/** Whether a value is one the preset set: its own, or another it lets the field keep (`also`). */
	public static function set_by( $name, $key, $value ) {
		$preset = self::all()[ $name ] ?? array( 'values' => array() );
		$owned  = self::owned( $name );
		if ( ! array_key_exists( $key, $owned ) ) {
			return false;
		}
		return in_array( (string) $value, array_map( 'strval', array_merge( array( $owned[ $key ] ), $preset['also'][ $key ] ?? array() ) ), true );
	}

	/**
	 * The form's values once the preset `$name` is applied, coming from the preset `$previous`. Presets own their
	 * values: a switch puts every value the previous preset set back to its default (a value the owner typed over it
	 * stays), so that no host or daily limit of a preset tried on the way stays behind. Then the preset's own values
	 * replace the fields it sets (but for a value its `also` allows), and its published limits fill the limits at 0 (a
	 * lower limit of the owner's own stays). Keys missing from `$values` (fixed in wp-config.php) are left out.
	 * settings.js does the same on the page, as the owner clicks.
	 *
	 * @param array<string, mixed> $values sanitized settings by key.
	 * @return array<string, mixed>
	 */
	public static function apply( $previous, $name, array $values ) {
		$presets = self::all();
		$preset  = $presets[ $name ] ?? $presets['custom'];
		if ( $previous !== $name ) {
			foreach ( array_keys( self::owned( $previous ) ) as $key ) {
				if ( array_key_exists( $key, $values ) && self::set_by( $previous, $key, $values[ $key ] ) ) {
					$values[ $key ] = RustMail_Settings_Schema::default_value( $key );
				}
			}
		}
		foreach ( $preset['values'] as $key => $value ) {
			if ( array_key_exists( $key, $values ) && ! in_array( $values[ $key ], $preset['also'][ $key ] ?? array(), true ) ) {
				$values[ $key ] = $value;
			}
		}
		foreach ( $preset['limits'] ?? array() as $key => $value ) {
			if ( array_key_exists( $key, $values ) && 0 === (int) $values[ $key ] ) {
				$values[ $key ] = $value;
			}
		}
		return $values;
	}

	/**
	 * Presets: the setups our users have. Each fills host (when it is the same for everybody), port, security and auth;
	 * `also` lists other values a field may keep under the preset; `signin` names the one mailbox sign-in the page
	 * offers under it (RustMail_OAuth_Grant::providers()).
	 *
	 * @return array<string, array{label: string, description: string, values: array, also?: array}>
	 */
	public static function all() {
		return array(
			'm365'        => array(
				'label'       => __( 'Microsoft 365', 'rust-mail' ),
				'description' => __( 'Sends through smtp.office365.com on port 587 with STARTTLS and a mailbox login; Microsoft switches password login off by default at the end of December 2026, after which it needs OAuth2 (XOAUTH2): register an app in Microsoft Entra ID (OAuth2 app registration with a client secret), let it send as the mailbox in Exchange, then choose "OAuth2 token (XOAUTH2)" and fill in its tenant ID, client ID and client secret.', 'rust-mail' ),
				'signin'      => 'microsoft',
				'values'      => array( 'api' => '', 'host' => 'smtp.office365.com', 'port' => 587, 'security' => 'starttls', 'auth' => 'login' ),
				// The OAuth2 login that replaces the password: chosen on the form, it is kept instead of the preset's value.
				'also'        => array( 'auth' => array( 'xoauth2' ) ),
				// Exchange Online's published sending limits; filled in where the form leaves a limit at 0.
				'limits'      => array( 'rate_per_minute' => 30, 'recipients_per_day' => 10000 ),
			),
			'm365_graph'  => array(
				'label'       => __( 'Microsoft 365 (Graph API)', 'rust-mail' ),
				'description' => __( 'Sends over HTTPS with Microsoft Graph (sendMail), which needs neither SMTP AUTH nor an open SMTP port. Register an app in Microsoft Entra ID with the application permission Mail.Send (admin consent) and a client secret, fill in its tenant ID, client ID and client secret and the mailbox as user name; then limit the app to that mailbox with the Exchange Online lines shown below. Or, without an app permission, use "Sign in with Microsoft" (delegated Mail.Send).', 'rust-mail' ),
				'signin'      => 'microsoft',
				'values'      => array( 'api' => 'graph' ),
				// Exchange Online's sending limits apply to Graph too.
				'limits'      => array( 'rate_per_minute' => 30, 'recipients_per_day' => 10000 ),
			),
			'm365_direct' => array(
				'label'       => __( 'Microsoft 365 direct send', 'rust-mail' ),
				'description' => __( 'Delivers to your tenant domain\'s MX host (for example contoso-com.mail.protection.outlook.com) on port 25 without a login, which only reaches mailboxes of your own organisation.', 'rust-mail' ),
				'values'      => array( 'api' => '', 'port' => 25, 'security' => 'opportunistic', 'auth' => 'none' ),
			),
			'outlook'     => array(
				'label'       => __( 'Outlook.com / Hotmail', 'rust-mail' ),
				'description' => __( 'Sends through smtp-mail.outlook.com on port 587 with STARTTLS. Outlook.com no longer takes passwords: register an app in Microsoft Entra ID for personal accounts, fill in its client ID and secret under OAuth2, save, then use "Sign in with Microsoft".', 'rust-mail' ),
				'signin'      => 'microsoft',
				'values'      => array( 'api' => '', 'host' => 'smtp-mail.outlook.com', 'port' => 587, 'security' => 'starttls', 'auth' => 'xoauth2' ),
			),
			'godaddy'     => array(
				'label'       => __( 'GoDaddy shared hosting relay', 'rust-mail' ),
				'description' => __( 'Hands mail to relay-hosting.secureserver.net on port 25 without login or TLS, the only way out of GoDaddy shared hosting (about 250 messages a day).', 'rust-mail' ),
				'values'      => array( 'api' => '', 'host' => 'relay-hosting.secureserver.net', 'port' => 25, 'security' => 'none', 'auth' => 'none' ),
				'limits'      => array( 'rate_per_day' => 250 ),
			),
			'localhost'   => array(
				'label'       => __( 'A server on this machine', 'rust-mail' ),
				'description' => __( 'Hands mail to the mail server running on this machine (localhost, port 25), which delivers it onwards.', 'rust-mail' ),
				'values'      => array( 'api' => '', 'host' => 'localhost', 'port' => 25, 'security' => 'none', 'auth' => 'none' ),
			),
			'gmail'       => array(
				'label'       => __( 'Gmail (app password)', 'rust-mail' ),
				'description' => __( 'Sends through smtp.gmail.com on port 587 with STARTTLS, logging in with your address and an app password (your normal password is refused). Where app passwords are not allowed (Google Workspace), choose "OAuth2 token (XOAUTH2)", fill in the client ID and secret of your Google Cloud app, save, then use "Sign in with Google".', 'rust-mail' ),
				'signin'      => 'google',
				'values'      => array( 'api' => '', 'host' => 'smtp.gmail.com', 'port' => 587, 'security' => 'starttls', 'auth' => 'login' ),
				// Signed in with Google instead of an app password.
				'also'        => array( 'auth' => array( 'xoauth2' ) ),
				// Gmail's published limit for a personal account.
				'limits'      => array( 'recipients_per_day' => 500 ),
			),
			'gmail_api'   => array(
				'label'       => __( 'Gmail API', 'rust-mail' ),
				'description' => __( 'Sends over HTTPS with the Gmail API. Create an OAuth client ("Web application") in the Google Cloud console, enable the Gmail API, add the scope https://www.googleapis.com/auth/gmail.send (sensitive, not restricted: no security assessment), fill in its client ID and secret under OAuth2, save, then use "Sign in with Google".', 'rust-mail' ),
				'signin'      => 'google',
				'values'      => array( 'api' => 'gmail' ),
				'limits'      => array( 'recipients_per_day' => 500 ),
			),
			'ses'         => array(
				'label'       => __( 'Amazon SES (API)', 'rust-mail' ),
				'description' => __( 'Sends over HTTPS with Amazon SES (SendEmail, v2), with an IAM access key allowed ses:SendRawEmail: its access key ID as user name, its secret access key as password, and the AWS region of your verified identity. Amazon SES needs the rust-mail extension (its requests are signed with AWS Signature Version 4); without it, use SES\'s SMTP interface with the Custom preset.', 'rust-mail' ),
				'values'      => array( 'api' => 'ses' ),
			),
			'mailgun'     => array(
				'label'       => __( 'Mailgun (API)', 'rust-mail' ),
				'description' => __( 'Sends over HTTPS with Mailgun: the sending domain as user name, the API key as password, and the region us or eu (where the domain was created).', 'rust-mail' ),
				'values'      => array( 'api' => 'mailgun' ),
			),
			'custom'      => array(
				'label'       => __( 'Custom', 'rust-mail' ),
				'description' => __( 'Any other SMTP server or API: fill in every field yourself.', 'rust-mail' ),
				'values'      => array(),
			),
		);
	}
}
