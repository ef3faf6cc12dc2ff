<?php
/**
 * Rust Mail > Alerts: the channels, each with "Send a test alert", the weekly summary and the hold switch.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

$rust_mail_settings = RustMail_Alerts_Channels::settings();
$rust_mail_labels   = RustMail_Alerts_Channels::labels();
$rust_mail_status   = (array) RustMail_Settings_Store::get_plugin_option( RustMail_Alerts_Channels::STATUS_OPTION, array() );
$rust_mail_enabled  = RustMail_Alerts_Channels::enabled();
$rust_mail_hints    = array(
	'slack'   => __( 'An incoming webhook of a Slack app (https://hooks.slack.com/services/…).', 'rust-mail' ),
	'teams'   => __( 'The URL of a Teams workflow made from the template "Post to a channel when a webhook request is received".', 'rust-mail' ),
	'discord' => __( 'A channel\'s webhook (Edit Channel > Integrations > Webhooks > Copy Webhook URL).', 'rust-mail' ),
	'webhook' => __( 'Any URL: it gets a JSON POST with event, site, title, text, log_url and incident (see the plugin\'s readme).', 'rust-mail' ),
);
$rust_mail_hold_choices = array(
	''    => RustMail_Outbox_Hold::environment_holds()
		/* translators: %s: environment type */
		? sprintf( __( 'Follow the environment ("%s": held)', 'rust-mail' ), wp_get_environment_type() )
		/* translators: %s: environment type */
		: sprintf( __( 'Follow the environment ("%s": sent)', 'rust-mail' ), wp_get_environment_type() ),
	'on'  => __( 'Hold all mail', 'rust-mail' ),
	'off' => __( 'Send mail', 'rust-mail' ),
);

/** The last delivery to a channel, as a line under it. */
$rust_mail_last = static function ( $channel ) use ( $rust_mail_status ) {
	$last = $rust_mail_status[ $channel ] ?? null;
	if ( ! is_array( $last ) ) {
		return;
	}
	$text = '' === $last['problem']
		/* translators: %s: date and time in UTC */
		? sprintf( __( 'Last alert delivered %s UTC.', 'rust-mail' ), $last['at'] )
		/* translators: 1: date and time in UTC, 2: why not */
		: sprintf( __( 'Last alert at %1$s UTC was not delivered: %2$s', 'rust-mail' ), $last['at'], $last['problem'] );
	echo '<p class="description rust-mail-channel-status" data-channel="' . esc_attr( $channel ) . '">' . esc_html( $text ) . '</p>';
};
?>
<div class="wrap">
	<h1><?php esc_html_e( 'Alerts and hold', 'rust-mail' ); ?></h1>
	<p><?php esc_html_e( 'When mail stops going out, Rust Mail sends one alert per incident to each channel below: what fails and why, since when, the first messages it kept from their recipients, and a link to the connection log. When mail flows again, a second message says so. While the fallback connection delivers, there is no alert, only a notice here in the admin. Your own test mails never count.', 'rust-mail' ); ?></p>

	<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" id="rust-mail-alerts-form">
		<input type="hidden" name="action" value="<?php echo esc_attr( RustMail_Admin_Alerts::ACTION_SAVE ); ?>" />
		<?php wp_nonce_field( RustMail_Admin_Alerts::ACTION_SAVE ); ?>
		<h2><?php esc_html_e( 'Channels', 'rust-mail' ); ?></h2>
		<table class="form-table" role="presentation">
			<tr>
				<th scope="row"><?php echo esc_html( $rust_mail_labels['email'] ); ?></th>
				<td>
					<label><input type="checkbox" name="rust_mail_alerts[email]" id="rust-mail-alert-email" value="1" <?php checked( $rust_mail_settings['email'] ); ?> /> <?php esc_html_e( 'Send alerts by mail', 'rust-mail' ); ?></label>
					<p><label for="rust-mail-alert-email-to"><?php esc_html_e( 'Send alert mail to', 'rust-mail' ); ?></label>
					<input type="email" class="regular-text" name="rust_mail_alerts[email_to]" id="rust-mail-alert-email-to" value="<?php echo esc_attr( $rust_mail_settings['email_to'] ); ?>" placeholder="<?php echo esc_attr( RustMail_Alerts_Channels::email_to() ); ?>" /></p>
					<p><label for="rust-mail-alert-email-via"><?php esc_html_e( 'Send it through', 'rust-mail' ); ?></label>
					<select name="rust_mail_alerts[email_via]" id="rust-mail-alert-email-via">
						<option value="" <?php selected( $rust_mail_settings['email_via'], '' ); ?>><?php esc_html_e( 'The fallback connection, else PHP\'s mail()', 'rust-mail' ); ?></option>
						<option value="<?php echo esc_attr( RustMail_Alerts_Channels::VIA_PHP_MAIL ); ?>" <?php selected( $rust_mail_settings['email_via'], RustMail_Alerts_Channels::VIA_PHP_MAIL ); ?>><?php esc_html_e( 'PHP\'s mail() (the server\'s own mailer)', 'rust-mail' ); ?></option>
						<?php foreach ( array_keys( RustMail_Settings_Connections::all() ) as $rust_mail_connection ) : ?>
							<?php
							/* translators: %s: connection name */
							$rust_mail_option = sprintf( __( 'The %s connection', 'rust-mail' ), RustMail_Settings_Connections::label( $rust_mail_connection ) );
							?>
							<option value="<?php echo esc_attr( $rust_mail_connection ); ?>" <?php selected( $rust_mail_settings['email_via'], $rust_mail_connection ); ?>><?php echo esc_html( $rust_mail_option ); ?></option>
						<?php endforeach; ?>
					</select></p>
					<p class="description"><?php esc_html_e( 'Never through the connection that fails: when that is the one chosen, the alert goes through PHP\'s mail().', 'rust-mail' ); ?></p>
					<?php $rust_mail_last( 'email' ); ?>
				</td>
			</tr>
			<?php foreach ( RustMail_Alerts_Channels::WEBHOOKS as $rust_mail_channel ) : ?>
				<tr>
					<th scope="row"><label for="rust-mail-alert-<?php echo esc_attr( $rust_mail_channel ); ?>"><?php echo esc_html( $rust_mail_labels[ $rust_mail_channel ] ); ?></label></th>
					<td>
						<input type="url" class="large-text" name="rust_mail_alerts[<?php echo esc_attr( $rust_mail_channel ); ?>]" id="rust-mail-alert-<?php echo esc_attr( $rust_mail_channel ); ?>" value="" autocomplete="off"
							placeholder="<?php echo esc_attr( '' !== $rust_mail_settings[ $rust_mail_channel ] ? RustMail_Alerts_Channels::masked( $rust_mail_settings[ $rust_mail_channel ] ) . ' ' . __( '(saved; type a new address to replace it)', 'rust-mail' ) : 'https://' ); ?>" />
						<?php if ( '' !== $rust_mail_settings[ $rust_mail_channel ] ) : ?>
							<label><input type="checkbox" name="rust_mail_alerts[remove_<?php echo esc_attr( $rust_mail_channel ); ?>]" value="1" /> <?php esc_html_e( 'Remove', 'rust-mail' ); ?></label>
						<?php endif; ?>
						<p class="description"><?php echo esc_html( $rust_mail_hints[ $rust_mail_channel ] ); ?></p>
						<?php $rust_mail_last( $rust_mail_channel ); ?>
					</td>
				</tr>
			<?php endforeach; ?>
		</table>

		<h2><?php esc_html_e( 'Weekly summary', 'rust-mail' ); ?></h2>
		<p><label><input type="checkbox" name="rust_mail_alerts[summary]" id="rust-mail-alert-summary" value="1" <?php checked( $rust_mail_settings['summary'] ); ?> /> <?php esc_html_e( 'Once a week, send the channels above a summary: mail sent, failed and waiting, the top causes of failure and the top senders.', 'rust-mail' ); ?></label></p>

		<h2 id="rust-mail-hold"><?php esc_html_e( 'Hold all mail', 'rust-mail' ); ?></h2>
		<p><?php esc_html_e( 'For a staging copy or a development site: mail is kept in the outbox and not sent, so no customer gets mail from a copy. Releasing sends what waits.', 'rust-mail' ); ?></p>
		<?php if ( 'constant' === RustMail_Outbox_Hold::decided_by() ) : ?>
			<p><strong><?php echo esc_html( RustMail_Outbox_Hold::is_on() ? __( 'Mail is held.', 'rust-mail' ) : __( 'Mail is sent.', 'rust-mail' ) ); ?></strong> <?php echo esc_html( RustMail_Admin_Alerts::hold_reason() ); ?></p>
		<?php else : ?>
			<p><select name="rust_mail_alerts[hold]" id="rust-mail-hold-setting">
				<?php foreach ( $rust_mail_hold_choices as $rust_mail_value => $rust_mail_label ) : ?>
					<option value="<?php echo esc_attr( $rust_mail_value ); ?>" <?php selected( (string) RustMail_Settings_Store::get_plugin_option( RustMail_Outbox_Hold::OPTION, '' ), $rust_mail_value ); ?>><?php echo esc_html( $rust_mail_label ); ?></option>
				<?php endforeach; ?>
			</select></p>
		<?php endif; ?>
		<?php submit_button( __( 'Save alert settings', 'rust-mail' ) ); ?>
	</form>

	<h2><?php esc_html_e( 'Send a test alert', 'rust-mail' ); ?></h2>
	<p><?php esc_html_e( 'Each button sends a test alert to one channel as saved above.', 'rust-mail' ); ?></p>
	<p>
	<?php foreach ( $rust_mail_labels as $rust_mail_channel => $rust_mail_label ) : ?>
		<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" style="display:inline">
			<input type="hidden" name="action" value="<?php echo esc_attr( RustMail_Admin_Alerts::ACTION_TEST ); ?>" />
			<input type="hidden" name="channel" value="<?php echo esc_attr( $rust_mail_channel ); ?>" />
			<?php wp_nonce_field( RustMail_Admin_Alerts::ACTION_TEST . '_' . $rust_mail_channel, '_wpnonce', true ); ?>
			<?php
			/* translators: %s: channel name */
			submit_button( sprintf( __( 'Send a test alert to %s', 'rust-mail' ), $rust_mail_label ), 'secondary', 'submit', false, array( 'id' => 'rust-mail-test-alert-' . $rust_mail_channel ) + ( in_array( $rust_mail_channel, $rust_mail_enabled, true ) ? array() : array( 'disabled' => 'disabled' ) ) );
			?>
		</form>
	<?php endforeach; ?>
	</p>
</div>
