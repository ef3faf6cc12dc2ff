<?php
/**
 * The settings page: presets, server fields, sender, log options, test mail and diagnosis.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

$rust_mail_presets = RustMail_Settings_Presets::all();
$rust_mail_current = RustMail_Settings_Store::get( 'preset' );

$rust_mail_choice_labels = array(
	'security'        => array(
		'none'          => __( 'None (plain text)', 'rust-mail' ),
		'starttls'      => __( 'STARTTLS (required)', 'rust-mail' ),
		'opportunistic' => __( 'STARTTLS when offered', 'rust-mail' ),
		'tls'           => __( 'TLS from the start (port 465)', 'rust-mail' ),
	),
	'auth'            => array(
		'none'    => __( 'No login', 'rust-mail' ),
		'login'   => __( 'LOGIN', 'rust-mail' ),
		'plain'   => __( 'PLAIN', 'rust-mail' ),
		'xoauth2' => __( 'OAuth2 token (XOAUTH2)', 'rust-mail' ),
		'auto'    => __( 'Whatever the server offers', 'rust-mail' ),
	),
	'tls_min_version' => array(
		'1.2' => __( 'TLS 1.2', 'rust-mail' ),
		'1.3' => __( 'TLS 1.3', 'rust-mail' ),
	),
	'delivery'        => array(
		'queued'    => __( 'Queued (recommended)', 'rust-mail' ),
		'immediate' => __( 'Immediate', 'rust-mail' ),
	),
);

// Each field: label, control (text, email, number, select, checkbox, password), description.
$rust_mail_sections = array(
	__( 'Mail server', 'rust-mail' ) => array(
		'host'                => array( __( 'Host', 'rust-mail' ), 'text', __( 'Name or IP address of the SMTP server.', 'rust-mail' ) ),
		'port'                => array( __( 'Port', 'rust-mail' ), 'number', __( 'Usually 587 (STARTTLS), 465 (TLS) or 25.', 'rust-mail' ) ),
		'security'            => array( __( 'Encryption', 'rust-mail' ), 'select', '' ),
		'auth'                => array( __( 'Authentication', 'rust-mail' ), 'select', '' ),
		'username'            => array( __( 'User name', 'rust-mail' ), 'text', '' ),
		'password'            => array( __( 'Password', 'rust-mail' ), 'password', __( 'Stored encrypted with a key from wp-config.php; never shown again.', 'rust-mail' ) ),
	),
	// Shown by settings.js only while the authentication is XOAUTH2.
	__( 'OAuth2 app (Microsoft 365, Outlook.com, Google)', 'rust-mail' ) => array(
		'oauth_tenant'        => array( __( 'Tenant ID', 'rust-mail' ), 'text', __( 'Directory (tenant) ID of your Microsoft Entra ID, or its domain such as contoso.onmicrosoft.com. With these three filled in, the plugin fetches the OAuth2 token itself and the password field is not used; the user name stays the mailbox address. For a sign-in below it may stay empty (common: any Microsoft account); consumers limits it to Outlook.com accounts; Google does not use it.', 'rust-mail' ) ),
		'oauth_client_id'     => array( __( 'Client ID', 'rust-mail' ), 'text', __( 'Application (client) ID of the app registration.', 'rust-mail' ) ),
		'oauth_client_secret' => array( __( 'Client secret', 'rust-mail' ), 'password', __( 'The secret\'s value (not its ID). Stored encrypted with a key from wp-config.php; never shown again.', 'rust-mail' ) ),
		'oauth_token_url'     => array( __( 'Token URL', 'rust-mail' ), 'static', __( 'Where the token is fetched; only RUST_MAIL_OAUTH_TOKEN_URL in wp-config.php changes it (for example for login.microsoftonline.us).', 'rust-mail' ) ),
		'oauth_signin'        => array( __( 'Mailbox sign-in', 'rust-mail' ), 'signin', '' ),
	),
	__( 'Sender', 'rust-mail' )      => array(
		'from'                => array( __( 'From address', 'rust-mail' ), 'email', __( 'Replaces WordPress\'s default wordpress@ address.', 'rust-mail' ) ),
		'from_name'           => array( __( 'From name', 'rust-mail' ), 'text', __( 'Replaces the default name "WordPress".', 'rust-mail' ) ),
		'force_from'          => array( __( 'Force From', 'rust-mail' ), 'checkbox', __( 'Use this From address and name for all mail, even when a plugin sets its own (for example to send as support@ through another mailbox\'s login).', 'rust-mail' ) ),
	),
	__( 'Advanced', 'rust-mail' )    => array(
		'timeout'             => array( __( 'Timeout (seconds)', 'rust-mail' ), 'number', '' ),
		'tls_min_version'     => array( __( 'Minimum TLS version', 'rust-mail' ), 'select', '' ),
		'verify_peer'         => array( __( 'Verify certificate', 'rust-mail' ), 'checkbox', __( 'Check that the server\'s certificate is valid and names the host.', 'rust-mail' ) ),
		'ca_file'             => array( __( 'CA file', 'rust-mail' ), 'text', __( 'Path to extra trusted certificates (PEM), for a server with a private CA.', 'rust-mail' ) ),
		'helo'                => array( __( 'HELO name', 'rust-mail' ), 'text', __( 'Name to greet the server with; empty uses this machine\'s name.', 'rust-mail' ) ),
		'pool'                => array( __( 'Reuse connections', 'rust-mail' ), 'checkbox', __( 'Keep the connection open for the next mail from the same PHP process.', 'rust-mail' ) ),
		'allow_insecure_auth' => array( __( 'Allow login without encryption', 'rust-mail' ), 'checkbox', __( 'Send the password over an unencrypted connection. Only for a server on this machine.', 'rust-mail' ) ),
	),
	__( 'Delivery', 'rust-mail' )    => array(
		'delivery'            => array( __( 'Delivery', 'rust-mail' ), 'select', __( 'Queued: WordPress gets "sent" as soon as the message is safely stored, the page does not wait for the server, and a server that is down, slow or throttling is tried again later. Immediate: the page waits for the server, and a failure is final, as in WordPress without this plugin.', 'rust-mail' ) ),
		'retry_hours'         => array( __( 'Keep retrying for (hours)', 'rust-mail' ), 'number', __( 'Queued mail refused for a while (4xx replies, no connection) is retried, less and less often, for this long.', 'rust-mail' ) ),
		'alert_mail'          => array( __( 'Alert mail', 'rust-mail' ), 'checkbox', __( 'Mail the site administrator (at most once an hour, through the fallback connection when there is one) when mail fails or is stuck.', 'rust-mail' ) ),
	),
	__( 'Fallback connection', 'rust-mail' ) => array(
		'fallback_host'       => array( __( 'Host', 'rust-mail' ), 'text', __( 'A second server, used when the first one fails for a while or is over its limits. Empty: none.', 'rust-mail' ) ),
		'fallback_port'       => array( __( 'Port', 'rust-mail' ), 'number', '' ),
		'fallback_security'   => array( __( 'Encryption', 'rust-mail' ), 'select', '' ),
		'fallback_auth'       => array( __( 'Authentication', 'rust-mail' ), 'select', '' ),
		'fallback_username'   => array( __( 'User name', 'rust-mail' ), 'text', '' ),
		'fallback_password'   => array( __( 'Password', 'rust-mail' ), 'password', '' ),
	),
	__( 'Rate limits', 'rust-mail' ) => array(
		'rate_per_minute'              => array( __( 'Messages a minute', 'rust-mail' ), 'number', __( 'The most the server takes; 0 for no limit. Mail over a limit waits in the outbox instead of failing. The Microsoft 365 preset fills in Microsoft\'s limits (30 a minute, 10,000 recipients a day).', 'rust-mail' ) ),
		'rate_per_day'                 => array( __( 'Messages a day', 'rust-mail' ), 'number', '' ),
		'recipients_per_day'           => array( __( 'Recipients a day', 'rust-mail' ), 'number', '' ),
		'fallback_rate_per_minute'     => array( __( 'Fallback: messages a minute', 'rust-mail' ), 'number', '' ),
		'fallback_rate_per_day'        => array( __( 'Fallback: messages a day', 'rust-mail' ), 'number', '' ),
		'fallback_recipients_per_day'  => array( __( 'Fallback: recipients a day', 'rust-mail' ), 'number', '' ),
	),
	__( 'Connection log', 'rust-mail' ) => array(
		'retention_days'      => array( __( 'Keep entries for (days)', 'rust-mail' ), 'number', '' ),
		'log_bodies'          => array( __( 'Store message bodies', 'rust-mail' ), 'checkbox', __( 'Off by default: bodies contain password-reset links and other secrets.', 'rust-mail' ) ),
	),
);

/**
 * Prints one field's control, or its fixed value when a constant sets it.
 */
$rust_mail_field = static function ( $key, $control ) use ( $rust_mail_choice_labels ) {
	if ( 'signin' === $control ) {
		RustMail_Admin_OAuth_Signin::render_controls();
		return;
	}
	$name  = 'rust_mail[' . $key . ']';
	$id    = 'rust-mail-' . str_replace( '_', '-', $key );
	$fixed = RustMail_Settings_Store::is_fixed_by_constant( $key );
	$value = 'password' === $control ? '' : RustMail_Settings_Store::get( $key );

	switch ( $control ) {
		case 'checkbox':
			printf( '<input type="checkbox" id="%s" name="%s" value="1" %s %s />', esc_attr( $id ), esc_attr( $name ), checked( (bool) $value, true, false ), disabled( $fixed, true, false ) );
			break;
		case 'select':
			printf( '<select id="%s" name="%s" %s>', esc_attr( $id ), esc_attr( $name ), disabled( $fixed, true, false ) );
			// The choices the settings accept (for the server's keys: the extension's); a choice without a label shows as it is.
			foreach ( RustMail_Settings_Schema::choices( $key ) as $choice ) {
				$label = $rust_mail_choice_labels[ RustMail_Settings_Schema::base_key( $key ) ][ $choice ] ?? $choice;
				printf( '<option value="%s" %s>%s</option>', esc_attr( $choice ), selected( (string) $value, $choice, false ), esc_html( $label ) );
			}
			echo '</select>';
			break;
		case 'password':
			$placeholder = RustMail_Settings_Store::has_saved_password( $key ) ? __( 'saved (leave empty to keep)', 'rust-mail' ) : '';
			printf( '<input type="password" class="regular-text" id="%s" name="%s" value="" autocomplete="new-password" placeholder="%s" %s />', esc_attr( $id ), esc_attr( $name ), esc_attr( $placeholder ), disabled( $fixed, true, false ) );
			if ( ! $fixed && RustMail_Settings_Store::has_saved_password( $key ) ) {
				$forget = 'password' === RustMail_Settings_Schema::base_key( $key ) ? __( 'Forget the saved password', 'rust-mail' ) : __( 'Forget the saved client secret', 'rust-mail' );
				printf( ' <label><input type="checkbox" name="%s" value="1" /> %s</label>', esc_attr( 'rust_mail[forget_' . $key . ']' ), esc_html( $forget ) );
			}
			break;
		case 'static':
			printf( '<code id="%s">%s</code>', esc_attr( $id ), esc_html( (string) $value ) );
			break;
		default:
			$class = 'number' === $control ? 'small-text' : 'regular-text';
			printf( '<input type="%s" class="%s" id="%s" name="%s" value="%s" %s />', esc_attr( $control ), esc_attr( $class ), esc_attr( $id ), esc_attr( $name ), esc_attr( (string) $value ), disabled( $fixed, true, false ) );
	}
	if ( $fixed ) {
		/* translators: %s: constant name such as RUST_MAIL_HOST */
		printf( ' <span class="description rust-mail-fixed">%s</span>', esc_html( sprintf( __( 'Set by %s in wp-config.php.', 'rust-mail' ), RustMail_Settings_Schema::constant_name( $key ) ) ) );
	}
};
?>
<div class="wrap" id="rust-mail-settings">
	<h1><?php esc_html_e( 'Rust Mail settings', 'rust-mail' ); ?></h1>

	<p>
		<?php
		if ( RustMail_Mail_Router::is_routing() && RustMail_Transport_Extension::is_available() ) {
			esc_html_e( 'Status: every mail WordPress sends goes through the rust_mail extension to the server below.', 'rust-mail' );
		} elseif ( RustMail_Mail_Router::is_routing() ) {
			esc_html_e( 'Status: every mail WordPress sends goes through PHPMailer\'s SMTP client to the server below (the rust_mail extension is not loaded).', 'rust-mail' );
		} else {
			esc_html_e( 'Status: not routing mail; WordPress sends mail the usual way.', 'rust-mail' );
		}
		?>
		<a href="<?php echo esc_url( RustMail_Log_Store::url() ); ?>"><?php esc_html_e( 'Connection log', 'rust-mail' ); ?></a>
	</p>

	<div id="rust-mail-engine" class="notice inline <?php echo RustMail_Transport_Extension::is_available() ? 'notice-success' : 'notice-info'; ?>">
		<p><strong><?php esc_html_e( 'Engine:', 'rust-mail' ); ?></strong> <?php echo esc_html( RustMail_Transport_Registry::label( RustMail_Transport_Registry::current() ) ); ?>. <?php echo esc_html( RustMail_Transport_Registry::reason() ); ?></p>
		<?php if ( ! RustMail_Transport_Extension::is_available() ) : ?>
			<p><?php esc_html_e( 'The extension would add:', 'rust-mail' ); ?></p>
			<ul class="ul-disc">
				<?php foreach ( RustMail_Transport_Extension::benefits() as $rust_mail_benefit ) : ?>
					<li><?php echo esc_html( $rust_mail_benefit ); ?></li>
				<?php endforeach; ?>
			</ul>
			<p><?php esc_html_e( 'To install it:', 'rust-mail' ); ?></p>
			<ol>
				<?php foreach ( RustMail_Transport_Extension::install_steps() as $rust_mail_step ) : ?>
					<li><?php echo esc_html( $rust_mail_step ); ?></li>
				<?php endforeach; ?>
			</ol>
		<?php endif; ?>
	</div>

	<?php if ( RustMail_Settings_Store::fixed_keys() ) : ?>
		<div class="notice notice-info inline"><p>
			<?php
			/* translators: %s: list of constant names */
			echo esc_html( sprintf( __( 'These settings are fixed in wp-config.php and cannot be changed here: %s', 'rust-mail' ), implode( ', ', array_map( array( 'RustMail_Settings_Schema', 'constant_name' ), RustMail_Settings_Store::fixed_keys() ) ) ) );
			?>
		</p></div>
	<?php endif; ?>

	<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
		<input type="hidden" name="action" value="<?php echo esc_attr( RustMail_Admin_Actions::ACTION_SAVE ); ?>" />
		<?php wp_nonce_field( RustMail_Admin_Actions::ACTION_SAVE ); ?>

		<h2><?php esc_html_e( 'Preset', 'rust-mail' ); ?></h2>
		<fieldset id="rust-mail-presets">
			<legend class="screen-reader-text"><?php esc_html_e( 'Preset', 'rust-mail' ); ?></legend>
			<?php foreach ( $rust_mail_presets as $rust_mail_name => $rust_mail_preset ) : ?>
				<p>
					<label>
						<input type="radio" name="rust_mail[preset]" value="<?php echo esc_attr( $rust_mail_name ); ?>" <?php checked( $rust_mail_current, $rust_mail_name ); ?> />
						<strong><?php echo esc_html( $rust_mail_preset['label'] ); ?></strong>
					</label><br />
					<span class="description"><?php echo esc_html( $rust_mail_preset['description'] ); ?></span>
				</p>
			<?php endforeach; ?>
		</fieldset>

		<?php foreach ( $rust_mail_sections as $rust_mail_title => $rust_mail_fields ) : ?>
			<div<?php echo isset( $rust_mail_fields['oauth_tenant'] ) ? ' id="rust-mail-oauth-section"' : ''; ?>>
			<h2><?php echo esc_html( $rust_mail_title ); ?></h2>
			<table class="form-table" role="presentation">
				<?php foreach ( $rust_mail_fields as $rust_mail_key => $rust_mail_def ) : ?>
					<tr>
						<th scope="row"><label for="<?php echo esc_attr( 'rust-mail-' . str_replace( '_', '-', $rust_mail_key ) ); ?>"><?php echo esc_html( $rust_mail_def[0] ); ?></label></th>
						<td>
							<?php $rust_mail_field( $rust_mail_key, $rust_mail_def[1] ); ?>
							<?php if ( '' !== $rust_mail_def[2] ) : ?>
								<p class="description"><?php echo esc_html( $rust_mail_def[2] ); ?></p>
							<?php endif; ?>
						</td>
					</tr>
				<?php endforeach; ?>
			</table>
			</div>
		<?php endforeach; ?>

		<?php submit_button( __( 'Save settings', 'rust-mail' ) ); ?>
	</form>
	<?php RustMail_Admin_OAuth_Signin::render_forms(); ?>

	<hr />
	<h2><?php esc_html_e( 'Send a test mail', 'rust-mail' ); ?></h2>
	<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" id="rust-mail-test-form">
		<input type="hidden" name="action" value="<?php echo esc_attr( RustMail_Admin_Actions::ACTION_TEST ); ?>" />
		<?php wp_nonce_field( RustMail_Admin_Actions::ACTION_TEST ); ?>
		<label for="rust-mail-test-to"><?php esc_html_e( 'Send to', 'rust-mail' ); ?></label>
		<input type="email" class="regular-text" id="rust-mail-test-to" name="test_to" value="<?php echo esc_attr( wp_get_current_user()->user_email ); ?>" />
		<?php submit_button( __( 'Send test mail', 'rust-mail' ), 'secondary', 'send_test', false ); ?>
	</form>

	<hr />
	<h2 id="rust-mail-diagnosis"><?php esc_html_e( 'Diagnose the connection', 'rust-mail' ); ?></h2>
	<?php if ( ! RustMail_Transport_Extension::diagnose_available() ) : ?>
		<p id="rust-mail-diagnose-unavailable">
			<?php esc_html_e( 'Diagnose walks the connection step by step with the rust_mail extension, which is not loaded in this PHP. Send test mail above still says what went wrong, in the same words.', 'rust-mail' ); ?>
			<a href="#rust-mail-engine"><?php esc_html_e( 'How to install the extension', 'rust-mail' ); ?></a>
		</p>
		<?php submit_button( __( 'Diagnose', 'rust-mail' ), 'secondary', 'diagnose', false, array( 'disabled' => 'disabled', 'aria-describedby' => 'rust-mail-diagnose-unavailable' ) ); ?>
	<?php else : ?>
		<p><?php esc_html_e( 'Connects to the saved server step by step (name lookup, ports, greeting, encryption, login) without sending mail, and says what is wrong.', 'rust-mail' ); ?></p>
		<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" id="rust-mail-diagnose-form">
			<input type="hidden" name="action" value="<?php echo esc_attr( RustMail_Admin_Actions::ACTION_DIAGNOSE ); ?>" />
			<?php wp_nonce_field( RustMail_Admin_Actions::ACTION_DIAGNOSE ); ?>
			<?php submit_button( __( 'Diagnose', 'rust-mail' ), 'secondary', 'diagnose', false ); ?>
		</form>
		<?php
		$rust_mail_diagnosis = isset( $_GET['diagnosis'] ) ? RustMail_Admin_Notices::last_diagnosis() : null; // phpcs:ignore WordPress.Security.NonceVerification -- only chooses whether to show the user's own result.
		if ( is_array( $rust_mail_diagnosis ) ) {
			require __DIR__ . '/diagnosis.php';
		}
		?>
	<?php endif; ?>
</div>
