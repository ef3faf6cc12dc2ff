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
		$rust_mail_days = (int) RustMail_Settings_Store::get( 'retention_days' );
		/* translators: 1: number of days, 2: number of entries */
		echo esc_html( sprintf( _n( 'One row per mail WordPress sent or tried to send, kept for %1$d day and at most %2$s entries.', 'One row per mail WordPress sent or tried to send, kept for %1$d days and at most %2$s entries.', $rust_mail_days, 'rust-mail' ), $rust_mail_days, number_format_i18n( (int) RustMail_Settings_Store::get( 'log_max_rows' ) ) ) );
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
