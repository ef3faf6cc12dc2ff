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

	/** What went wrong, for the advice: one of PROBLEMS, or '' when the answer says nothing more precise. */
	private $problem;

	/**
	 * What can keep a token from being had, each with its own advice (advice_for()):
	 * - blocked: WordPress itself blocks outgoing HTTP (WP_HTTP_BLOCK_EXTERNAL);
	 * - dns, tls, unreachable: the token endpoint's name, its HTTPS, or the connection;
	 * - invalid_client: the client ID or secret (expired, or its ID pasted instead of its value);
	 * - invalid_grant: the sign-in or code is no longer accepted;
	 * - consent: an administrator has not consented to the app's permissions;
	 * - tenant: no such tenant.
	 */
	const PROBLEMS = array( 'blocked', 'dns', 'tls', 'unreachable', 'invalid_client', 'invalid_grant', 'consent', 'tenant' );

	public function __construct( $message, $kind = 'oauth', $transient = false, $problem = '' ) {
		parent::__construct( $message );
		$this->kind      = $kind;
		$this->transient = $transient;
		$this->problem   = in_array( $problem, self::PROBLEMS, true ) ? $problem : '';
	}

	public function problem() {
		return $this->problem;
	}

	/**
	 * The cause a log row keeps for this failure, so that its explanation later gives the same advice:
	 * `oauth_<problem>`, or the kind when there is no problem more precise.
	 */
	public function cause() {
		return '' === $this->problem || RustMail_OAuth_Token::GRANT_REVOKED === $this->kind ? $this->kind : 'oauth_' . $this->problem;
	}

	/** The problem a logged cause (cause()) names, '' for none. */
	public static function problem_of_cause( $cause ) {
		$problem = 0 === strpos( (string) $cause, 'oauth_' ) ? substr( (string) $cause, strlen( 'oauth_' ) ) : '';
		return in_array( $problem, self::PROBLEMS, true ) ? $problem : '';
	}

	/**
	 * What went wrong in an HTTP client's failure to reach the token endpoint. Pure: WP_Error's code and message in.
	 *
	 * @return string blocked, dns, tls or unreachable.
	 */
	public static function problem_of_http_error( $code, $message ) {
		if ( 'http_request_not_executed' === $code ) {
			return 'blocked'; // WP_Http::block_request(): WP_HTTP_BLOCK_EXTERNAL, and the host not in WP_ACCESSIBLE_HOSTS.
		}
		if ( preg_match( '/resolve|getaddrinfo|name or service not known|no address associated|php_network_getaddresses/i', $message ) ) {
			return 'dns';
		}
		if ( preg_match( '/ssl|tls|certificate/i', $message ) ) {
			return 'tls';
		}
		return 'unreachable';
	}

	/**
	 * What the token endpoint's refusal says, from its JSON answer (RFC 6749 section 5.2; Microsoft's AADSTS codes
	 * come first in error_description). Pure.
	 *
	 * @return string one of PROBLEMS, or '' when the answer says nothing this knows.
	 */
	public static function problem_of_answer( array $body ) {
		$error       = (string) ( $body['error'] ?? '' );
		$description = (string) ( $body['error_description'] ?? '' );
		if ( 'consent_required' === $error || preg_match( '/^AADSTS(65001|65004|90094)\b/', $description ) ) {
			return 'consent';
		}
		if ( 'invalid_tenant' === $error || preg_match( '/^AADSTS(90002|900023|90072)\b/', $description ) ) {
			return 'tenant';
		}
		if ( in_array( $error, array( 'invalid_client', 'unauthorized_client' ), true ) || preg_match( '/^AADSTS(7000215|7000222|700016)\b/', $description ) ) {
			return 'invalid_client';
		}
		return 'invalid_grant' === $error ? 'invalid_grant' : '';
	}

	public function kind() {
		return $this->kind;
	}

	public function is_transient() {
		return $this->transient;
	}

	/** @return string[] what to do, for Diagnose, the setup and the log. */
	public function advice() {
		return self::advice_for( $this->kind, $this->problem );
	}

	/**
	 * What to do about a failure to get a token, by its kind and problem: the advice follows what actually failed.
	 *
	 * @return string[]
	 */
	public static function advice_for( $kind, $problem ) {
		if ( RustMail_OAuth_Token::GRANT_REVOKED === $kind || 'invalid_grant' === $problem ) {
			return array( __( 'Sign in again with the button on the Rust Mail settings page: the mailbox\'s sign-in was revoked or has expired (a password change, an administrator, or months without use end it).', 'rust-mail' ) );
		}
		$advice = array(
			'blocked'        => __( 'WordPress on this site blocks requests to other servers (WP_HTTP_BLOCK_EXTERNAL in wp-config.php), so it cannot ask for a token. Add the token endpoint\'s host to WP_ACCESSIBLE_HOSTS in wp-config.php (login.microsoftonline.com for Microsoft, oauth2.googleapis.com for Google), or remove WP_HTTP_BLOCK_EXTERNAL.', 'rust-mail' ),
			'dns'            => __( 'This server could not look up the token endpoint\'s name, so its DNS does not work or blocks the name. Ask your host to let the site reach login.microsoftonline.com (or oauth2.googleapis.com for Google).', 'rust-mail' ),
			'tls'            => __( 'The secure (HTTPS) connection to the token endpoint failed: its certificate could not be checked. The server\'s list of certificate authorities may be out of date, or something on the way intercepts HTTPS. Ask your host to update the CA certificates.', 'rust-mail' ),
			'unreachable'    => __( 'The token endpoint could not be reached: a firewall may block outgoing HTTPS (port 443) from this server. Ask your host to allow it; the next mail tries again.', 'rust-mail' ),
			'invalid_client' => __( 'Microsoft or Google does not accept the app\'s client ID or client secret. Check the client ID; if the secret expired, add a new client secret to the app registration and paste its value (not its secret ID).', 'rust-mail' ),
			'consent'        => __( 'An administrator has not yet consented to the app\'s permissions. In Microsoft Entra ID, open the app registration, API permissions, and choose "Grant admin consent"; then try again.', 'rust-mail' ),
			'tenant'         => __( 'There is no such tenant: check the tenant ID (a GUID, or a domain such as contoso.onmicrosoft.com) in the app registration\'s overview.', 'rust-mail' ),
		);
		return array( $advice[ $problem ] ?? __( 'Check the tenant ID, client ID and client secret of the app registration in Microsoft Entra ID (or Google Cloud); a client secret also expires.', 'rust-mail' ) );
	}
}
