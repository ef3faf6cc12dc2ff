<?php
/**
 * The first-run setup: the owner picks a provider (a preset), answers only that provider's questions, which are
 * checked as they are typed, then sends a test mail and sees it delivered or the explanation. Its own admin page in
 * WordPress's style, announced by an admin notice while no server is configured, and reopened from the settings page.
 *
 * The answers are saved through RustMail_Settings_Store::save(), the settings page's own path, with every other
 * setting kept as it is; the test mail is the settings page's (RustMail_Mail_Test_Mail), explained the same way.
 * Both AJAX actions check the capability, then the nonce.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Admin_Setup_Wizard {

	const PAGE = 'rust-mail-setup';

	/** admin-ajax.php actions; both take the nonce of NONCE. */
	const ACTION_CHECK  = 'rust_mail_setup_check';
	const ACTION_FINISH = 'rust_mail_setup_finish';
	const NONCE         = 'rust_mail_setup';

	/** Answers that are not settings: direct send's tenant domain and the site's public address. */
	const DIRECT_ANSWERS = array( 'direct_domain', 'direct_ip' );

	/** @var string the page's hook suffix, for its script. */
	private static $hook = '';

	public static function register() {
		add_action( is_multisite() ? 'network_admin_menu' : 'admin_menu', array( __CLASS__, 'add_page' ), 20 );
		add_action( 'admin_enqueue_scripts', array( __CLASS__, 'enqueue_assets' ) );
		add_action( is_multisite() ? 'network_admin_notices' : 'admin_notices', array( __CLASS__, 'render_notice' ) );
		add_action( 'wp_ajax_' . self::ACTION_CHECK, array( __CLASS__, 'handle_check' ) );
		add_action( 'wp_ajax_' . self::ACTION_FINISH, array( __CLASS__, 'handle_finish' ) );
	}

	public static function add_page() {
		self::$hook = (string) add_submenu_page( RustMail_Admin_Pages::SETTINGS_PAGE, __( 'Set up Rust Mail', 'rust-mail' ), __( 'Setup', 'rust-mail' ), RustMail_Admin_Pages::capability(), self::PAGE, array( __CLASS__, 'render_page' ) );
	}

	public static function url() {
		$path = 'admin.php?page=' . self::PAGE;
		return is_multisite() ? network_admin_url( $path ) : admin_url( $path );
	}

	/** Until a server is configured: a notice on every admin screen (but the setup's own) that links to the setup. */
	public static function render_notice() {
		if ( RustMail_Settings_Store::is_configured() || ! current_user_can( RustMail_Admin_Pages::capability() ) || ( isset( $_GET['page'] ) && self::PAGE === $_GET['page'] ) ) { // phpcs:ignore WordPress.Security.NonceVerification -- which screen this is.
			return;
		}
		printf(
			'<div class="notice notice-info" id="rust-mail-setup-notice"><p>%s <a class="button button-primary" href="%s">%s</a></p></div>',
			esc_html__( 'Rust Mail: no mail server is set up yet, so WordPress sends mail the usual way.', 'rust-mail' ),
			esc_url( self::url() ),
			esc_html__( 'Set up mail in a few steps', 'rust-mail' )
		);
	}

	public static function enqueue_assets( $hook ) {
		if ( '' === self::$hook || self::$hook !== $hook ) {
			return;
		}
		wp_enqueue_style( 'rust-mail-setup', plugins_url( 'assets/setup.css', RUST_MAIL_PLUGIN_FILE ), array(), RUST_MAIL_PLUGIN_VERSION );
		wp_enqueue_script( 'rust-mail-setup', plugins_url( 'assets/setup.js', RUST_MAIL_PLUGIN_FILE ), array(), RUST_MAIL_PLUGIN_VERSION, true );
		wp_add_inline_script(
			'rust-mail-setup',
			'window.rustMailSetup = ' . wp_json_encode(
				array(
					'ajaxUrl' => admin_url( 'admin-ajax.php' ),
					'nonce'   => wp_create_nonce( self::NONCE ),
					'words'   => array(
						'checking'  => __( 'Checking…', 'rust-mail' ),
						'sending'   => __( 'Saving and sending the test mail…', 'rust-mail' ),
						'failed'    => __( 'The request failed; reload the page and try again.', 'rust-mail' ),
						'fixFirst'  => __( 'Fix the fields marked below first.', 'rust-mail' ),
						'signin'    => __( 'Sign in on the settings page', 'rust-mail' ),
						'log'       => __( 'The test mail in the connection log', 'rust-mail' ),
					),
				)
			) . ';',
			'before'
		);
	}

	public static function render_page() {
		RustMail_Admin_Pages::require_capability();
		require __DIR__ . '/views/setup.php';
	}

	/**
	 * The providers the setup offers, in its order, and the questions each asks: setting keys, and direct send's
	 * own answers. A question with `when` is asked only while another answer has that value.
	 *
	 * @return array<string, array<string, array{when?: array<string, string>}>> preset => question key => options
	 */
	public static function questions() {
		$login_kind = array(
			'auth'                => array(),
			'password'            => array( 'when' => array( 'auth' => 'login' ) ),
			'oauth_tenant'        => array( 'when' => array( 'auth' => 'xoauth2' ) ),
			'oauth_client_id'     => array( 'when' => array( 'auth' => 'xoauth2' ) ),
			'oauth_client_secret' => array( 'when' => array( 'auth' => 'xoauth2' ) ),
		);
		$app        = array(
			'oauth_client_id'     => array(),
			'oauth_client_secret' => array(),
		);
		return array(
			'm365'        => array( 'from' => array(), 'username' => array() ) + $login_kind,
			'm365_direct' => array( 'from' => array(), 'direct_domain' => array(), 'direct_ip' => array() ),
			'm365_graph'  => array( 'from' => array(), 'username' => array(), 'oauth_tenant' => array() ) + $app,
			'outlook'     => array( 'from' => array(), 'username' => array() ) + $app,
			'gmail'       => array( 'from' => array(), 'username' => array(), 'password' => array() ),
			'gmail_api'   => array( 'from' => array() ) + $app,
			'godaddy'     => array( 'from' => array() ),
			'localhost'   => array( 'from' => array() ),
			'ses'         => array( 'from' => array(), 'username' => array(), 'password' => array(), 'region' => array() ),
			'mailgun'     => array( 'from' => array(), 'username' => array(), 'password' => array(), 'region' => array() ),
			'custom'      => array(
				'from'     => array(),
				'host'     => array(),
				'port'     => array(),
				'security' => array(),
				'auth'     => array(),
				'username' => array( 'when' => array( 'auth' => 'login' ) ),
				'password' => array( 'when' => array( 'auth' => 'login' ) ),
			),
		);
	}

	/** Sign-ins the owner finishes on the settings page (a provider's consent screen), after the setup saved the app. */
	public static function needs_signin( $preset ) {
		return in_array( $preset, array( 'outlook', 'gmail_api' ), true );
	}

	/** A question's label and help; the settings page's words, under an API's own names where it has them. */
	public static function question_text( $preset, $key ) {
		if ( 'direct_domain' === $key ) {
			return array( __( 'Your Microsoft 365 domain', 'rust-mail' ), __( 'The domain of your organisation\'s addresses, such as contoso.com. Its mail server (MX record) is looked up and becomes the host.', 'rust-mail' ) );
		}
		if ( 'direct_ip' === $key ) {
			return array( __( 'This site\'s public IP address', 'rust-mail' ), __( 'The address your web host sends mail from, which the domain\'s SPF record must name. Your host can tell you; it could not be found from here.', 'rust-mail' ) );
		}
		$entry = RustMail_Settings_Schema::entries()[ $key ] ?? array();
		$api   = (string) ( RustMail_Settings_Presets::all()[ $preset ]['values']['api'] ?? '' );
		$label = RustMail_Settings_Presets::api_fields()[ $api ]['labels'][ $key ] ?? ( $entry['label'] ?? $key );
		if ( 'username' === $key && '' === $api ) {
			$label = __( 'Mailbox (user name)', 'rust-mail' );
		}
		if ( 'from' === $key ) {
			return array( __( 'Send from (address)', 'rust-mail' ), __( 'The address your site\'s mail comes from; the server must allow it.', 'rust-mail' ) );
		}
		return array( $label, (string) ( $entry['help'] ?? '' ) );
	}

	/**
	 * The answers of a request, for one preset: only its questions, each sanitized as its setting is (secrets as they
	 * were typed: they are stored encrypted, never shown).
	 *
	 * @return array<string, string>
	 */
	private static function answers_from_request( $preset ) {
		$posted  = isset( $_POST['answers'] ) && is_array( $_POST['answers'] ) ? wp_unslash( $_POST['answers'] ) : array(); // phpcs:ignore WordPress.Security.NonceVerification, WordPress.Security.ValidatedSanitizedInput -- the callers checked the nonce; sanitized per key next.
		$keys    = RustMail_Settings_Schema::keys();
		$answers = array();
		foreach ( array_keys( self::questions()[ $preset ] ) as $key ) {
			$value = is_string( $posted[ $key ] ?? null ) ? trim( $posted[ $key ] ) : '';
			if ( in_array( $key, self::DIRECT_ANSWERS, true ) ) {
				$answers[ $key ] = strtolower( sanitize_text_field( $value ) );
			} elseif ( 'secret' === ( $keys[ $key ] ?? '' ) ) {
				$answers[ $key ] = $value;
			} elseif ( isset( $keys[ $key ] ) ) {
				$answers[ $key ] = (string) RustMail_Settings_Store::sanitize( $key, $keys[ $key ], $value );
			}
		}
		return $answers;
	}

	/**
	 * What is wrong with the answers, by question, in the owner's words; and for direct send what DNS said.
	 *
	 * @param array<string, string> $answers as answers_from_request() gave them, and the raw From for its message.
	 * @return array{problems: array<string, string>, direct: array|null}
	 */
	private static function check( $preset, array $answers, $typed_from ) {
		$problems = array();
		foreach ( self::asked( $preset, $answers ) as $key ) {
			if ( RustMail_Settings_Store::is_fixed_by_constant( $key ) || 'direct_ip' === $key ) {
				continue;
			}
			$secret_kept = 'secret' === ( RustMail_Settings_Schema::keys()[ $key ] ?? '' ) && RustMail_Settings_Store::has_saved_password( $key );
			if ( '' === $answers[ $key ] && ! $secret_kept && ! ( 'username' === $key && 'gmail_api' === $preset ) ) {
				$problems[ $key ] = __( 'Fill in this field.', 'rust-mail' );
			}
		}
		// The settings page's own checks (port range, host:port, a From without a domain...), in the same words.
		$typed = array( 'from' => $typed_from ) + array_intersect_key( $answers, array_flip( self::asked( $preset, $answers ) ) );
		$problems = RustMail_Settings_Validator::problems( $typed, (string) ini_get( 'open_basedir' ) ) + $problems;
		$direct = null;
		if ( 'm365_direct' === $preset && '' !== $answers['direct_domain'] ) {
			if ( ! preg_match( '/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]$/', $answers['direct_domain'] ) ) {
				$problems['direct_domain'] = __( 'Type the domain alone, such as contoso.com: no @, no https://, no spaces.', 'rust-mail' );
			} elseif ( '' !== $answers['direct_ip'] && ! filter_var( $answers['direct_ip'], FILTER_VALIDATE_IP ) ) {
				$problems['direct_ip'] = __( 'Type an IP address such as 203.0.113.7.', 'rust-mail' );
			} else {
				$direct = RustMail_Settings_Direct_Send::lookup( $answers['direct_domain'], $answers['direct_ip'] );
				if ( '' !== $direct['error'] ) {
					$problems['direct_domain'] = $direct['error'];
				}
			}
		}
		return array( 'problems' => $problems, 'direct' => $direct );
	}

	/** The questions asked for these answers: each one whose `when` holds. @return string[] */
	private static function asked( $preset, array $answers ) {
		$asked = array();
		foreach ( self::questions()[ $preset ] as $key => $question ) {
			$holds = true;
			foreach ( $question['when'] ?? array() as $other => $value ) {
				$holds = $holds && ( $answers[ $other ] ?? '' ) === $value;
			}
			if ( $holds ) {
				$asked[] = $key;
			}
		}
		return $asked;
	}

	/** The preset of a request, or dies: the owner picks one of the list. */
	private static function preset_from_request() {
		$preset = isset( $_POST['preset'] ) ? sanitize_key( wp_unslash( $_POST['preset'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification -- the callers checked the nonce.
		if ( ! isset( self::questions()[ $preset ] ) ) {
			wp_send_json_error( array( 'message' => __( 'Choose a provider first.', 'rust-mail' ) ), 400 );
		}
		return $preset;
	}

	/** Capability first, then the nonce. */
	private static function guard() {
		if ( ! current_user_can( RustMail_Admin_Pages::capability() ) ) {
			wp_send_json_error( array( 'message' => __( 'Sorry, you are not allowed to manage mail settings.', 'rust-mail' ) ), 403 );
		}
		if ( ! check_ajax_referer( self::NONCE, 'nonce', false ) ) {
			wp_send_json_error( array( 'message' => __( 'The page has expired; reload it and try again.', 'rust-mail' ) ), 403 );
		}
	}

	private static function typed_from() {
		return isset( $_POST['answers']['from'] ) && is_string( $_POST['answers']['from'] ) ? sanitize_text_field( wp_unslash( $_POST['answers']['from'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification -- the callers checked the nonce.
	}

	/** The live check, as the owner types: problems by question, and for direct send the host and the SPF record. */
	public static function handle_check() {
		self::guard();
		$preset  = self::preset_from_request();
		$answers = self::answers_from_request( $preset );
		$check   = self::check( $preset, $answers, self::typed_from() );
		wp_send_json_success( array( 'problems' => $check['problems'], 'direct' => self::direct_for_page( $check['direct'] ) ) );
	}

	/**
	 * Saves the answers through the settings page's path, then sends the test mail; says it was delivered, or why not.
	 */
	public static function handle_finish() {
		self::guard();
		$preset  = self::preset_from_request();
		$answers = self::answers_from_request( $preset );
		$check   = self::check( $preset, $answers, self::typed_from() );
		$to      = isset( $_POST['test_to'] ) ? sanitize_email( wp_unslash( $_POST['test_to'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification -- checked in guard().
		if ( ! is_email( $to ) ) {
			$check['problems']['test_to'] = __( 'Enter the address the test mail goes to.', 'rust-mail' );
		}
		if ( $check['problems'] ) {
			wp_send_json_success( array( 'problems' => $check['problems'], 'direct' => self::direct_for_page( $check['direct'] ) ) );
		}
		$saved = RustMail_Settings_Store::save( self::settings_input( $preset, $answers, $check['direct'] ) );
		// A new secret or app must not keep using the old app's token until it expires (as the settings page does).
		RustMail_OAuth_Token::forget();
		if ( $saved['problems'] ) {
			wp_send_json_success( array( 'problems' => $saved['problems'], 'direct' => self::direct_for_page( $check['direct'] ) ) );
		}
		if ( $saved['refused_secrets'] ) {
			wp_send_json_success(
				array(
					'problems' => array(),
					'saved'    => false,
					'message'  => __( 'The password or client secret was not saved.', 'rust-mail' ) . ' ' . RustMail_Settings_Secrets::key_problem(),
				)
			);
		}
		if ( self::needs_signin( $preset ) ) {
			wp_send_json_success(
				array(
					'problems' => array(),
					'saved'    => true,
					'signin'   => RustMail_Admin_Pages::settings_url() . '#rust-mail-oauth-section',
					'message'  => __( 'Saved. One step is left: sign in with the mailbox on the settings page, then send the test mail there.', 'rust-mail' ),
				)
			);
		}
		$test = RustMail_Mail_Test_Mail::send( $to );
		if ( $test['sent'] ) {
			/* translators: %s: recipient address */
			$message = sprintf( __( 'Delivered: the server accepted the test mail to %s. Mail from WordPress now goes this way.', 'rust-mail' ), $to );
		} else {
			/* translators: %s: recipient address */
			$message = sprintf( __( 'The test mail to %s was not sent.', 'rust-mail' ), $to );
		}
		wp_send_json_success(
			array(
				'problems' => array(),
				'saved'    => true,
				'sent'     => $test['sent'],
				'message'  => $message,
				'cause'    => $test['explanation'] ? RustMail_Admin_Pages::redact( $test['explanation']['cause'] ) : '',
				'advice'   => $test['explanation'] ? array_map( array( 'RustMail_Admin_Pages', 'redact' ), $test['explanation']['advice'] ) : array(),
				'log'      => $test['log_id'] ? RustMail_Log_Store::url( array( 'entry' => $test['log_id'] ) ) : '',
			)
		);
	}

	/**
	 * The settings form's input: every setting as it is now, with the preset and the answers over it, so that
	 * RustMail_Settings_Store::save() keeps what the setup did not ask. An empty secret keeps the saved one there.
	 */
	private static function settings_input( $preset, array $answers, $direct ) {
		$input = array();
		foreach ( RustMail_Settings_Schema::keys() as $key => $type ) {
			if ( 'secret' !== $type ) {
				$input[ $key ] = RustMail_Settings_Store::get( $key );
			}
		}
		$input['preset'] = $preset;
		if ( 'custom' === $preset ) {
			$input['api'] = ''; // The setup's Custom asks for an SMTP server's fields; an API is chosen on the settings page.
		}
		foreach ( RustMail_Settings_Presets::all()[ $preset ]['values'] as $key => $value ) {
			$input[ $key ] = $value;
		}
		$input = array_merge( $input, array_diff_key( $answers, array_flip( self::DIRECT_ANSWERS ) ) );
		if ( $direct ) {
			$input['host'] = $direct['host'];
		}
		return $input;
	}

	/** Direct send's lookup as the page shows it: the host, and the SPF record's state in words. */
	private static function direct_for_page( $direct ) {
		if ( ! $direct || '' !== $direct['error'] ) {
			return null;
		}
		$page = array(
			'host'     => $direct['host'],
			'ip'       => $direct['ip'],
			'askIp'    => ! $direct['ip_found'],
			'spf'      => $direct['spf'],
			'spfState' => '',
			'spfText'  => '',
			'record'   => '',
		);
		if ( null === $direct['judgement'] ) {
			$page['spfText'] = __( 'This site\'s public IP address could not be found from here, so the domain\'s SPF record cannot be checked: type it below.', 'rust-mail' );
			return $page;
		}
		$judgement        = $direct['judgement'];
		$page['spfState'] = $judgement['status'];
		$page['record']   = $judgement['record'];
		switch ( $judgement['status'] ) {
			case 'allowed':
				/* translators: %s: IP address */
				$text = __( 'The domain\'s SPF record allows %s: Microsoft 365 will not take this site\'s mail for spoofing.', 'rust-mail' );
				break;
			case 'missing':
				/* translators: %s: IP address */
				$text = __( 'The domain has no SPF record, so Microsoft 365 may file this site\'s mail (from %s) as spoofed or junk. Add this TXT record on the domain at your DNS host:', 'rust-mail' );
				break;
			case 'several':
				/* translators: %s: IP address */
				$text = __( 'The domain has more than one SPF record, which receivers treat as an error. Replace them with this one TXT record, which also allows this site (%s):', 'rust-mail' );
				break;
			default:
				/* translators: %s: IP address */
				$text = __( 'The domain\'s SPF record does not name this site\'s address (%s), so Microsoft 365 may file its mail as spoofed or junk. Change the record at your DNS host to:', 'rust-mail' );
		}
		$page['spfText'] = sprintf( $text, $direct['ip'] );
		return $page;
	}
}
