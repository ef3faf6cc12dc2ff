<?php
/**
 * The connection log list. Expects $table (RustMail_Admin_Log_Table, prepared).
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;
?>
<div class="wrap" id="rust-mail-log">
	<h1 class="wp-heading-inline"><?php esc_html_e( 'Connection log', 'rust-mail' ); ?></h1>
	<hr class="wp-header-end" />
	<p>
		<?php
		/* translators: %d: number of days */
		echo esc_html( sprintf( _n( 'One row per mail WordPress sent or tried to send, kept for %d day.', 'One row per mail WordPress sent or tried to send, kept for %d days.', (int) RustMail_Settings_Store::get( 'retention_days' ), 'rust-mail' ), (int) RustMail_Settings_Store::get( 'retention_days' ) ) );
		?>
	</p>
	<?php require __DIR__ . '/mail-chart.php'; ?>
	<?php $table->views(); ?>
	<form method="get">
		<input type="hidden" name="page" value="<?php echo esc_attr( RustMail_Log_Store::PAGE ); ?>" />
		<?php if ( ! empty( $_GET['status'] ) ) : // phpcs:ignore WordPress.Security.NonceVerification ?>
			<input type="hidden" name="status" value="<?php echo esc_attr( sanitize_key( wp_unslash( $_GET['status'] ) ) ); // phpcs:ignore WordPress.Security.NonceVerification ?>" />
		<?php endif; ?>
		<?php $table->search_box( __( 'Search log', 'rust-mail' ), 'rust-mail-log-search' ); ?>
		<?php $table->display(); ?>
	</form>
</div>
