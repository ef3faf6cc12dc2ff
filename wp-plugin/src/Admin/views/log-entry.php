<?php
/**
 * One log row: every field, the explanation of its error, the transcript. Expects $entry (array or null).
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;
?>
<div class="wrap" id="rust-mail-log-entry">
	<h1><?php esc_html_e( 'Connection log entry', 'rust-mail' ); ?></h1>
	<p><a href="<?php echo esc_url( RustMail_Log_Store::url() ); ?>">&larr; <?php esc_html_e( 'Back to the connection log', 'rust-mail' ); ?></a></p>

	<?php if ( ! $entry ) : ?>
		<div class="notice notice-error inline"><p><?php esc_html_e( 'This log entry does not exist (it may have been purged).', 'rust-mail' ); ?></p></div>
	<?php else : ?>
		<?php $rust_mail_explanation = RustMail_Log_Explainer::for_entry( $entry ); ?>
		<?php if ( $rust_mail_explanation ) : ?>
			<div class="notice notice-error inline rust-mail-explanation">
				<p><strong><?php esc_html_e( 'What went wrong:', 'rust-mail' ); ?></strong> <?php echo esc_html( $rust_mail_explanation['cause'] ); ?></p>
				<p><strong><?php esc_html_e( 'What to do:', 'rust-mail' ); ?></strong></p>
				<ul class="ul-disc">
					<?php foreach ( $rust_mail_explanation['advice'] as $rust_mail_advice ) : ?>
						<li><?php echo esc_html( $rust_mail_advice ); ?></li>
					<?php endforeach; ?>
				</ul>
				<?php $rust_mail_proposed = RustMail_Admin_Pages::proposed_preset( $rust_mail_explanation['code'] ?? '' ); ?>
				<?php if ( $rust_mail_proposed ) : ?>
					<p><a class="button" id="rust-mail-propose-preset" href="<?php echo esc_url( $rust_mail_proposed['url'] ); ?>"><?php echo esc_html( $rust_mail_proposed['label'] ); ?></a></p>
				<?php endif; ?>
				<?php if ( RustMail_Transport_Extension::diagnose_available() ) : ?>
					<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
						<input type="hidden" name="action" value="<?php echo esc_attr( RustMail_Admin_Actions::ACTION_DIAGNOSE ); ?>" />
						<?php wp_nonce_field( RustMail_Admin_Actions::ACTION_DIAGNOSE ); ?>
						<?php
						// The connection whose attempt failed last, while it exists.
						$rust_mail_failed_through = (string) ( array_slice( (array) $entry['attempt_log'], -1 )[0]['connection'] ?? '' );
						?>
						<?php if ( isset( RustMail_Settings_Connections::all()[ $rust_mail_failed_through ] ) ) : ?>
							<input type="hidden" name="connection" value="<?php echo esc_attr( $rust_mail_failed_through ); ?>" />
						<?php endif; ?>
						<?php submit_button( __( 'Diagnose the connection now', 'rust-mail' ), 'secondary', 'diagnose', false ); ?>
					</form>
					<p></p>
				<?php endif; ?>
			</div>
		<?php endif; ?>

		<?php
		$rust_mail_rows = array(
			__( 'Time', 'rust-mail' )          => RustMail_Admin_Pages::format_time( $entry['created_at'] ),
			__( 'Status', 'rust-mail' )        => RustMail_Log_Store::status_label( $entry['status'] ),
			__( 'From', 'rust-mail' )          => $entry['from_address'],
			__( 'Recipients', 'rust-mail' )    => $entry['recipients'],
			__( 'Subject', 'rust-mail' )       => $entry['subject'],
			__( 'Message-ID', 'rust-mail' )    => $entry['message_id'],
			__( 'SMTP code', 'rust-mail' )     => trim( $entry['smtp_code'] . ' ' . $entry['enhanced_code'] ),
			__( 'Server reply', 'rust-mail' )  => RustMail_Admin_Pages::redact( $entry['reply'] ),
			__( 'Error kind', 'rust-mail' )    => $entry['error_kind'],
			__( 'Cause', 'rust-mail' )         => $entry['error_cause'],
			__( 'Error', 'rust-mail' )         => RustMail_Admin_Pages::redact( $entry['error_message'] ),
			/* translators: %s: milliseconds */
			__( 'Duration', 'rust-mail' )      => null === $entry['duration_ms'] ? '' : sprintf( __( '%s ms', 'rust-mail' ), number_format_i18n( (int) $entry['duration_ms'] ) ),
			__( 'Sent by', 'rust-mail' )       => RustMail_Mail_Caller::label( $entry['caller'] ),
			__( 'Attempts', 'rust-mail' )      => number_format_i18n( (int) $entry['attempts'] ),
			__( 'Engine', 'rust-mail' )        => RustMail_Transport_Registry::label( (string) ( array_slice( (array) $entry['attempt_log'], -1 )[0]['engine'] ?? '' ) ),
			__( 'Routed to', 'rust-mail' )     => '' === RustMail_Settings_Connections::route_of( $entry ) ? '' : RustMail_Settings_Connections::described( RustMail_Settings_Connections::route_of( $entry ) ),
			__( 'Delivered through', 'rust-mail' ) => '' === $entry['connection'] ? '' : RustMail_Settings_Connections::described( $entry['connection'] ),
			__( 'Next attempt', 'rust-mail' )  => RustMail_Log_Store::STATUS_QUEUED === $entry['status'] && $entry['next_attempt_at'] ? RustMail_Admin_Pages::format_time( $entry['next_attempt_at'] ) : '',
		);
		$rust_mail_operations = array();
		if ( RustMail_Log_Store::STATUS_QUEUED === $entry['status'] ) {
			$rust_mail_operations = array(
				'send_now' => __( 'Send now', 'rust-mail' ),
				'cancel'   => __( 'Cancel', 'rust-mail' ),
			);
		} elseif ( null !== $entry['raw'] && in_array( $entry['status'], RustMail_Log_Store::FINAL_STATUSES, true ) ) {
			$rust_mail_operations = array( 'resend' => __( 'Send again', 'rust-mail' ) );
		}
		?>
		<?php foreach ( $rust_mail_operations as $rust_mail_operation => $rust_mail_label ) : ?>
			<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" class="rust-mail-outbox-action" style="display:inline-block;margin-right:.5em">
				<input type="hidden" name="action" value="<?php echo esc_attr( RustMail_Admin_Actions::ACTION_OUTBOX ); ?>" />
				<input type="hidden" name="operation" value="<?php echo esc_attr( $rust_mail_operation ); ?>" />
				<input type="hidden" name="entry" value="<?php echo esc_attr( (string) (int) $entry['id'] ); ?>" />
				<?php wp_nonce_field( RustMail_Admin_Actions::outbox_nonce_action( $rust_mail_operation, $entry['id'] ) ); ?>
				<?php submit_button( $rust_mail_label, 'cancel' === $rust_mail_operation ? 'delete' : 'secondary', 'rust_mail_' . $rust_mail_operation, false ); ?>
			</form>
		<?php endforeach; ?>
		<?php if ( isset( $rust_mail_operations['resend'] ) ) : ?>
			<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" class="rust-mail-outbox-action" id="rust-mail-resend-to" style="display:inline-block;margin-right:.5em">
				<input type="hidden" name="action" value="<?php echo esc_attr( RustMail_Admin_Actions::ACTION_OUTBOX ); ?>" />
				<input type="hidden" name="operation" value="resend_to" />
				<input type="hidden" name="entry" value="<?php echo esc_attr( (string) (int) $entry['id'] ); ?>" />
				<?php wp_nonce_field( RustMail_Admin_Actions::outbox_nonce_action( 'resend_to', $entry['id'] ) ); ?>
				<label for="rust-mail-resend-to-address"><?php esc_html_e( 'or send it to', 'rust-mail' ); ?></label>
				<input type="text" id="rust-mail-resend-to-address" name="to" class="regular-text" placeholder="<?php esc_attr_e( 'name@example.com, another@example.com', 'rust-mail' ); ?>" />
				<?php submit_button( __( 'Send again to these addresses', 'rust-mail' ), 'secondary', 'rust_mail_resend_to', false ); ?>
			</form>
		<?php elseif ( ! empty( $entry['carries_key'] ) && in_array( $entry['status'], RustMail_Log_Store::FINAL_STATUSES, true ) && RustMail_Log_Store::STATUS_SENT !== $entry['status'] ) : ?>
			<p class="description" id="rust-mail-key-not-kept"><?php esc_html_e( 'This message carried a one-time link (a password reset, a new account, a change of address), so its content is never kept and it cannot be sent again from here. Ask WordPress for a new one: a password reset from Users → "Send password reset", or by the recipient from the login page.', 'rust-mail' ); ?></p>
		<?php endif; ?>
		<?php if ( null !== $entry['raw'] ) : ?>
			<a class="button" id="rust-mail-download-eml" href="<?php echo esc_url( wp_nonce_url( add_query_arg( array( 'action' => RustMail_Admin_Actions::ACTION_EXPORT_EML, 'entry' => (int) $entry['id'] ), admin_url( 'admin-post.php' ) ), RustMail_Admin_Actions::eml_nonce_action( $entry['id'] ) ) ); ?>"><?php esc_html_e( 'Download as .eml', 'rust-mail' ); ?></a>
		<?php endif; ?>
		<table class="form-table rust-mail-entry-fields" role="presentation">
			<?php foreach ( $rust_mail_rows as $rust_mail_label => $rust_mail_value ) : ?>
				<tr>
					<th scope="row"><?php echo esc_html( $rust_mail_label ); ?></th>
					<td class="rust-mail-field"><?php echo nl2br( esc_html( (string) $rust_mail_value ) ); ?></td>
				</tr>
			<?php endforeach; ?>
		</table>

		<h2><?php esc_html_e( 'SMTP transcript', 'rust-mail' ); ?></h2>
		<?php if ( empty( $entry['transcript'] ) ) : ?>
			<p><?php esc_html_e( 'No transcript: the mail did not reach a server.', 'rust-mail' ); ?></p>
		<?php else : ?>
			<pre class="rust-mail-transcript" style="overflow:auto;max-height:40em;background:#fff;border:1px solid #c3c4c7;padding:1em"><?php
			foreach ( $entry['transcript'] as $rust_mail_line ) {
				echo esc_html( RustMail_Admin_Pages::transcript_line( $rust_mail_line ) ) . "\n";
			}
			?></pre>
		<?php endif; ?>

		<?php if ( count( $entry['attempt_log'] ) > 1 ) : ?>
			<h2><?php esc_html_e( 'Every attempt', 'rust-mail' ); ?></h2>
			<ol class="rust-mail-attempts">
				<?php foreach ( $entry['attempt_log'] as $rust_mail_attempt ) : ?>
					<li>
						<details>
							<summary>
								<?php
								echo esc_html(
									sprintf(
										/* translators: 1: time, 2: connection (primary or fallback), 3: outcome or error, 4: server reply */
										__( '%1$s, %2$s: %3$s %4$s', 'rust-mail' ),
										RustMail_Admin_Pages::format_time( (string) ( $rust_mail_attempt['at'] ?? '' ) ),
										(string) ( $rust_mail_attempt['connection'] ?? '' ),
										empty( $rust_mail_attempt['ok'] ) ? (string) ( $rust_mail_attempt['error_kind'] ?? '' ) : __( 'accepted', 'rust-mail' ),
										RustMail_Admin_Pages::redact( (string) ( $rust_mail_attempt['reply'] ?? '' ) )
									)
								);
								?>
							</summary>
							<pre class="rust-mail-attempt-transcript" style="overflow:auto;background:#fff;border:1px solid #c3c4c7;padding:1em"><?php
							foreach ( (array) ( $rust_mail_attempt['transcript'] ?? array() ) as $rust_mail_line ) {
								echo esc_html( RustMail_Admin_Pages::transcript_line( $rust_mail_line ) ) . "\n";
							}
							?></pre>
						</details>
					</li>
				<?php endforeach; ?>
			</ol>
		<?php endif; ?>

		<?php if ( null !== $entry['body'] ) : ?>
			<h2><?php esc_html_e( 'Message body', 'rust-mail' ); ?></h2>
			<pre class="rust-mail-body" style="white-space:pre-wrap;background:#fff;border:1px solid #c3c4c7;padding:1em"><?php echo esc_html( $entry['body'] ); ?></pre>
		<?php endif; ?>
	<?php endif; ?>
</div>
