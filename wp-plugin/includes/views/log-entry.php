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
	<p><a href="<?php echo esc_url( Rust_Mail_Admin::log_url() ); ?>">&larr; <?php esc_html_e( 'Back to the connection log', 'rust-mail' ); ?></a></p>

	<?php if ( ! $entry ) : ?>
		<div class="notice notice-error inline"><p><?php esc_html_e( 'This log entry does not exist (it may have been purged).', 'rust-mail' ); ?></p></div>
	<?php else : ?>
		<?php $rust_mail_explanation = Rust_Mail_Explain::for_entry( $entry ); ?>
		<?php if ( $rust_mail_explanation ) : ?>
			<div class="notice notice-error inline rust-mail-explanation">
				<p><strong><?php esc_html_e( 'What went wrong:', 'rust-mail' ); ?></strong> <?php echo esc_html( $rust_mail_explanation['cause'] ); ?></p>
				<p><strong><?php esc_html_e( 'What to do:', 'rust-mail' ); ?></strong></p>
				<ul class="ul-disc">
					<?php foreach ( $rust_mail_explanation['advice'] as $rust_mail_advice ) : ?>
						<li><?php echo esc_html( $rust_mail_advice ); ?></li>
					<?php endforeach; ?>
				</ul>
				<?php if ( Rust_Mail_Router::diagnose_available() ) : ?>
					<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
						<input type="hidden" name="action" value="<?php echo esc_attr( Rust_Mail_Admin::ACTION_DIAGNOSE ); ?>" />
						<?php wp_nonce_field( Rust_Mail_Admin::ACTION_DIAGNOSE ); ?>
						<?php submit_button( __( 'Diagnose the connection now', 'rust-mail' ), 'secondary', 'diagnose', false ); ?>
					</form>
					<p></p>
				<?php endif; ?>
			</div>
		<?php endif; ?>

		<?php
		$rust_mail_rows = array(
			__( 'Time', 'rust-mail' )          => Rust_Mail_Admin::format_time( $entry['created_at'] ),
			__( 'Status', 'rust-mail' )        => Rust_Mail_Admin::status_label( $entry['status'] ),
			__( 'From', 'rust-mail' )          => $entry['from_address'],
			__( 'Recipients', 'rust-mail' )    => $entry['recipients'],
			__( 'Subject', 'rust-mail' )       => $entry['subject'],
			__( 'Message-ID', 'rust-mail' )    => $entry['message_id'],
			__( 'SMTP code', 'rust-mail' )     => trim( $entry['smtp_code'] . ' ' . $entry['enhanced_code'] ),
			__( 'Server reply', 'rust-mail' )  => Rust_Mail_Admin::redact( $entry['reply'] ),
			__( 'Error kind', 'rust-mail' )    => $entry['error_kind'],
			__( 'Error', 'rust-mail' )         => Rust_Mail_Admin::redact( $entry['error_message'] ),
			/* translators: %s: milliseconds */
			__( 'Duration', 'rust-mail' )      => null === $entry['duration_ms'] ? '' : sprintf( __( '%s ms', 'rust-mail' ), number_format_i18n( (int) $entry['duration_ms'] ) ),
			__( 'Sent by', 'rust-mail' )       => Rust_Mail_Admin::caller_label( $entry['caller'] ),
		);
		?>
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
				echo esc_html( Rust_Mail_Admin::transcript_line( $rust_mail_line ) ) . "\n";
			}
			?></pre>
		<?php endif; ?>

		<?php if ( null !== $entry['body'] ) : ?>
			<h2><?php esc_html_e( 'Message body', 'rust-mail' ); ?></h2>
			<pre class="rust-mail-body" style="white-space:pre-wrap;background:#fff;border:1px solid #c3c4c7;padding:1em"><?php echo esc_html( $entry['body'] ); ?></pre>
		<?php endif; ?>
	<?php endif; ?>
</div>
