<?php
/**
 * Installs WordPress without a browser (there is no WP-CLI here) and activates rust-mail.
 * Safe to run again: an installed site only gets its admin password reset and the plugin (re)activated.
 *
 * php wp-install.php WP_DIR SITE_URL ADMIN_PASSWORD SMTP_PORT MULTISITE MULTISITE_CONFIG
 *
 * With MULTISITE 1 the site becomes a network in subdirectories: the network tables are made, MULTISITE_CONFIG
 * (required by wp-config.php) is written, and the script runs again on the network to add /site2/ and
 * network-activate the plugin. The admin is the super admin.
 */
list( , $wp_dir, $site_url, $admin_password, $smtp_port, $multisite, $multisite_config ) = $argv;

define( 'WP_INSTALLING', true );
$_SERVER['HTTP_HOST']   = parse_url( $site_url, PHP_URL_HOST ) . ( parse_url( $site_url, PHP_URL_PORT ) ? ':' . parse_url( $site_url, PHP_URL_PORT ) : '' );
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

if ( '1' === $multisite && ! is_multisite() ) {
	require_once ABSPATH . 'wp-admin/includes/network.php';
	// What wp-admin/network.php does before it makes the network's tables: name them.
	foreach ( $wpdb->tables( 'ms_global' ) as $table => $prefixed_table ) {
		$wpdb->$table = $prefixed_table;
	}
	install_network();
	$host    = $_SERVER['HTTP_HOST'];
	$network = populate_network( 1, $host, 'admin@example.com', 'Rust Mail network', '/', false );
	if ( is_wp_error( $network ) ) {
		fwrite( STDERR, 'could not make the network: ' . $network->get_error_message() . "\n" );
		exit( 1 );
	}
	file_put_contents(
		$multisite_config,
		"<?php\n// Written by tests/harness/wp-install.php.\n"
		. "define( 'MULTISITE', true );\ndefine( 'SUBDOMAIN_INSTALL', false );\n"
		. "define( 'DOMAIN_CURRENT_SITE', '$host' );\ndefine( 'PATH_CURRENT_SITE', '/' );\n"
		. "define( 'SITE_ID_CURRENT_SITE', 1 );\ndefine( 'BLOG_ID_CURRENT_SITE', 1 );\n"
	);
	echo "made a network; installing its sites\n";
	passthru( escapeshellarg( PHP_BINARY ) . ' ' . implode( ' ', array_map( 'escapeshellarg', $argv ) ), $status );
	exit( $status );
}

if ( is_multisite() ) {
	$admin = get_user_by( 'login', 'admin' );
	grant_super_admin( $admin->ID );
	if ( ! domain_exists( $_SERVER['HTTP_HOST'], '/site2/' ) ) {
		$site_admin = get_user_by( 'login', 'siteadmin' );
		$site_admin = $site_admin ? $site_admin->ID : wp_create_user( 'siteadmin', wp_generate_password( 24 ), 'siteadmin@example.com' );
		$site2      = wp_insert_site( array( 'domain' => $_SERVER['HTTP_HOST'], 'path' => '/site2/', 'title' => 'Site 2', 'user_id' => $site_admin ) );
		if ( is_wp_error( $site2 ) ) {
			fwrite( STDERR, 'could not add /site2/: ' . $site2->get_error_message() . "\n" );
			exit( 1 );
		}
		echo "added /site2/ (blog $site2), administered by siteadmin\n";
	}
}

// The stack's capture server is the default mail server until someone picks another one (the network's on multisite).
$settings = is_multisite() ? get_site_option( 'rust_mail_settings', array() ) : get_option( 'rust_mail_settings', array() );
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
	is_multisite() ? update_site_option( 'rust_mail_settings', $settings ) : update_option( 'rust_mail_settings', $settings );
}

$activated = activate_plugin( 'rust-mail/rust-mail.php', '', is_multisite() );
if ( is_wp_error( $activated ) ) {
	fwrite( STDERR, 'could not activate rust-mail: ' . $activated->get_error_message() . "\n" );
	exit( 1 );
}
echo "rust-mail active\n";
