<?php
/**
 * A rust_mail_diagnose() result: verdict, advice, steps and transcript. Expects $rust_mail_diagnosis.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

$rust_mail_verdict = (array) ( $rust_mail_diagnosis['verdict'] ?? array() );
$rust_mail_ok      = ! empty( $rust_mail_diagnosis['ok'] );
// The walk's step and status names are code; the page says them in words (the code stays in data-step, for tools),
// and the extension's details and advice with the page's names (RustMail_Explain_Owner_Words).
$rust_mail_step_labels   = array(
	'dns'        => __( 'Name lookup', 'rust-mail' ),
	'sender_dns' => __( 'Sender domain\'s DNS (SPF, DMARC)', 'rust-mail' ),
	'dkim_dns'   => __( 'DKIM record in DNS', 'rust-mail' ),
	'tcp'        => __( 'Port reachable', 'rust-mail' ),
	'greeting'   => __( 'Server greeting', 'rust-mail' ),
	'ehlo'       => __( 'Server features', 'rust-mail' ),
	'tls'        => __( 'Encryption and certificate', 'rust-mail' ),
	'auth'       => __( 'Login', 'rust-mail' ),
	'envelope'   => __( 'Sender and recipient accepted', 'rust-mail' ),
	'token'      => __( 'Access token', 'rust-mail' ),
	'permission' => __( 'Permission to send', 'rust-mail' ),
	'send'       => __( 'Test message', 'rust-mail' ),
);
$rust_mail_status_labels = array(
	'ok'   => __( 'Passed', 'rust-mail' ),
	'fail' => __( 'Failed', 'rust-mail' ),
	'warn' => __( 'Warning', 'rust-mail' ),
	'skip' => __( 'Not tried', 'rust-mail' ),
);
?>
<div class="rust-mail-diagnosis-result">
	<div class="notice inline <?php echo $rust_mail_ok ? 'notice-success' : 'notice-error'; ?>">
		<p>
			<strong><?php echo $rust_mail_ok ? esc_html__( 'The connection works.', 'rust-mail' ) : esc_html__( 'The connection has a problem.', 'rust-mail' ); ?></strong>
			<?php echo esc_html( RustMail_Admin_Pages::redact( RustMail_Explain_Owner_Words::text( (string) ( $rust_mail_verdict['summary'] ?? '' ) ) ) ); ?>
		</p>
		<?php $rust_mail_walked = (string) ( $rust_mail_diagnosis['connection'] ?? RustMail_Settings_Connections::PRIMARY ); ?>
		<p class="rust-mail-diagnosed-connection">
			<?php
			/* translators: 1: a connection in words, such as "the primary connection", 2: its API or host:port */
			echo esc_html( sprintf( __( 'Walked: %1$s (%2$s).', 'rust-mail' ), RustMail_Settings_Connections::described( $rust_mail_walked ), (string) ( $rust_mail_diagnosis['destination'] ?? RustMail_Settings_Connections::destination( $rust_mail_walked ) ) ) );
			?>
		</p>
		<?php if ( ! empty( $rust_mail_verdict['cause'] ) && 'ok' !== $rust_mail_verdict['cause'] ) : ?>
			<p><?php esc_html_e( 'Cause:', 'rust-mail' ); ?> <code><?php echo esc_html( (string) $rust_mail_verdict['cause'] ); ?></code></p>
		<?php endif; ?>
		<?php if ( ! empty( $rust_mail_verdict['advice'] ) ) : ?>
			<ul class="ul-disc">
				<?php foreach ( (array) $rust_mail_verdict['advice'] as $rust_mail_advice ) : ?>
					<li><?php echo esc_html( RustMail_Admin_Pages::redact( RustMail_Explain_Owner_Words::text( (string) $rust_mail_advice ) ) ); ?></li>
				<?php endforeach; ?>
			</ul>
		<?php endif; ?>
		<?php $rust_mail_proposed = RustMail_Admin_Pages::proposed_preset( (string) ( $rust_mail_verdict['cause'] ?? '' ) ); ?>
		<?php if ( $rust_mail_proposed ) : ?>
			<p><a class="button" id="rust-mail-propose-preset" href="<?php echo esc_url( $rust_mail_proposed['url'] ); ?>"><?php echo esc_html( $rust_mail_proposed['label'] ); ?></a></p>
		<?php endif; ?>
	</div>

	<table class="widefat striped rust-mail-steps">
		<thead>
			<tr>
				<th scope="col"><?php esc_html_e( 'Step', 'rust-mail' ); ?></th>
				<th scope="col"><?php esc_html_e( 'Result', 'rust-mail' ); ?></th>
				<th scope="col"><?php esc_html_e( 'Time', 'rust-mail' ); ?></th>
				<th scope="col"><?php esc_html_e( 'Detail', 'rust-mail' ); ?></th>
			</tr>
		</thead>
		<tbody>
			<?php foreach ( (array) ( $rust_mail_diagnosis['steps'] ?? array() ) as $rust_mail_step ) : ?>
				<?php $rust_mail_step = (array) $rust_mail_step; ?>
				<?php
				$rust_mail_step_name   = (string) ( $rust_mail_step['name'] ?? '' );
				$rust_mail_step_status = (string) ( $rust_mail_step['status'] ?? '' );
				?>
				<tr data-step="<?php echo esc_attr( $rust_mail_step_name ); ?>" data-status="<?php echo esc_attr( $rust_mail_step_status ); ?>">
					<td><?php echo esc_html( $rust_mail_step_labels[ $rust_mail_step_name ] ?? $rust_mail_step_name ); ?></td>
					<td><span class="rust-mail-step-<?php echo esc_attr( $rust_mail_step_status ); ?>"><?php echo esc_html( $rust_mail_status_labels[ $rust_mail_step_status ] ?? $rust_mail_step_status ); ?></span></td>
					<td><?php echo esc_html( isset( $rust_mail_step['ms'] ) ? $rust_mail_step['ms'] . ' ms' : '' ); ?></td>
					<td><?php echo esc_html( RustMail_Admin_Pages::redact( RustMail_Explain_Owner_Words::text( (string) ( $rust_mail_step['detail'] ?? '' ) ) ) ); ?></td>
				</tr>
			<?php endforeach; ?>
		</tbody>
	</table>

	<?php if ( ! empty( $rust_mail_diagnosis['transcript'] ) ) : ?>
		<h3><?php esc_html_e( 'Transcript', 'rust-mail' ); ?></h3>
		<pre class="rust-mail-transcript"><?php
		foreach ( (array) $rust_mail_diagnosis['transcript'] as $rust_mail_line ) {
			echo esc_html( RustMail_Admin_Pages::transcript_line( $rust_mail_line ) ) . "\n";
		}
		?></pre>
	<?php endif; ?>
</div>
