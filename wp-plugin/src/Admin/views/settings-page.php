<?php
/**
 * The settings page: presets, server fields, sender, log options, connections and routing rules, test mail and
 * diagnosis.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

$rust_mail_presets = RustMail_Settings_Presets::all();
$rust_mail_current = RustMail_Settings_Store::get( 'preset' );
// An explanation's link may propose a preset (basic_auth_retired: the Graph API); it only picks the radio, saving is the form's.
$rust_mail_proposed = isset( $_GET['preset'] ) ? sanitize_key( wp_unslash( $_GET['preset'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification -- only preselects a choice on the form.
if ( isset( $rust_mail_presets[ $rust_mail_proposed ] ) ) {
	$rust_mail_current = $rust_mail_proposed;
}
// The fields of the saved connection's kind: an API hides the SMTP server's and names the user name and password its way.
$rust_mail_api    = (string) RustMail_Settings_Store::get( 'api' );
$rust_mail_fields = RustMail_Settings_Presets::api_fields()[ $rust_mail_api ] ?? RustMail_Settings_Presets::api_fields()[''];

// The values the last save refused, by key, each shown under its field (the notice names them too).
$rust_mail_field_problems = RustMail_Admin_Notices::take_field_problems();

// Each section's fields, in the schema's order.
$rust_mail_sections = array_fill_keys( array_keys( RustMail_Settings_Schema::sections() ), array() );
foreach ( RustMail_Settings_Schema::entries() as $rust_mail_key => $rust_mail_entry ) {
	if ( isset( $rust_mail_entry['section'] ) ) {
		$rust_mail_sections[ $rust_mail_entry['section'] ][ $rust_mail_key ] = $rust_mail_entry;
	}
}
// Not a setting: the mailbox sign-in's buttons, last in the OAuth2 app's section.
$rust_mail_sections['oauth']['oauth_signin'] = array(
	'control' => 'signin',
	'label'   => __( 'Mailbox sign-in', 'rust-mail' ),
);
// Not a setting either: over the Graph API, the lines that limit the app to the mailbox, with the saved values.
if ( 'graph' === $rust_mail_api ) {
	$rust_mail_sections['oauth']['graph_rbac'] = array(
		'control' => 'graph_rbac',
		'label'   => __( 'Limit the app to the mailbox', 'rust-mail' ),
		'help'    => __( 'The application permission Mail.Send lets the app send as any mailbox of the tenant. Run these lines in Exchange Online PowerShell (Connect-ExchangeOnline) so that it may send only as this one (RBAC for Applications); then remove the Mail.Send permission from the app registration, which the role assignment replaces.', 'rust-mail' ),
	);
}

/**
 * Prints one field's control, or its fixed value when a constant sets it.
 */
$rust_mail_field = static function ( $key, array $entry ) {
	$control = $entry['control'];
	if ( 'signin' === $control ) {
		RustMail_Admin_OAuth_Signin::render_controls();
		return;
	}
	if ( 'graph_rbac' === $control ) {
		$lines = RustMail_Settings_Presets::graph_rbac_lines( RustMail_Settings_Store::get( 'username' ), RustMail_Settings_Store::get( 'oauth_client_id' ) );
		if ( $lines ) {
			echo '<pre id="rust-mail-graph-rbac"><code>' . esc_html( implode( "\n", $lines ) ) . '</code></pre>';
		} else {
			echo '<p id="rust-mail-graph-rbac">' . esc_html__( 'Save the mailbox (user name) and the client ID first: the lines are filled in with them.', 'rust-mail' ) . '</p>';
		}
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
			$choices = $entry['choices'];
			if ( '' === ( $entry['default'] ?? null ) && ! in_array( '', $choices, true ) ) {
				array_unshift( $choices, '' ); // The setting's empty default (`api`: SMTP) is a choice too.
			}
			foreach ( $choices as $choice ) {
				$label = $entry['choice_labels'][ $choice ] ?? $choice;
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
		if ( RustMail_Mail_Router::is_routing() && RustMail_Outbox_Hold::is_on() ) {
			esc_html_e( 'Status: mail is held. WordPress\'s mail is kept in the outbox and not sent until you release it (Rust Mail > Alerts > Hold all mail).', 'rust-mail' );
		} elseif ( RustMail_Mail_Router::is_routing() && RustMail_Transport_Extension::is_available() ) {
			esc_html_e( 'Status: every mail WordPress sends goes through the rust_mail extension to the server below.', 'rust-mail' );
		} elseif ( RustMail_Mail_Router::is_routing() ) {
			esc_html_e( 'Status: every mail WordPress sends goes through PHPMailer\'s SMTP client to the server below (the rust_mail extension is not loaded).', 'rust-mail' );
		} else {
			esc_html_e( 'Status: not routing mail; WordPress sends mail the usual way.', 'rust-mail' );
		}
		?>
		<a href="<?php echo esc_url( RustMail_Log_Store::url() ); ?>"><?php esc_html_e( 'Connection log', 'rust-mail' ); ?></a>
		| <a id="rust-mail-open-setup" href="<?php echo esc_url( RustMail_Admin_Setup_Wizard::url() ); ?>"><?php esc_html_e( 'Run the guided setup', 'rust-mail' ); ?></a>
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

	<?php if ( 'ses' === $rust_mail_api && ! RustMail_Transport_Extension::is_available() ) : ?>
		<div class="notice notice-warning inline" id="rust-mail-ses-needs-extension"><p>
			<?php esc_html_e( 'Amazon SES needs the rust-mail extension: its API requests are signed with AWS Signature Version 4, which the PHPMailer engine does not do, so mail through this connection fails until the extension is loaded. Without it, use Amazon SES\'s SMTP interface (email-smtp.REGION.amazonaws.com, port 587) with the Custom preset.', 'rust-mail' ); ?>
		</p></div>
	<?php endif; ?>

	<?php if ( in_array( $rust_mail_api, array( 'graph', 'gmail', 'mailgun' ), true ) && ! RustMail_Transport_Extension::is_available() ) : ?>
		<div class="notice notice-info inline" id="rust-mail-api-connection-per-mail"><p>
			<?php esc_html_e( 'Without the rust-mail extension, each mail through this API opens a new HTTPS connection, with its own TLS handshake: WordPress\'s HTTP API keeps no connection open between requests. With the extension, one connection carries every mail of a page load or an outbox run.', 'rust-mail' ); ?>
		</p></div>
	<?php endif; ?>

	<?php if ( RustMail_Settings_Store::fixed_keys() ) : ?>
		<div class="notice notice-info inline"><p>
			<?php
			/* translators: %s: list of constant names */
			echo esc_html( sprintf( __( 'These settings are fixed in wp-config.php and cannot be changed here: %s', 'rust-mail' ), implode( ', ', array_map( array( 'RustMail_Settings_Schema', 'constant_name' ), RustMail_Settings_Store::fixed_keys() ) ) ) );
			?>
		</p></div>
	<?php endif; ?>

	<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" id="rust-mail-settings-form">
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
		<?php // Filled by settings.js when a preset switch resets fields: which ones, from what to what. ?>
		<div id="rust-mail-preset-changes" class="notice notice-info inline" role="status" hidden></div>

		<?php foreach ( RustMail_Settings_Schema::sections() as $rust_mail_section => $rust_mail_title ) : ?>
			<div<?php echo 'oauth' === $rust_mail_section ? ' id="rust-mail-oauth-section"' : ''; ?>>
			<h2><?php echo esc_html( $rust_mail_title ); ?></h2>
			<table class="form-table" role="presentation">
				<?php foreach ( $rust_mail_sections[ $rust_mail_section ] as $rust_mail_key => $rust_mail_entry ) : ?>
					<tr data-rust-mail-key="<?php echo esc_attr( $rust_mail_key ); ?>"<?php echo in_array( $rust_mail_key, $rust_mail_fields['hide'], true ) ? ' hidden' : ''; ?>>
						<th scope="row"><label for="<?php echo esc_attr( 'rust-mail-' . str_replace( '_', '-', $rust_mail_key ) ); ?>" data-label="<?php echo esc_attr( $rust_mail_entry['label'] ); ?>"><?php echo esc_html( $rust_mail_fields['labels'][ $rust_mail_key ] ?? $rust_mail_entry['label'] ); ?></label></th>
						<td>
							<?php $rust_mail_field( $rust_mail_key, $rust_mail_entry ); ?>
							<?php if ( isset( $rust_mail_field_problems[ $rust_mail_key ] ) ) : ?>
								<p class="rust-mail-field-problem notice notice-error inline" id="<?php echo esc_attr( 'rust-mail-problem-' . str_replace( '_', '-', $rust_mail_key ) ); ?>"><?php echo esc_html( $rust_mail_field_problems[ $rust_mail_key ] ); ?></p>
							<?php endif; ?>
							<?php if ( isset( $rust_mail_entry['help'] ) ) : ?>
								<p class="description"><?php echo esc_html( $rust_mail_entry['help'] ); ?></p>
							<?php endif; ?>
						</td>
					</tr>
				<?php endforeach; ?>
			</table>
			</div>
		<?php endforeach; ?>

		<p class="submit">
			<?php submit_button( __( 'Save settings', 'rust-mail' ), 'primary', 'submit', false ); ?>
			<span id="rust-mail-unsaved" class="description" hidden><?php esc_html_e( 'The form has changes that are not saved yet.', 'rust-mail' ); ?></span>
		</p>
	</form>
	<?php RustMail_Admin_OAuth_Signin::render_forms(); ?>
	<?php require __DIR__ . '/connections.php'; ?>
	<?php require __DIR__ . '/dkim.php'; ?>

	<hr />
	<h2><?php esc_html_e( 'Send a test mail', 'rust-mail' ); ?></h2>
	<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" id="rust-mail-test-form">
		<input type="hidden" name="action" value="<?php echo esc_attr( RustMail_Admin_Actions::ACTION_TEST ); ?>" />
		<?php wp_nonce_field( RustMail_Admin_Actions::ACTION_TEST ); ?>
		<label for="rust-mail-test-to"><?php esc_html_e( 'Send to', 'rust-mail' ); ?></label>
		<input type="email" class="regular-text" id="rust-mail-test-to" name="test_to" value="<?php echo esc_attr( wp_get_current_user()->user_email ); ?>" />
		<details id="rust-mail-test-content">
			<summary><?php esc_html_e( 'Subject and message (optional)', 'rust-mail' ); ?></summary>
			<p><label for="rust-mail-test-subject"><?php esc_html_e( 'Subject', 'rust-mail' ); ?></label><br />
				<input type="text" class="large-text" id="rust-mail-test-subject" name="test_subject" placeholder="<?php echo esc_attr( sprintf( /* translators: %s: site name */ __( 'Test mail from %s', 'rust-mail' ), get_bloginfo( 'name' ) ) ); ?>" /></p>
			<p><label for="rust-mail-test-body"><?php esc_html_e( 'Message', 'rust-mail' ); ?></label><br />
				<textarea class="large-text" rows="4" id="rust-mail-test-body" name="test_body"></textarea></p>
			<p><label><input type="checkbox" name="test_html" value="1" id="rust-mail-test-html" /> <?php esc_html_e( 'Send the message as HTML (as a shop\'s order mail goes)', 'rust-mail' ); ?></label></p>
		</details>
		<?php submit_button( __( 'Send test mail', 'rust-mail' ), 'secondary', 'send_test', false ); ?>
		<p class="description"><?php esc_html_e( 'Sent with the values in the form above, saved or not; they are not saved by this.', 'rust-mail' ); ?></p>
	</form>
	<div id="rust-mail-test-result" role="status"></div>

	<hr />
	<h2 id="rust-mail-diagnosis"><?php esc_html_e( 'Diagnose the connection', 'rust-mail' ); ?></h2>
	<?php if ( ! RustMail_Transport_Extension::diagnose_available() ) : ?>
		<p id="rust-mail-diagnose-unavailable">
			<?php esc_html_e( 'Diagnose walks the connection step by step with the rust_mail extension, which is not loaded in this PHP. Send test mail above still says what went wrong, in the same words.', 'rust-mail' ); ?>
			<a href="#rust-mail-engine"><?php esc_html_e( 'How to install the extension', 'rust-mail' ); ?></a>
		</p>
		<?php submit_button( __( 'Diagnose', 'rust-mail' ), 'secondary', 'diagnose', false, array( 'disabled' => 'disabled', 'aria-describedby' => 'rust-mail-diagnose-unavailable' ) ); ?>
	<?php else : ?>
		<?php if ( '' !== $rust_mail_api ) : ?>
			<p><?php esc_html_e( 'Connects to the API step by step (name lookup, port, encryption), then reads the access token and whether it may send mail, without sending mail, and says what is wrong.', 'rust-mail' ); ?></p>
		<?php else : ?>
			<p><?php esc_html_e( 'Connects to the server in the form above (saved or not) step by step (name lookup, ports, greeting, encryption, login) without sending mail, and says what is wrong.', 'rust-mail' ); ?></p>
		<?php endif; ?>
		<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" id="rust-mail-diagnose-form">
			<input type="hidden" name="action" value="<?php echo esc_attr( RustMail_Admin_Actions::ACTION_DIAGNOSE ); ?>" />
			<?php wp_nonce_field( RustMail_Admin_Actions::ACTION_DIAGNOSE ); ?>
			<?php $rust_mail_connections = RustMail_Settings_Connections::all(); ?>
			<?php if ( count( $rust_mail_connections ) > 1 ) : ?>
				<label for="rust-mail-diagnose-connection"><?php esc_html_e( 'Connection', 'rust-mail' ); ?></label>
				<select name="connection" id="rust-mail-diagnose-connection">
					<?php foreach ( array_keys( $rust_mail_connections ) as $rust_mail_name ) : ?>
						<option value="<?php echo esc_attr( $rust_mail_name ); ?>"><?php echo esc_html( RustMail_Settings_Connections::label( $rust_mail_name ) . ' (' . RustMail_Settings_Connections::destination( $rust_mail_name ) . ')' ); ?></option>
					<?php endforeach; ?>
				</select>
			<?php endif; ?>
			<?php submit_button( __( 'Diagnose', 'rust-mail' ), 'secondary', 'diagnose', false ); ?>
		</form>
		<div id="rust-mail-diagnose-notice" role="status"></div>
		<?php
		$rust_mail_diagnosis = isset( $_GET['diagnosis'] ) ? RustMail_Admin_Notices::last_diagnosis() : null; // phpcs:ignore WordPress.Security.NonceVerification -- only chooses whether to show the user's own result.
		echo '<div id="rust-mail-diagnosis-result">';
		if ( is_array( $rust_mail_diagnosis ) ) {
			RustMail_Admin_Pages::render_diagnosis( $rust_mail_diagnosis );
		}
		echo '</div>';
		?>
	<?php endif; ?>
</div>
