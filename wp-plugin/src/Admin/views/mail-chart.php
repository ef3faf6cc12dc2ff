<?php
/**
 * Sent, failed and queued mail per day for the last 14 days: a bar chart drawn in the page (inline SVG, no outside
 * service) with its scale, dates and each day's figures on hover, and the same figures as a table (its text
 * alternative, one click away). Used by the dashboard widget and the log page.
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
	<?php
	// The days are UTC days (RustMail_Log_Store::daily_counts()), so they are named in UTC too.
	$rust_mail_day_text = static function ( $day, array $counts ) use ( $rust_mail_series ) {
		$parts = array();
		foreach ( $rust_mail_series as $group => $style ) {
			$parts[] = $style[0] . ' ' . number_format_i18n( $counts[ $group ] );
		}
		return wp_date( get_option( 'date_format' ), strtotime( $day . ' UTC' ), new DateTimeZone( 'UTC' ) ) . ': ' . implode( ', ', $parts );
	};
	?>
	<div class="rust-mail-chart-plot" style="display:flex;align-items:stretch;gap:.5em">
		<div class="rust-mail-chart-scale" style="display:flex;flex-direction:column;justify-content:space-between;text-align:right;font-size:11px;color:#50575e;height:120px">
			<span><?php echo esc_html( number_format_i18n( $rust_mail_most ) ); ?></span><span>0</span>
		</div>
		<div style="flex:1">
			<svg viewBox="0 0 280 100" width="100%" height="120" preserveAspectRatio="none" role="img" aria-labelledby="rust-mail-chart-label" focusable="false" style="border-bottom:1px solid #c3c4c7">
				<title id="rust-mail-chart-label"><?php esc_html_e( 'Mail per day for the last 14 days; the figures are in the table below.', 'rust-mail' ); ?></title>
				<?php
				$rust_mail_x = 0;
				foreach ( $rust_mail_days as $rust_mail_day => $rust_mail_counts ) {
					// The day's figures on hover: a transparent bar over the whole height carries the title.
					printf( '<g class="rust-mail-chart-day"><title>%s</title><rect x="%d" y="0" width="20" height="100" fill="transparent"></rect>', esc_html( $rust_mail_day_text( $rust_mail_day, $rust_mail_counts ) ), (int) $rust_mail_x );
					$rust_mail_y = 100;
					foreach ( $rust_mail_series as $rust_mail_group => $rust_mail_style ) {
						$rust_mail_height = 100 * $rust_mail_counts[ $rust_mail_group ] / $rust_mail_most;
						$rust_mail_y     -= $rust_mail_height;
						printf( '<rect class="rust-mail-bar-%s" x="%d" y="%.2f" width="16" height="%.2f" fill="%s"></rect>', esc_attr( $rust_mail_group ), (int) $rust_mail_x + 2, (float) $rust_mail_y, (float) $rust_mail_height, esc_attr( $rust_mail_style[1] ) );
					}
					echo '</g>';
					$rust_mail_x += 20;
				}
				?>
			</svg>
			<div class="rust-mail-chart-axis" aria-hidden="true" style="display:flex;font-size:11px;color:#50575e">
				<?php foreach ( array_keys( $rust_mail_days ) as $rust_mail_index => $rust_mail_day ) : // Every other day, today among them. ?>
					<span style="flex:1;text-align:center"><?php echo 0 === ( count( $rust_mail_days ) - 1 - $rust_mail_index ) % 2 ? esc_html( wp_date( 'j M', strtotime( $rust_mail_day . ' UTC' ), new DateTimeZone( 'UTC' ) ) ) : ''; ?></span>
				<?php endforeach; ?>
			</div>
		</div>
	</div>
	<details class="rust-mail-chart-figures">
		<summary><?php esc_html_e( 'Show the figures', 'rust-mail' ); ?></summary>
		<table class="widefat striped rust-mail-chart-table">
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
	</details>
</div>
