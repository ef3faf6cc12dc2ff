<?php
/**
 * Routes wp_mail() through the engine in use (the rust_mail extension, or PHPMailer's SMTP without it) and writes the
 * connection log.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Mail_Router {

	/**
	 * The wp_mail() call in progress: who called it, whether it carries a login key, whether it has been logged yet.
	 *
	 * @var array{caller: string, logged: bool, attachment_names: array, carries_key: bool}|null
	 */
	private static $call = null;

	/** Set by a core filter that builds a mail carrying a key (below), for the wp_mail() call that follows it. */
	private static $next_carries_key = false;

	/**
	 * Core's filters for the mails whose body holds a key or a link that logs in, resets a password or confirms an
	 * action: password reset, new user, email and admin-email changes, personal data requests, multisite sign-up and
	 * welcome, recovery mode. Each runs just before its wp_mail() call. The body of such a mail is never logged,
	 * whatever the settings say: whoever reads the log would hold the key.
	 */
	const KEY_CARRYING_MAIL_FILTERS = array(
		'retrieve_password_notification_email',
		'wp_new_user_notification_email',
		'new_user_email_content',
		'new_admin_email_content',
		'new_network_admin_email_content',
		'user_request_action_email_content',
		'wpmu_signup_user_notification_email',
		'wpmu_signup_blog_notification_email',
		'update_welcome_email',
		'update_welcome_user_email',
		'recovery_mode_email',
	);

	/**
	 * A link that logs in, resets a password, confirms a request or downloads personal data, in a mail that no core
	 * filter above announced (other plugins' resets and magic logins, WooCommerce's among them, and all of these before
	 * WordPress 6.0): a URL with a `...key=` or `...token=` parameter holding a long value, or a personal-data export.
	 */
	const KEY_LINK = '~https?://[^\s"\'<>]*?(?:(?:[?&;])[a-z_-]*(?:key|token)=[^&\s"\'<>]{8,}|/wp-personal-data-exports/)~i';

	/** Whether a body holds a link that KEY_LINK recognises. */
	public static function has_key_link( $message ) {
		return is_string( $message ) && 1 === preg_match( self::KEY_LINK, $message );
	}

	/**
	 * Configured, and the exported rules readable: the settings' transport keys come from them. Without them wp_mail()
	 * is core's own, so mail still goes out, and the admin notice says why.
	 */
	public static function is_routing() {
		return RustMail_Settings_Store::is_configured() && null !== RustMail_Explain_Data::get();
	}

	/** Until a server is configured, prepare_call() leaves core's wp_mail() exactly as it is. */
	public static function register() {
		// Last, so that a plugin which short-circuits wp_mail() keeps doing so and nothing is prepared for it.
		add_filter( 'pre_wp_mail', array( __CLASS__, 'prepare_call' ), PHP_INT_MAX, 2 );
		add_filter( 'wp_mail_from', array( __CLASS__, 'filter_from' ), PHP_INT_MAX );
		add_filter( 'wp_mail_from_name', array( __CLASS__, 'filter_from_name' ), PHP_INT_MAX );
		// First, so that the log row exists before other listeners run.
		add_action( 'wp_mail_failed', array( __CLASS__, 'finish_failed_call' ), 0 );
		add_action( 'wp_mail_succeeded', array( __CLASS__, 'finish_call' ), 0 );
		foreach ( self::KEY_CARRYING_MAIL_FILTERS as $filter ) {
			add_filter( $filter, array( __CLASS__, 'mark_next_mail_carries_key' ), PHP_INT_MAX );
		}
	}

	/** A filter that changes nothing: it only notes that the next wp_mail() call is one of core's keyed mails. */
	public static function mark_next_mail_carries_key( $value ) {
		self::$next_carries_key = true;
		return $value;
	}

	/**
	 * `pre_wp_mail`: puts our PHPMailer in place for core's wp_mail() to use, and remembers the caller.
	 * Always returns the value it got, so core's wp_mail() continues (or stays short-circuited).
	 */
	public static function prepare_call( $short_circuit, $atts ) {
		global $phpmailer;
		$carries_key            = self::$next_carries_key;
		self::$next_carries_key = false;
		if ( null !== $short_circuit ) {
			return $short_circuit;
		}
		if ( ! self::is_routing() ) {
			// Not (or no longer) routing: hand core back a stock PHPMailer of its own making.
			if ( $phpmailer instanceof RustMail_Mail_Composer ) {
				$phpmailer = null;
			}
			return null;
		}
		if ( ! $phpmailer instanceof RustMail_Mail_Composer ) {
			$phpmailer = self::new_phpmailer();
		}
		self::$call = array(
			'caller'           => RustMail_Mail_Caller::detect(),
			'logged'           => false,
			'attachment_names' => self::attachment_names( $atts['attachments'] ?? array() ),
			'carries_key'      => $carries_key || self::has_key_link( $atts['message'] ?? '' ),
			'mail_data'        => self::core_mail_data( (array) $atts ),
		);
		return null;
	}

	/**
	 * What core passes to wp_mail_succeeded and wp_mail_failed, for a message whose outcome comes later: the
	 * arguments as core's wp_mail() leaves them once it has read them. `to`, `attachments` and `embeds` become lists
	 * (split, not trimmed, as core splits them); `headers` keeps only the custom headers, by name, without From,
	 * Content-Type, Cc, Bcc and Reply-To, which core takes out. `embeds` only from WordPress 6.9, which has it in $atts.
	 */
	private static function core_mail_data( array $atts ) {
		$data = array_intersect_key( $atts, array_flip( array( 'to', 'subject', 'message', 'headers', 'attachments', 'embeds' ) ) );
		if ( isset( $data['to'] ) && ! is_array( $data['to'] ) ) {
			$data['to'] = explode( ',', (string) $data['to'] );
		}
		foreach ( array( 'attachments', 'embeds' ) as $files ) {
			if ( isset( $data[ $files ] ) && ! is_array( $data[ $files ] ) ) {
				$data[ $files ] = explode( "\n", str_replace( "\r\n", "\n", (string) $data[ $files ] ) );
			}
		}
		if ( array_key_exists( 'headers', $data ) ) {
			$lines           = is_array( $data['headers'] ) ? $data['headers'] : explode( "\n", str_replace( "\r\n", "\n", (string) $data['headers'] ) );
			$data['headers'] = array();
			foreach ( empty( $atts['headers'] ) ? array() : $lines as $line ) {
				if ( false === strpos( (string) $line, ':' ) ) {
					continue;
				}
				list( $name, $content ) = explode( ':', trim( (string) $line ), 2 );
				if ( ! in_array( strtolower( trim( $name ) ), array( 'from', 'content-type', 'cc', 'bcc', 'reply-to' ), true ) ) {
					$data['headers'][ trim( $name ) ] = trim( $content );
				}
			}
		}
		return $data;
	}

	/**
	 * `['invoice.pdf' => '/tmp/x.pdf']`: the string key is the file name the recipient sees. WordPress 6.1 drops it
	 * (core honours it only from a later release), so it is remembered here, by path, for addAttachment().
	 *
	 * @param string|array $attachments As given to wp_mail().
	 * @return array<string, string> path => name
	 */
	private static function attachment_names( $attachments ) {
		$names = array();
		foreach ( is_array( $attachments ) ? $attachments : array() as $name => $path ) {
			if ( is_string( $name ) && '' !== $name && is_string( $path ) ) {
				$names[ $path ] = $name;
			}
		}
		return $names;
	}

	/** The name wp_mail()'s caller gave the attachment at `$path`, or '' when it gave none. */
	public static function attachment_name( $path ) {
		return self::$call['attachment_names'][ $path ] ?? '';
	}

	/**
	 * Built the way core builds its own (exceptions on, addresses validated by is_email()); on WordPress 6.8+ from
	 * core's WP_PHPMailer, as core's is (RustMail_Mail_Composer).
	 */
	private static function new_phpmailer() {
		require_once ABSPATH . WPINC . '/PHPMailer/PHPMailer.php';
		require_once ABSPATH . WPINC . '/PHPMailer/SMTP.php';
		require_once ABSPATH . WPINC . '/PHPMailer/Exception.php';
		if ( file_exists( ABSPATH . WPINC . '/class-wp-phpmailer.php' ) ) {
			require_once ABSPATH . WPINC . '/class-wp-phpmailer.php';
		}
		$mailer            = new RustMail_Mail_Composer( true );
		$mailer::$validator = static function ( $email ) {
			return (bool) is_email( $email );
		};
		return $mailer;
	}

	/**
	 * The From address setting replaces WordPress's default (wordpress@site) and, with "force", whatever a plugin set.
	 */
	public static function filter_from( $from_email ) {
		$configured = (string) RustMail_Settings_Store::get( 'from' );
		if ( '' === $configured || ! self::is_routing() ) {
			return $from_email;
		}
		if ( RustMail_Settings_Store::get( 'force_from' ) || 0 === strpos( (string) $from_email, 'wordpress@' ) ) {
			return $configured;
		}
		return $from_email;
	}

	public static function filter_from_name( $from_name ) {
		$configured = (string) RustMail_Settings_Store::get( 'from_name' );
		if ( '' === $configured || ! self::is_routing() ) {
			return $from_name;
		}
		if ( RustMail_Settings_Store::get( 'force_from' ) || 'WordPress' === $from_name ) {
			return $configured;
		}
		return $from_name;
	}

	/** "Force" also wins over a From set directly on PHPMailer in `phpmailer_init`. */
	public static function apply_forced_from( PHPMailer\PHPMailer\PHPMailer $mailer ) {
		$from = (string) RustMail_Settings_Store::get( 'from' );
		if ( '' === $from || ! RustMail_Settings_Store::get( 'force_from' ) ) {
			return;
		}
		$name = (string) RustMail_Settings_Store::get( 'from_name' );
		$mailer->setFrom( $from, '' === $name ? $mailer->FromName : $name, false );
	}

	/**
	 * Hands composed bytes to the outbox. Delivery "queued": stored with their log row before any network I/O, and
	 * sent after the response. Delivery "immediate": sent now, the caller waiting for the answer, and logged once with
	 * the outcome (RustMail_Outbox_Store::unstored()); a message over every rate limit is stored to wait.
	 *
	 * @return array the engine's result (rust_mail_send()'s shape), or `['ok' => true, 'queued' => true]` for a message that waits in the
	 *               outbox (queued mode, or over a rate limit).
	 */
	public static function deliver( PHPMailer\PHPMailer\PHPMailer $mailer, $raw, $envelope_from, array $recipients ) {
		$caller   = self::$call['caller'] ?? RustMail_Mail_Caller::detect();
		$queued   = RustMail_Outbox_Delivery::is_queued_mode() || RustMail_Outbox_Hold::keeps( $caller );
		$envelope = array( 'from' => $envelope_from, 'to' => $recipients );
		$route    = RustMail_Settings_Routes::pick( $mailer->From, $caller );
		$row      = array(
			'from_address' => $mailer->From,
			'recipients'   => self::recipients_text( $mailer ),
			'subject'      => $mailer->Subject,
			'message_id'   => $mailer->getLastMessageID(),
			'caller'       => $caller,
			'route'        => $route,
			'body'         => self::may_log_body() ? self::body_text( $mailer ) : null,
			'carries_key'  => ! empty( self::$call['carries_key'] ),
			'raw'          => $raw,
			'envelope'     => $envelope,
			'mail_data'    => self::$call['mail_data'] ?? array(),
		);
		if ( null !== self::$call ) {
			self::$call['logged'] = true;
		}
		if ( ! $queued ) {
			return RustMail_Outbox_Delivery::attempt( RustMail_Outbox_Store::unstored( $row ), false )['result'];
		}
		$stored = RustMail_Outbox_Store::store( $row );
		if ( ! $stored['id'] ) {
			// Not stored (the database refused the row, or a mail that carries a key and no key to seal it with):
			// sent at once rather than lost.
			return RustMail_Outbox_Delivery::send_through( $raw, $envelope, RustMail_Settings_Connections::prefix( RustMail_Outbox_Delivery::route( array( 'route' => $route ) ) ) );
		}
		RustMail_Outbox_Drain::send_after_response( $stored['id'] );
		return array( 'ok' => true, 'queued' => true );
	}

	/**
	 * A queued message's outcome is not known when wp_mail() returns true, yet core fires wp_mail_succeeded right
	 * after. For this one call its listeners are set aside and put back when core fires it; the outbox fires
	 * wp_mail_succeeded or wp_mail_failed, with core's data, at the real outcome.
	 */
	public static function defer_success_announcement() {
		global $wp_filter;
		$listeners                      = $wp_filter['wp_mail_succeeded'] ?? null;
		$wp_filter['wp_mail_succeeded'] = new WP_Hook();
		$wp_filter['wp_mail_succeeded']->add_filter(
			'wp_mail_succeeded',
			static function () use ( $listeners ) {
				global $wp_filter;
				if ( null === $listeners ) {
					unset( $wp_filter['wp_mail_succeeded'] );
				} else {
					$wp_filter['wp_mail_succeeded'] = $listeners;
				}
				self::finish_call();
			},
			10,
			0
		);
	}

	private static function recipients_text( PHPMailer\PHPMailer\PHPMailer $mailer ) {
		$parts = array();
		foreach ( array( 'To' => $mailer->getToAddresses(), 'Cc' => $mailer->getCcAddresses(), 'Bcc' => $mailer->getBccAddresses() ) as $label => $addresses ) {
			if ( $addresses ) {
				$parts[] = ( 'To' === $label ? '' : $label . ': ' ) . implode( ', ', array_column( $addresses, 0 ) );
			}
		}
		return implode( '; ', $parts );
	}

	/** Bodies are logged only when the settings ask for it, and never a body that carries a key. */
	private static function may_log_body() {
		return RustMail_Settings_Store::get( 'log_bodies' ) && empty( self::$call['carries_key'] );
	}

	private static function body_text( PHPMailer\PHPMailer\PHPMailer $mailer ) {
		return '' === $mailer->AltBody ? $mailer->Body : $mailer->Body . "\n\n-- text/plain alternative --\n" . $mailer->AltBody;
	}

	/**
	 * `wp_mail_failed`: a call that failed before reaching the extension (an invalid address, no recipients, a
	 * missing body) still gets its log row, with the reason WordPress gave.
	 */
	public static function finish_failed_call( $error ) {
		global $phpmailer;
		if ( null !== self::$call && ! self::$call['logged'] && is_wp_error( $error ) ) {
			$data = (array) $error->get_error_data();
			RustMail_Log_Store::add(
				array(
					'status'        => RustMail_Log_Store::STATUS_FAILED,
					'from_address'  => $phpmailer instanceof PHPMailer\PHPMailer\PHPMailer ? $phpmailer->From : '',
					'recipients'    => implode( ', ', (array) ( $data['to'] ?? array() ) ),
					'subject'       => (string) ( $data['subject'] ?? '' ),
					'error_kind'    => 'wordpress',
					'error_cause'   => 'wordpress',
					'error_message' => $error->get_error_message(),
					'caller'        => self::$call['caller'],
				)
			);
		}
		self::$call = null;
	}

	public static function finish_call() {
		self::$call = null;
	}
}
