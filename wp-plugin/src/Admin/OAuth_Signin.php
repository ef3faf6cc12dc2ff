<?php
/**
 * Sign in with Microsoft / Google on the settings page: starting the authorization code flow (PKCE, S256), taking the
 * browser back from the provider, Disconnect, and what the admin is told about the sign-in (the settings page, an
 * admin notice and a Site Health test when the provider no longer accepts it).
 *
 * Starting and completing a sign-in, and Disconnect, need the plugin's capability first. Then starting and Disconnect
 * check their nonce; completing checks the `state` the start kept for this user and this login session: random,
 * single use, valid ten minutes. It is the flow's nonce: the provider sends it back with the code.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Admin_OAuth_Signin {

	/** admin-post.php actions, each with a nonce of the same name. */
	const ACTION_START      = 'rust_mail_oauth_signin';
	const ACTION_DISCONNECT = 'rust_mail_oauth_disconnect';

	/** The sign-in under way, per user: state, PKCE verifier, provider, session, expiry. */
	const PENDING_META = 'rust_mail_oauth_pending';

	/** The outcome of a sign-in, for the next page this user sees. */
	const NOTICE_META = 'rust_mail_oauth_notice';

	/** Seconds a started sign-in may take. */
	const PENDING_SECONDS = 600;

	public static function register() {
		add_action( 'admin_post_' . self::ACTION_START, array( __CLASS__, 'handle_start' ) );
		add_action( 'admin_post_' . self::ACTION_DISCONNECT, array( __CLASS__, 'handle_disconnect' ) );
		// The provider's redirect: admin-post.php without an action (the redirect URI may not have a query string).
		add_action( 'admin_post', array( __CLASS__, 'handle_callback' ) );
		add_action( is_multisite() ? 'network_admin_notices' : 'admin_notices', array( __CLASS__, 'show_notices' ) );
	}

	/** "Sign in with ...": keeps a state and a PKCE verifier for this user and session, sends the browser to the provider. */
	public static function handle_start() {
		RustMail_Admin_Pages::require_capability();
		check_admin_referer( self::ACTION_START );
		$provider = isset( $_POST['provider'] ) ? sanitize_key( wp_unslash( $_POST['provider'] ) ) : '';
		if ( ! isset( RustMail_OAuth_Grant::providers()[ $provider ] ) ) {
			wp_die( esc_html__( 'Unknown sign-in provider.', 'rust-mail' ), 400 );
		}
		if ( '' === trim( (string) RustMail_Settings_Store::get( 'oauth_client_id' ) ) ) {
			self::finish( 'error', __( 'Enter the client ID (and client secret) of your app registration under OAuth2 and save the settings first; then sign in.', 'rust-mail' ) );
		}
		$key_problem = RustMail_Settings_Secrets::key_problem();
		if ( '' !== $key_problem ) {
			self::finish( 'error', $key_problem );
		}
		$state    = RustMail_OAuth_Grant::random();
		$verifier = RustMail_OAuth_Grant::random();
		update_user_meta(
			get_current_user_id(),
			self::PENDING_META,
			array(
				'state'    => $state,
				'verifier' => $verifier,
				'provider' => $provider,
				'tenant'   => RustMail_OAuth_Grant::tenant(),
				'session'  => self::session(),
				'expires'  => time() + self::PENDING_SECONDS,
			)
		);
		// The provider's own page, at an address fixed in code (or a constant): not wp_safe_redirect()'s own hosts.
		wp_redirect( RustMail_OAuth_Grant::sign_in_url( $provider, $state, $verifier ) ); // phpcs:ignore WordPress.Security.SafeRedirect.wp_redirect_wp_redirect
		exit;
	}

	/** A hash of this login session's token: a state taken from another session (or user) does not match. */
	private static function session() {
		return hash( 'sha256', get_current_user_id() . '|' . wp_get_session_token() );
	}

	/**
	 * The provider sent the browser back with `code` and `state` (or `error`): checks the state, trades the code for
	 * the tokens, keeps the sign-in and fills the user name with the mailbox's address.
	 */
	public static function handle_callback() {
		// phpcs:disable WordPress.Security.NonceVerification.Recommended -- the state is this flow's nonce, checked below.
		if ( ! isset( $_GET['state'] ) ) {
			return; // Not a sign-in: some other plugin's admin-post.php request without an action.
		}
		RustMail_Admin_Pages::require_capability();
		$state   = sanitize_text_field( wp_unslash( $_GET['state'] ) );
		$user    = get_current_user_id();
		$pending = get_user_meta( $user, self::PENDING_META, true );
		$valid   = is_array( $pending ) && is_string( $pending['state'] ?? null ) && hash_equals( $pending['state'], $state )
			&& hash_equals( (string) $pending['session'], self::session() ) && (int) $pending['expires'] >= time();
		// Single use: of two requests with the same state, only the one that deletes it goes on.
		if ( ! $valid || ! delete_user_meta( $user, self::PENDING_META, $pending ) ) {
			self::finish( 'error', __( 'The sign-in was refused: it was not started from this browser session, it took longer than ten minutes, or its answer was already used. Sign in again.', 'rust-mail' ) );
		}
		$label = RustMail_OAuth_Grant::providers()[ $pending['provider'] ]['label'];
		if ( isset( $_GET['error'] ) ) {
			$reason = sanitize_text_field( wp_unslash( $_GET['error_description'] ?? $_GET['error'] ) );
			// A consent an administrator must give, a wrong tenant or app: the advice for that, as for a token's refusal.
			$problem = RustMail_OAuth_Exception::problem_of_answer(
				array(
					'error'             => sanitize_key( wp_unslash( $_GET['error'] ) ),
					'error_description' => $reason,
				)
			);
			$advice  = '' === $problem ? '' : ' ' . implode( ' ', RustMail_OAuth_Exception::advice_for( 'oauth', $problem ) );
			/* translators: 1: Microsoft or Google, 2: the reason it gave */
			self::finish( 'error', sprintf( __( '%1$s did not sign you in: %2$s', 'rust-mail' ), $label, $reason ) . $advice );
		}
		$code = isset( $_GET['code'] ) && is_string( $_GET['code'] ) ? wp_unslash( $_GET['code'] ) : '';
		// phpcs:enable
		if ( ! preg_match( '/^[\x21-\x7e]{1,4096}$/', $code ) ) {
			self::finish( 'error', __( 'The sign-in came back without a valid authorization code. Sign in again.', 'rust-mail' ) );
		}
		try {
			$tokens = RustMail_OAuth_Grant::exchange( $pending['provider'], $code, $pending['verifier'], $pending['tenant'] );
		} catch ( RustMail_OAuth_Exception $e ) {
			/* translators: %s: why */
			self::finish( 'error', sprintf( __( 'The sign-in could not be completed: %s', 'rust-mail' ), $e->getMessage() ) . ' ' . implode( ' ', $e->advice() ) );
		}
		$grant_id = RustMail_OAuth_Grant::save( $pending['provider'], $tokens['refresh_token'], $tokens['account'], $pending['tenant'], $tokens['scope'] );
		if ( null === $grant_id ) {
			self::finish( 'error', RustMail_Settings_Secrets::key_problem() );
		}
		RustMail_OAuth_Token::cache_token( $tokens['access_token'], $tokens['expires_in'], $grant_id );
		$settings = array( 'auth' => 'xoauth2' );
		if ( '' !== $tokens['account'] ) {
			$settings['username'] = $tokens['account'];
		}
		RustMail_Settings_Store::update( $settings );
		$who = '' !== $tokens['account'] ? $tokens['account'] : __( 'an account that did not say its address (enter it as the user name)', 'rust-mail' );
		/* translators: 1: Microsoft or Google, 2: the mailbox address */
		self::finish( 'success', sprintf( __( 'Signed in with %1$s as %2$s. Mail now goes out through XOAUTH2 with this mailbox\'s tokens.', 'rust-mail' ), $label, $who ) );
	}

	/** Disconnect: the provider revokes the refresh token where it can, then the site forgets the sign-in either way. */
	public static function handle_disconnect() {
		RustMail_Admin_Pages::require_capability();
		check_admin_referer( self::ACTION_DISCONNECT );
		$type    = 'success';
		$message = __( 'Disconnected: the site no longer keeps the mailbox\'s sign-in.', 'rust-mail' );
		try {
			$revoked = RustMail_OAuth_Grant::revoke();
			if ( true === $revoked ) {
				$message .= ' ' . __( 'Google revoked it too: its tokens no longer work anywhere.', 'rust-mail' );
			} elseif ( false === $revoked ) {
				$type     = 'warning';
				$message .= ' ' . self::microsoft_keeps_token();
			}
		} catch ( RustMail_OAuth_Exception $e ) {
			$type = 'warning';
			/* translators: %s: why the revocation failed */
			$message .= ' ' . sprintf( __( 'But Google did not confirm that it revoked it (%s): remove the app\'s access under Security > Your connections to third-party apps & services in the Google Account.', 'rust-mail' ), $e->getMessage() );
		}
		RustMail_OAuth_Grant::forget();
		self::finish( $type, $message );
	}

	/** What becomes of a Microsoft sign-in's refresh token after Disconnect, and how to end it. */
	private static function microsoft_keeps_token() {
		return __( 'Microsoft offers apps no way to revoke a refresh token: the one the site held stays valid until it expires (90 days unused). To end it now, remove the app at account.live.com/consent/Manage (Outlook.com), or have an administrator revoke the user\'s sessions in Microsoft Entra ID (work or school accounts).', 'rust-mail' );
	}

	/** Back to the settings page with a message. */
	private static function finish( $type, $message ) {
		update_user_meta( get_current_user_id(), self::NOTICE_META, array( 'type' => $type, 'message' => $message, 'expires' => time() + 5 * MINUTE_IN_SECONDS ) );
		wp_safe_redirect( RustMail_Admin_Pages::settings_url() );
		exit;
	}

	/** A revoked sign-in on every admin page (its mail fails until then); the outcome of the last sign-in once. */
	public static function show_notices() {
		if ( ! current_user_can( RustMail_Admin_Pages::capability() ) ) {
			return;
		}
		$revoked = self::revoked_message();
		if ( '' !== $revoked ) {
			self::notice( 'error', 'Rust Mail: ' . $revoked, true );
		}
		$notice = get_user_meta( get_current_user_id(), self::NOTICE_META, true );
		if ( is_array( $notice ) ) {
			delete_user_meta( get_current_user_id(), self::NOTICE_META );
			if ( (int) ( $notice['expires'] ?? 0 ) >= time() ) {
				self::notice( (string) $notice['type'], (string) $notice['message'], false );
			}
		}
	}

	private static function notice( $type, $message, $link ) {
		echo '<div class="notice notice-' . esc_attr( $type ) . ' rust-mail-oauth-notice"><p>' . esc_html( $message );
		if ( $link ) {
			echo ' <a href="' . esc_url( RustMail_Admin_Pages::settings_url() . '#rust-mail-oauth-section' ) . '">' . esc_html__( 'Sign in again', 'rust-mail' ) . '</a>';
		}
		echo '</p></div>';
	}

	/** Why the sign-in no longer works, with the advice to sign in again, or '' when it works (or there is none). */
	public static function revoked_message() {
		$grant = RustMail_OAuth_Grant::get();
		return null === $grant ? '' : (string) $grant['revoked'];
	}

	/** "Signed in with Microsoft as ...; token last renewed ...". */
	public static function connection_text( array $grant ) {
		$label = RustMail_OAuth_Grant::providers()[ $grant['provider'] ?? '' ]['label'] ?? '';
		return sprintf(
			/* translators: 1: Microsoft or Google, 2: mailbox address, 3: date and time, 4: date and time */
			__( 'Signed in with %1$s as %2$s on %3$s; access token last renewed %4$s.', 'rust-mail' ),
			$label,
			'' !== (string) $grant['account'] ? (string) $grant['account'] : __( '(address not given)', 'rust-mail' ),
			wp_date( get_option( 'date_format' ) . ' H:i:s', (int) $grant['connected'] ),
			wp_date( get_option( 'date_format' ) . ' H:i:s', (int) $grant['refreshed'] )
		);
	}

	/**
	 * The sign-in row of the settings page's OAuth2 section: who is connected (never a token), or the buttons, and
	 * the redirect URI to register. The buttons submit the forms of render_forms() (a form cannot sit in the settings form).
	 */
	public static function render_controls() {
		$grant = RustMail_OAuth_Grant::get();
		echo '<div id="rust-mail-oauth-signin">';
		if ( null !== $grant ) {
			$revoked = self::revoked_message();
			printf(
				'<p class="rust-mail-oauth-connection %s"><strong>%s</strong></p>',
				esc_attr( '' !== $revoked ? 'rust-mail-oauth-revoked' : 'rust-mail-oauth-connected' ),
				esc_html( '' !== $revoked ? $revoked : self::connection_text( $grant ) )
			);
			printf( '<button type="submit" class="button" form="rust-mail-oauth-disconnect-form">%s</button> ', esc_html__( 'Disconnect', 'rust-mail' ) );
			$revokes = '' !== ( RustMail_OAuth_Grant::providers()[ $grant['provider'] ]['revoke_key'] ?? '' );
			printf(
				'<p class="description rust-mail-oauth-disconnect-note">%s</p>',
				esc_html( $revokes ? __( 'Disconnect also asks Google to revoke the sign-in.', 'rust-mail' ) : __( 'Disconnect only makes the site forget the sign-in.', 'rust-mail' ) . ' ' . self::microsoft_keeps_token() )
			);
		}
		foreach ( RustMail_OAuth_Grant::providers() as $provider => $definition ) {
			printf(
				'<button type="submit" class="button %s" form="rust-mail-oauth-signin-form" name="provider" value="%s" id="%s">%s</button> ',
				esc_attr( null === $grant ? 'button-primary' : '' ),
				esc_attr( $provider ),
				esc_attr( 'rust-mail-signin-' . $provider ),
				/* translators: %s: Microsoft or Google */
				esc_html( sprintf( null === $grant ? __( 'Sign in with %s', 'rust-mail' ) : __( 'Sign in again with %s', 'rust-mail' ), $definition['label'] ) )
			);
		}
		echo '</div>';
		echo '<p class="description">' . esc_html__( 'For a mailbox that signs in itself (Outlook.com, Gmail, Google Workspace, or Microsoft 365 without an app-only registration): save the client ID and secret of your app registration above, then sign in. Register this redirect URI with the app (a "Web" platform at Microsoft, a "Web application" client at Google), with the scopes https://outlook.office.com/SMTP.Send and offline_access (Microsoft) or https://mail.google.com/ (Google):', 'rust-mail' ) . ' <code id="rust-mail-oauth-redirect-uri">' . esc_html( RustMail_OAuth_Grant::redirect_uri() ) . '</code></p>';
	}

	/** The forms the sign-in buttons submit, printed after the settings form. */
	public static function render_forms() {
		$forms = array(
			'rust-mail-oauth-signin-form'     => self::ACTION_START,
			'rust-mail-oauth-disconnect-form' => self::ACTION_DISCONNECT,
		);
		foreach ( $forms as $id => $action ) {
			printf( '<form method="post" action="%s" id="%s" hidden>', esc_url( admin_url( 'admin-post.php' ) ), esc_attr( $id ) );
			printf( '<input type="hidden" name="action" value="%s" />', esc_attr( $action ) );
			wp_nonce_field( $action );
			echo '</form>';
		}
	}
}
