<?php
/**
 * Installs WordPress without a browser (there is no WP-CLI here) and activates rust-mail.
 * Safe to run again: an installed site only gets its admin password reset and the plugin (re)activated.
 *
 * php wp-install.php WP_DIR SITE_URL ADMIN_PASSWORD SMTP_PORT
 */
list( , $wp_dir, $site_url, $admin_password, $smtp_port ) = $argv;

define( 'WP_INSTALLING', true );
$_SERVER['HTTP_HOST']   = parse_url( $site_url, PHP_URL_HOST ) . ':' . parse_url( $site_url, PHP_URL_PORT );
$_SERVER['REQUEST_URI'] = '/';

// wp_install() mails the admin about the new site; there is nobody to tell.
function wp_new_blog_notification() {}

require $wp_dir . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';

if ( ! is_blog_installed() ) {
	$result = wp_install( 'Rust Mail demo', 'admin', 'admin@example.com', false, '', $admin_password );
	echo "installed WordPress, admin user id {$result['user_id']}\n";
} else {
	$admin = get_user_by( 'login', 'admin' );
	wp_set_password( $admin_password, $admin->ID );
	echo "WordPress already installed; admin password reset\n";
}

// The stack's capture server is the default mail server until someone picks another one.
$settings = get_option( 'rust_mail_settings', array() );
if ( empty( $settings['host'] ) ) {
	$settings = array_merge(
		is_array( $settings ) ? $settings : array(),
		array(
			'preset'   => 'custom',
			'host'     => '127.0.0.1',
			'port'     => (int) $smtp_port,
			'security' => 'none',
			'auth'     => 'none',
		)
	);
	update_option( 'rust_mail_settings', $settings );
}

$activated = activate_plugin( 'rust-mail/rust-mail.php' );
if ( is_wp_error( $activated ) ) {
	fwrite( STDERR, 'could not activate rust-mail: ' . $activated->get_error_message() . "\n" );
	exit( 1 );
}
echo "rust-mail active\n";
