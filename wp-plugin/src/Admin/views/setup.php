<?php
/**
 * The setup page: a provider, its questions, a test mail. assets/setup.js checks the answers as they are typed and
 * sends them with the test mail (RustMail_Admin_Setup_Wizard's AJAX actions); without it nothing is saved.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

$rust_mail_presets   = RustMail_Settings_Presets::all();
$rust_mail_questions = RustMail_Admin_Setup_Wizard::questions();
$rust_mail_entries   = RustMail_Settings_Schema::entries();
$rust_mail_chosen    = (string) RustMail_Settings_Store::get( 'preset' );
// The login kinds a provider offers, where it offers a choice: Microsoft 365's password or OAuth2 app.
$rust_mail_auth_choices = array(
	'm365'   => array( 'login', 'xoauth2' ),
	'custom' => array( 'none', 'login' ),
);
?>
<div class="wrap" id="rust-mail-setup">
	<h1><?php esc_html_e( 'Set up Rust Mail', 'rust-mail' ); ?></h1>
	<p><?php esc_html_e( 'Three steps: choose who sends your mail, answer a few questions, and send a test mail. Nothing changes until the last step saves your answers; every setting can be changed later on the settings page.', 'rust-mail' ); ?>
		<a href="<?php echo esc_url( RustMail_Admin_Pages::settings_url() ); ?>"><?php esc_html_e( 'Go to the settings page instead', 'rust-mail' ); ?></a></p>

	<form id="rust-mail-setup-form" novalidate>
		<h2><?php esc_html_e( '1. Who sends your mail?', 'rust-mail' ); ?></h2>
		<fieldset id="rust-mail-setup-providers">
			<legend class="screen-reader-text"><?php esc_html_e( 'Provider', 'rust-mail' ); ?></legend>
			<?php foreach ( $rust_mail_questions as $rust_mail_preset => $rust_mail_asked ) : ?>
				<p>
					<label>
						<input type="radio" name="preset" value="<?php echo esc_attr( $rust_mail_preset ); ?>" <?php checked( $rust_mail_chosen, $rust_mail_preset ); ?> />
						<strong><?php echo esc_html( $rust_mail_presets[ $rust_mail_preset ]['label'] ); ?></strong>
					</label>
					<br /><span class="description"><?php echo esc_html( $rust_mail_presets[ $rust_mail_preset ]['description'] ); ?></span>
				</p>
			<?php endforeach; ?>
		</fieldset>

		<h2><?php esc_html_e( '2. Your answers', 'rust-mail' ); ?></h2>
		<p class="rust-mail-setup-pick-first"><?php esc_html_e( 'Choose a provider above: its questions appear here.', 'rust-mail' ); ?></p>
		<?php foreach ( $rust_mail_questions as $rust_mail_preset => $rust_mail_asked ) : ?>
			<div class="rust-mail-setup-questions" data-preset="<?php echo esc_attr( $rust_mail_preset ); ?>" hidden>
				<table class="form-table" role="presentation">
					<?php foreach ( $rust_mail_asked as $rust_mail_key => $rust_mail_question ) : ?>
						<?php
						list( $rust_mail_label, $rust_mail_help ) = RustMail_Admin_Setup_Wizard::question_text( $rust_mail_preset, $rust_mail_key );
						$rust_mail_id      = 'rust-mail-setup-' . $rust_mail_preset . '-' . str_replace( '_', '-', $rust_mail_key );
						$rust_mail_fixed   = ! in_array( $rust_mail_key, RustMail_Admin_Setup_Wizard::DIRECT_ANSWERS, true ) && RustMail_Settings_Store::is_fixed_by_constant( $rust_mail_key );
						$rust_mail_entry   = $rust_mail_entries[ $rust_mail_key ] ?? array();
						$rust_mail_control = $rust_mail_entry['control'] ?? 'text';
						$rust_mail_value   = isset( $rust_mail_entry['type'] ) && 'secret' !== $rust_mail_entry['type'] ? (string) RustMail_Settings_Store::get( $rust_mail_key ) : '';
						if ( 'auth' === $rust_mail_key && ! in_array( $rust_mail_value, $rust_mail_auth_choices[ $rust_mail_preset ], true ) ) {
							$rust_mail_value = $rust_mail_auth_choices[ $rust_mail_preset ][0];
						}
						?>
						<tr class="rust-mail-setup-question form-required" data-key="<?php echo esc_attr( $rust_mail_key ); ?>"
							<?php if ( isset( $rust_mail_question['when'] ) ) : ?>
								data-when="<?php echo esc_attr( (string) wp_json_encode( $rust_mail_question['when'] ) ); ?>"
							<?php endif; ?>
							<?php echo 'direct_ip' === $rust_mail_key ? 'hidden' : ''; ?>>
							<th scope="row"><label for="<?php echo esc_attr( $rust_mail_id ); ?>"><?php echo esc_html( $rust_mail_label ); ?></label></th>
							<td>
								<?php if ( $rust_mail_fixed ) : ?>
									<code id="<?php echo esc_attr( $rust_mail_id ); ?>"><?php echo esc_html( 'password' === $rust_mail_control ? '••••••••' : (string) RustMail_Settings_Store::get( $rust_mail_key ) ); ?></code>
									<?php /* translators: %s: constant name such as RUST_MAIL_HOST */ ?>
									<span class="description"><?php echo esc_html( sprintf( __( 'Set by %s in wp-config.php.', 'rust-mail' ), RustMail_Settings_Schema::constant_name( $rust_mail_key ) ) ); ?></span>
								<?php elseif ( 'select' === $rust_mail_control ) : ?>
									<select id="<?php echo esc_attr( $rust_mail_id ); ?>" name="answers[<?php echo esc_attr( $rust_mail_key ); ?>]">
										<?php foreach ( $rust_mail_auth_choices[ $rust_mail_preset ] ?? $rust_mail_entry['choices'] as $rust_mail_choice ) : ?>
											<option value="<?php echo esc_attr( $rust_mail_choice ); ?>" <?php selected( $rust_mail_value, $rust_mail_choice ); ?>><?php echo esc_html( $rust_mail_entry['choice_labels'][ $rust_mail_choice ] ?? $rust_mail_choice ); ?></option>
										<?php endforeach; ?>
									</select>
								<?php else : ?>
									<?php
									$rust_mail_saved = 'password' === $rust_mail_control && RustMail_Settings_Store::has_saved_password( $rust_mail_key );
									printf(
										'<input type="%s" class="%s" id="%s" name="answers[%s]" value="%s" %s %s />',
										esc_attr( 'password' === $rust_mail_control ? 'password' : ( 'number' === $rust_mail_control ? 'number' : ( 'email' === $rust_mail_control ? 'email' : 'text' ) ) ),
										esc_attr( 'number' === $rust_mail_control ? 'small-text' : 'regular-text' ),
										esc_attr( $rust_mail_id ),
										esc_attr( $rust_mail_key ),
										esc_attr( $rust_mail_value ),
										'password' === $rust_mail_control ? 'autocomplete="new-password"' : '',
										$rust_mail_saved ? 'placeholder="' . esc_attr__( 'saved (leave empty to keep)', 'rust-mail' ) . '"' : ''
									);
									?>
								<?php endif; ?>
								<p class="rust-mail-setup-problem" data-for="<?php echo esc_attr( $rust_mail_key ); ?>" role="alert" hidden></p>
								<?php if ( '' !== $rust_mail_help ) : ?>
									<p class="description"><?php echo esc_html( $rust_mail_help ); ?></p>
								<?php endif; ?>
							</td>
						</tr>
					<?php endforeach; ?>
				</table>
				<?php if ( 'm365_direct' === $rust_mail_preset ) : ?>
					<div class="rust-mail-setup-direct notice inline" hidden>
						<p><?php esc_html_e( 'Mail server found:', 'rust-mail' ); ?> <code class="rust-mail-setup-direct-host"></code></p>
						<p class="rust-mail-setup-spf"></p>
						<pre class="rust-mail-setup-spf-record" hidden></pre>
					</div>
				<?php endif; ?>
				<?php if ( RustMail_Admin_Setup_Wizard::needs_signin( $rust_mail_preset ) ) : ?>
					<p class="description"><?php esc_html_e( 'This provider takes no password: after saving, sign in with the mailbox on the settings page.', 'rust-mail' ); ?></p>
				<?php endif; ?>
			</div>
		<?php endforeach; ?>

		<h2><?php esc_html_e( '3. Send a test mail', 'rust-mail' ); ?></h2>
		<table class="form-table" role="presentation">
			<tr class="form-required">
				<th scope="row"><label for="rust-mail-setup-test-to"><?php esc_html_e( 'Send it to', 'rust-mail' ); ?></label></th>
				<td>
					<input type="email" class="regular-text" id="rust-mail-setup-test-to" name="test_to" value="<?php echo esc_attr( wp_get_current_user()->user_email ); ?>" />
					<p class="rust-mail-setup-problem" data-for="test_to" role="alert" hidden></p>
					<p class="description"><?php esc_html_e( 'An address whose inbox you can read.', 'rust-mail' ); ?></p>
				</td>
			</tr>
		</table>
		<p class="submit">
			<button type="submit" class="button button-primary" id="rust-mail-setup-finish"><?php esc_html_e( 'Save and send a test mail', 'rust-mail' ); ?></button>
			<span class="spinner"></span>
		</p>
		<div id="rust-mail-setup-result" aria-live="polite"></div>
	</form>
</div>
