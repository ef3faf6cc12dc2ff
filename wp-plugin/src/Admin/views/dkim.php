<?php
/**
 * The settings page's DKIM section: the DNS TXT record to publish for the key set in wp-config.php
 * (RustMail_Mail_Dkim), or how to set one up. Included by settings-page.php.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

$rust_mail_dkim_record = RustMail_Mail_Dkim::dns_record();
?>
<hr />
<h2 id="rust-mail-dkim"><?php esc_html_e( 'DKIM signing', 'rust-mail' ); ?></h2>
<?php if ( null === $rust_mail_dkim_record ) : ?>
	<p><?php esc_html_e( 'Mail is not DKIM-signed here. To sign it, define RUST_MAIL_DKIM_DOMAIN, RUST_MAIL_DKIM_SELECTOR and RUST_MAIL_DKIM_PRIVATE_KEY (an RSA key in PEM, or the path of its file outside the WordPress directory) in wp-config.php.', 'rust-mail' ); ?></p>
<?php elseif ( isset( $rust_mail_dkim_record['error'] ) ) : ?>
	<p class="notice notice-error" id="rust-mail-dkim-error"><?php echo esc_html( $rust_mail_dkim_record['error'] ); ?></p>
<?php else : ?>
	<p><?php esc_html_e( 'Mail is signed with the key set in wp-config.php. Publish this TXT record in the DNS of the signing domain:', 'rust-mail' ); ?></p>
	<table class="form-table" id="rust-mail-dkim-record">
		<tr><th scope="row"><?php esc_html_e( 'Name', 'rust-mail' ); ?></th><td><code><?php echo esc_html( $rust_mail_dkim_record['name'] ); ?></code></td></tr>
		<tr><th scope="row"><?php esc_html_e( 'Value', 'rust-mail' ); ?></th><td><code style="word-break: break-all"><?php echo esc_html( $rust_mail_dkim_record['value'] ); ?></code></td></tr>
	</table>
<?php endif; ?>
