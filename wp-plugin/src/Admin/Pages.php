<?php
/**
 * The admin screens: the settings page, the connection log (list and entry), the dashboard widget, and what their
 * views share (capability, times, transcripts with secrets redacted).
 *
 * Every page and action requires the capability (manage_options; on multisite manage_network_options, and the pages
 * are network admin screens: the settings, the log and Diagnose are the network's, never a subsite administrator's);
 * every action then checks its nonce, then sanitizes its input.
 * Values are escaped where they are printed: subjects and addresses in the log come from strangers.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Admin_Pages {

	const SETTINGS_PAGE = 'rust-mail';

	/** @var string the log screen's hook suffix, for its load action and its assets. */
	private static $log_hook = '';

	/** @var RustMail_Admin_Log_Table|null made when the log screen loads: its bulk action runs before output. */
	private static $log_table = null;

	public static function register() {
		// The network's on multisite.
		add_action( is_multisite() ? 'network_admin_menu' : 'admin_menu', array( __CLASS__, 'add_menu' ) );
		add_action( 'admin_enqueue_scripts', array( __CLASS__, 'enqueue_assets' ) );
		add_filter( ( is_multisite() ? 'network_admin_' : '' ) . 'plugin_action_links_' . plugin_basename( RUST_MAIL_PLUGIN_FILE ), array( __CLASS__, 'plugin_action_links' ) );
		// The outbox at a glance.
		add_action( is_multisite() ? 'wp_network_dashboard_setup' : 'wp_dashboard_setup', array( __CLASS__, 'add_dashboard_widget' ) );
		// Screen Options are saved before any screen loads.
		add_filter( 'set_screen_option_' . RustMail_Admin_Log_Table::PER_PAGE_OPTION, array( __CLASS__, 'save_log_per_page' ), 10, 3 );
	}

	/** The log's rows per page, as Screen Options saves it: 1 to 500. */
	public static function save_log_per_page( $keep, $option, $value ) {
		return min( 500, max( 1, absint( $value ) ) );
	}

	/** Before the log screen is drawn: its Screen Options, its table, and the bulk action it was asked for. */
	public static function load_log_page() {
		self::require_capability();
		add_screen_option(
			'per_page',
			array(
				'label'   => __( 'Messages per page', 'rust-mail' ),
				'default' => RustMail_Admin_Log_Table::PER_PAGE,
				'option'  => RustMail_Admin_Log_Table::PER_PAGE_OPTION,
			)
		);
		self::$log_table = new RustMail_Admin_Log_Table();
		self::$log_table->process_bulk_action();
	}

	/** Who may see and change the mail settings, the log and Diagnose. */
	public static function capability() {
		return is_multisite() ? 'manage_network_options' : 'manage_options';
	}

	public static function add_menu() {
		add_menu_page(
			__( 'Rust Mail', 'rust-mail' ),
			__( 'Rust Mail', 'rust-mail' ),
			self::capability(),
			self::SETTINGS_PAGE,
			array( __CLASS__, 'render_settings_page' ),
			'dashicons-email-alt'
		);
		add_submenu_page( self::SETTINGS_PAGE, __( 'Rust Mail settings', 'rust-mail' ), __( 'Settings', 'rust-mail' ), self::capability(), self::SETTINGS_PAGE, array( __CLASS__, 'render_settings_page' ) );
		self::$log_hook = (string) add_submenu_page( self::SETTINGS_PAGE, __( 'Connection log', 'rust-mail' ), __( 'Connection log', 'rust-mail' ), self::capability(), RustMail_Log_Store::PAGE, array( __CLASS__, 'render_log_page' ) );
		add_action( 'load-' . self::$log_hook, array( __CLASS__, 'load_log_page' ) );
	}

	public static function plugin_action_links( $links ) {
		array_unshift( $links, '<a href="' . esc_url( self::settings_url() ) . '">' . esc_html__( 'Settings', 'rust-mail' ) . '</a>' );
		return $links;
	}

	public static function enqueue_assets( $hook ) {
		if ( self::$log_hook === $hook ) {
			wp_enqueue_style( 'rust-mail-log', plugins_url( 'assets/log.css', RUST_MAIL_PLUGIN_FILE ), array(), RUST_MAIL_PLUGIN_VERSION );
			wp_enqueue_script( 'rust-mail-log', plugins_url( 'assets/log.js', RUST_MAIL_PLUGIN_FILE ), array(), RUST_MAIL_PLUGIN_VERSION, true );
			// The question each bulk action asks before it runs; %d is the number of messages selected.
			$questions = array(
				/* translators: %d: number of messages */
				'resend' => __( 'Send these %d messages again, each as a new entry?', 'rust-mail' ),
				/* translators: %d: number of messages */
				'cancel' => __( 'Cancel these %d messages? Those waiting in the outbox will never be sent.', 'rust-mail' ),
				/* translators: %d: number of messages */
				'delete' => __( 'Delete these %d entries from the log? This cannot be undone.', 'rust-mail' ),
			);
			wp_add_inline_script( 'rust-mail-log', 'window.rustMailLog = ' . wp_json_encode( array( 'questions' => $questions ) ) . ';', 'before' );
			return;
		}
		if ( 'toplevel_page_' . self::SETTINGS_PAGE !== $hook ) {
			return;
		}
		wp_enqueue_script( 'rust-mail-settings', plugins_url( 'assets/settings.js', RUST_MAIL_PLUGIN_FILE ), array(), RUST_MAIL_PLUGIN_VERSION, true );
		$presets  = array();
		$also     = array();
		$limits   = array();
		$signin   = array();
		$defaults = array();
		foreach ( RustMail_Settings_Presets::all() as $name => $preset ) {
			$presets[ $name ] = $preset['values'];
			$also[ $name ]    = $preset['also'] ?? (object) array();
			$limits[ $name ]  = $preset['limits'] ?? (object) array();
			if ( isset( $preset['signin'] ) ) {
				$signin[ $name ] = $preset['signin'];
			}
			foreach ( array_keys( RustMail_Settings_Presets::owned( $name ) ) as $key ) {
				$defaults[ $key ] = RustMail_Settings_Schema::default_value( $key );
			}
		}
		wp_add_inline_script(
			'rust-mail-settings',
			'window.rustMailSettings = ' . wp_json_encode(
				array(
					'presets'     => $presets,
					'also'        => $also,
					'limits'      => $limits,
					'fixed'       => RustMail_Settings_Store::fixed_keys(),
					'apiFields'   => RustMail_Settings_Presets::api_fields(),
					'defaults'    => $defaults,
					'savedPreset' => RustMail_Settings_Store::get( 'preset' ),
					'signin'      => (object) $signin,
					'words'       => array(
						'empty'         => __( '(empty)', 'rust-mail' ),
						'presetChanged' => __( 'The preset changed these fields (its values replace those of the preset before; nothing is saved until you save):', 'rust-mail' ),
						'working'       => __( 'Working with the values on this page…', 'rust-mail' ),
						'failed'        => __( 'The request failed; reload the page and try again.', 'rust-mail' ),
						'viewInLog'     => __( 'View in the connection log', 'rust-mail' ),
					),
				)
			) . ';',
			'before'
		);
	}

	/**
	 * A preset an explanation's cause proposes, for a link to the settings page: Microsoft's retired password login
	 * (5.7.139, 5.7.30) to the Graph API, which needs no SMTP AUTH. Null for every other cause.
	 *
	 * @return array{preset: string, label: string, url: string}|null
	 */
	public static function proposed_preset( $cause ) {
		if ( 'basic_auth_retired' !== $cause ) {
			return null;
		}
		return array(
			'preset' => 'm365_graph',
			'label'  => __( 'Switch to the Microsoft 365 (Graph API) preset', 'rust-mail' ),
			'url'    => self::settings_url( array( 'preset' => 'm365_graph' ) ) . '#rust-mail-presets',
		);
	}

	/** The settings screen: on multisite in the network admin. */
	public static function settings_url( array $args = array() ) {
		$path = 'admin.php?page=' . self::SETTINGS_PAGE;
		return add_query_arg( $args, is_multisite() ? network_admin_url( $path ) : admin_url( $path ) );
	}

	public static function render_settings_page() {
		self::require_capability();
		require __DIR__ . '/views/settings-page.php';
	}

	/** A diagnosis's verdict, advice and steps (views/diagnosis.php). */
	public static function render_diagnosis( array $rust_mail_diagnosis ) {
		require __DIR__ . '/views/diagnosis.php';
	}

	/**
	 * How a notice names a setting: its label on the page, "Fallback connection: Host" for the fallback's fields that
	 * share the primary's label, the key where the page has no label.
	 */
	public static function field_label( $key ) {
		$entry = RustMail_Settings_Schema::entries()[ $key ] ?? array();
		$label = (string) ( $entry['label'] ?? ( 'preset' === $key ? __( 'Preset', 'rust-mail' ) : $key ) );
		if ( 'fallback' === ( $entry['section'] ?? '' ) ) {
			/* translators: %s: a field's label, such as Host */
			return sprintf( __( 'Fallback connection: %s', 'rust-mail' ), $label );
		}
		return $label;
	}

	public static function render_log_page() {
		self::require_capability();
		$entry_id = isset( $_GET['entry'] ) ? absint( $_GET['entry'] ) : 0; // phpcs:ignore WordPress.Security.NonceVerification -- viewing, not acting.
		if ( $entry_id ) {
			$entry = RustMail_Log_Store::get( $entry_id );
			require __DIR__ . '/views/log-entry.php';
			return;
		}
		$table = self::$log_table ?? new RustMail_Admin_Log_Table();
		$table->prepare_items();
		require __DIR__ . '/views/log-list.php';
	}

	public static function require_capability() {
		if ( ! current_user_can( self::capability() ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to manage mail settings.', 'rust-mail' ), 403 );
		}
	}

	public static function add_dashboard_widget() {
		if ( current_user_can( self::capability() ) ) {
			wp_add_dashboard_widget( 'rust_mail_outbox', __( 'Mail (Rust Mail)', 'rust-mail' ), array( __CLASS__, 'render_dashboard_widget' ) );
		}
	}

	public static function render_dashboard_widget() {
		require __DIR__ . '/views/mail-chart.php';
		echo '<p><a href="' . esc_url( RustMail_Log_Store::url() ) . '">' . esc_html__( 'Connection log', 'rust-mail' ) . '</a></p>';
	}


	/**
	 * Defence in depth: the extension already redacts AUTH in transcripts, but nothing the plugin prints may ever
	 * contain the password, plain or in the base64 forms AUTH uses.
	 */
	public static function redact( $text ) {
		$user  = (string) RustMail_Settings_Store::get( 'username' );
		$forms = array();
		foreach ( array( RustMail_Settings_Store::get( 'password' ), RustMail_Settings_Store::get( 'oauth_client_secret' ), RustMail_OAuth_Token::cached_token( true ), RustMail_OAuth_Token::cached_token( true, RustMail_OAuth_Token::GRAPH_SCOPE ) ) as $secret ) {
			array_push( $forms, ...RustMail_Explain_Redactor::forms( $user, $secret ) );
		}
		// Every other connection's password, with its own user name.
		foreach ( RustMail_Settings_Connections::all() as $prefix ) {
			if ( '' !== $prefix ) {
				array_push( $forms, ...RustMail_Explain_Redactor::forms( (string) RustMail_Settings_Store::get( $prefix . 'username' ), RustMail_Settings_Store::get( $prefix . 'password' ) ) );
			}
		}
		return RustMail_Explain_Redactor::text( $text, $forms );
	}

	/** One transcript line ([ms, direction, text]) as text. */
	public static function transcript_line( $line ) {
		$line = array_values( (array) $line );
		return sprintf( '%6s ms  %-6s %s', $line[0] ?? '', $line[1] ?? '', self::redact( $line[2] ?? '' ) );
	}

	/** Log timestamps are stored in UTC; shown in the site's time zone and format. */
	public static function format_time( $utc ) {
		$timestamp = strtotime( $utc . ' UTC' );
		return wp_date( get_option( 'date_format' ) . ' H:i:s', $timestamp );
	}
}
