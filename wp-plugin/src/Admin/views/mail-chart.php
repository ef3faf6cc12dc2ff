<?php
/**
 * Sent, failed and queued mail per day for the last 14 days: a bar chart drawn in the page (inline SVG, no outside
 * service), and the same figures as a table for screen readers. Used by the dashboard widget and the log page.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

$rust_mail_days   = RustMail_Log_Store::daily_counts( 14 );
$rust_mail_series = array(
	'sent'   => array( __( 'Sent', 'rust-mail' ), '#00a32a' ),
	'failed' => array( __( 'Failed', 'rust-mail' ), '#d63638' ),
	'queued' => array( __( 'Queued', 'rust-mail' ), '#dba617' ),
);
$rust_mail_most   = max( 1, max( array_map( 'array_sum', $rust_mail_days ) ) );
$rust_mail_totals = array();
foreach ( array_keys( $rust_mail_series ) as $rust_mail_group ) {
	$rust_mail_totals[ $rust_mail_group ] = array_sum( array_column( $rust_mail_days, $rust_mail_group ) );
}
?>
<div class="rust-mail-chart">
	<p class="rust-mail-chart-totals">
		<?php foreach ( $rust_mail_series as $rust_mail_group => $rust_mail_style ) : ?>
			<span style="margin-right:1em"><span style="display:inline-block;width:.8em;height:.8em;background:<?php echo esc_attr( $rust_mail_style[1] ); ?>"></span>
			<?php echo esc_html( $rust_mail_style[0] . ': ' . number_format_i18n( $rust_mail_totals[ $rust_mail_group ] ) ); ?></span>
		<?php endforeach; ?>
		<span class="description"><?php esc_html_e( '(last 14 days)', 'rust-mail' ); ?></span>
	</p>
	<svg viewBox="0 0 280 100" width="100%" height="120" preserveAspectRatio="none" aria-hidden="true" focusable="false">
		<?php
		$rust_mail_x = 0;
		foreach ( $rust_mail_days as $rust_mail_counts ) {
			$rust_mail_y = 100;
			foreach ( $rust_mail_series as $rust_mail_group => $rust_mail_style ) {
				$rust_mail_height = 100 * $rust_mail_counts[ $rust_mail_group ] / $rust_mail_most;
				$rust_mail_y     -= $rust_mail_height;
				printf( '<rect class="rust-mail-bar-%s" x="%d" y="%.2f" width="16" height="%.2f" fill="%s"></rect>', esc_attr( $rust_mail_group ), (int) $rust_mail_x + 2, (float) $rust_mail_y, (float) $rust_mail_height, esc_attr( $rust_mail_style[1] ) );
			}
			$rust_mail_x += 20;
		}
		?>
	</svg>
	<table class="screen-reader-text rust-mail-chart-table">
		<thead><tr><th><?php esc_html_e( 'Day (UTC)', 'rust-mail' ); ?></th>
			<?php foreach ( $rust_mail_series as $rust_mail_style ) : ?>
				<th><?php echo esc_html( $rust_mail_style[0] ); ?></th>
			<?php endforeach; ?>
		</tr></thead>
		<tbody>
			<?php foreach ( $rust_mail_days as $rust_mail_day => $rust_mail_counts ) : ?>
				<tr><td><?php echo esc_html( $rust_mail_day ); ?></td>
					<?php foreach ( array_keys( $rust_mail_series ) as $rust_mail_group ) : ?>
						<td><?php echo esc_html( (string) $rust_mail_counts[ $rust_mail_group ] ); ?></td>
					<?php endforeach; ?>
				</tr>
			<?php endforeach; ?>
		</tbody>
	</table>
</div>
