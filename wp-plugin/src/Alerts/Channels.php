<?php
/**
 * Where alerts go: email, Slack, Microsoft Teams, Discord and a generic webhook, as the Alerts page sets them.
 *
 * - Email goes straight to the engine (never queued behind the mail it is about) through the fallback connection,
 *   or a connection the owner names, or PHP's mail(); never through the connection that is failing.
 * - The webhooks get a JSON POST (wp_remote_post()). Their URLs are secrets of a kind (whoever has one can post to
 *   the channel): the page shows only their host, and no log or status line holds them. Only https is accepted,
 *   and http to this machine (127.0.0.0/8, ::1, localhost), for a relay on the same host and for tests.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Alerts_Channels {

	/** Option: the channels' settings. */
	const OPTION = 'rust_mail_alerts';

	/** Option: each channel's last delivery, for the page: time, whether it worked, and why not. */
	const STATUS_OPTION = 'rust_mail_alerts_status';

	/** The webhook channels, in the page's order. */
	const WEBHOOKS = array( 'slack', 'teams', 'discord', 'webhook' );

	/** Email through PHP's mail() (the other choices are connection names; '' picks the fallback, else mail()). */
	const VIA_PHP_MAIL = 'php_mail';

	/** Seconds a webhook may take. */
	const TIMEOUT = 10;

	/** Discord refuses a `content` over 2,000 characters. */
	const DISCORD_MAX = 2000;

	public static function defaults() {
		return array(
			'email'     => false,
			'email_to'  => '',
			'email_via' => '',
			'slack'     => '',
			'teams'     => '',
			'discord'   => '',
			'webhook'   => '',
			'summary'   => false,
		);
	}

	/** @return array the channels' settings, each key present */
	public static function settings() {
		$saved = RustMail_Settings_Store::get_plugin_option( self::OPTION, array() );
		return array_intersect_key( ( is_array( $saved ) ? $saved : array() ) + self::defaults(), self::defaults() );
	}

	/** Channel names and their labels. */
	public static function labels() {
		return array(
			'email'   => __( 'Email', 'rust-mail' ),
			'slack'   => __( 'Slack', 'rust-mail' ),
			'teams'   => __( 'Microsoft Teams', 'rust-mail' ),
			'discord' => __( 'Discord', 'rust-mail' ),
			'webhook' => __( 'Webhook (JSON)', 'rust-mail' ),
		);
	}

	/** @return string[] the channels that are set up */
	public static function enabled() {
		$settings = self::settings();
		$enabled  = $settings['email'] ? array( 'email' ) : array();
		foreach ( self::WEBHOOKS as $channel ) {
			if ( '' !== $settings[ $channel ] ) {
				$enabled[] = $channel;
			}
		}
		return $enabled;
	}

	/** Where alert mail goes: the address set, or the site administrator's. */
	public static function email_to() {
		$to = self::settings()['email_to'];
		return '' !== $to ? $to : (string) ( is_multisite() ? get_site_option( 'admin_email' ) : get_option( 'admin_email' ) );
	}

	/**
	 * Why a webhook URL cannot be used, '' when it can: https with a host, or http to this machine only.
	 */
	public static function url_problem( $url ) {
		$parts = wp_parse_url( $url );
		$host  = strtolower( trim( (string) ( $parts['host'] ?? '' ), '[]' ) );
		if ( ! is_array( $parts ) || '' === $host || ! in_array( $parts['scheme'] ?? '', array( 'https', 'http' ), true ) || preg_match( '/[\s<>"]/', $url ) ) {
			return __( 'This is not a web address: paste the whole URL the service gave you, starting with https://.', 'rust-mail' );
		}
		if ( 'http' === $parts['scheme'] && ! self::is_loopback( $host ) ) {
			return __( 'The address must start with https://: the alert would cross the network unencrypted, and whoever reads the address can post to your channel. (http:// is accepted only to this machine.)', 'rust-mail' );
		}
		return '';
	}

	private static function is_loopback( $host ) {
		return 'localhost' === $host || '::1' === $host || ( filter_var( $host, FILTER_VALIDATE_IP, FILTER_FLAG_IPV4 ) && 0 === strpos( $host, '127.' ) );
	}

	/** A webhook URL as the page shows it: its scheme and host, never the path that holds the secret. */
	public static function masked( $url ) {
		$parts = wp_parse_url( $url );
		return is_array( $parts ) && isset( $parts['host'] ) ? $parts['scheme'] . '://' . $parts['host'] . ( isset( $parts['port'] ) ? ':' . $parts['port'] : '' ) . '/…' : '';
	}

	/**
	 * Sends a message to every channel that is set up.
	 *
	 * @param array  $message RustMail_Alerts_Message's.
	 * @param string $failing the connection that fails ('' for none): alert mail never goes through it.
	 * @return array<string, string> channel => '' when it was delivered, else why not.
	 */
	public static function send_all( array $message, $failing = '' ) {
		$results = array();
		foreach ( self::enabled() as $channel ) {
			$results[ $channel ] = self::send( $channel, $message, $failing );
		}
		return $results;
	}

	/**
	 * Sends a message to one channel, and notes how it went for the page.
	 *
	 * @return string '' when it was delivered, else why not (no URL in it).
	 */
	public static function send( $channel, array $message, $failing = '' ) {
		try {
			$problem = 'email' === $channel ? self::send_email( $message, $failing ) : self::post( self::settings()[ $channel ], self::payload( $channel, $message ) );
		} catch ( Throwable $e ) {
			$problem = $e->getMessage();
		}
		if ( 'email' !== $channel && '' !== $problem ) {
			// An HTTP library's message may quote the address: it is a secret of a kind.
			$problem = str_replace( self::settings()[ $channel ], self::masked( self::settings()[ $channel ] ), $problem );
		}
		$status             = (array) RustMail_Settings_Store::get_plugin_option( self::STATUS_OPTION, array() );
		$status[ $channel ] = array( 'at' => gmdate( 'Y-m-d H:i:s' ), 'event' => $message['event'], 'problem' => $problem );
		RustMail_Settings_Store::update_plugin_option( self::STATUS_OPTION, $status );
		return $problem;
	}

	/**
	 * Each service's JSON: Slack's incoming webhook (`text`), a Teams workflow's "When a Teams webhook request is
	 * received" (an Adaptive Card in `attachments`), Discord's webhook (`content`, at most 2,000 characters), and
	 * the generic webhook (the message itself; see the readme for its schema). Subjects come from strangers: Slack
	 * gets &, < and > escaped as its docs ask (else "<!channel>" in a subject would notify the whole channel), and
	 * Discord is told to notify nobody (`allowed_mentions`), whatever "@everyone" a subject holds.
	 */
	public static function payload( $channel, array $message ) {
		switch ( $channel ) {
			case 'slack':
				$text = '*' . $message['title'] . "*\n" . RustMail_Alerts_Message::text( $message, false );
				return array( 'text' => strtr( $text, array( '&' => '&amp;', '<' => '&lt;', '>' => '&gt;' ) ) );
			case 'discord':
				$text = '**' . $message['title'] . "**\n" . RustMail_Alerts_Message::text( $message, false );
				return array(
					'content'          => mb_strlen( $text ) > self::DISCORD_MAX ? mb_substr( $text, 0, self::DISCORD_MAX - 1 ) . '…' : $text,
					'allowed_mentions' => array( 'parse' => array() ),
				);
			case 'teams':
				$body = array(
					array( 'type' => 'TextBlock', 'text' => $message['title'], 'weight' => 'Bolder', 'size' => 'Medium', 'wrap' => true ),
				);
				foreach ( $message['lines'] as $line ) {
					$body[] = array( 'type' => 'TextBlock', 'text' => $line, 'wrap' => true );
				}
				$card = array(
					'$schema' => 'http://adaptivecards.io/schemas/adaptive-card.json',
					'type'    => 'AdaptiveCard',
					'version' => '1.4',
					'body'    => $body,
				);
				if ( '' !== $message['url'] ) {
					$card['actions'] = array( array( 'type' => 'Action.OpenUrl', 'title' => __( 'Open the connection log', 'rust-mail' ), 'url' => $message['url'] ) );
				}
				return array(
					'type'        => 'message',
					'attachments' => array( array( 'contentType' => 'application/vnd.microsoft.card.adaptive', 'content' => $card ) ),
				);
			default:
				return array(
					'event'    => $message['event'],
					'site'     => array( 'name' => wp_specialchars_decode( get_bloginfo( 'name' ), ENT_QUOTES ), 'url' => home_url( '/' ) ),
					'title'    => $message['title'],
					'text'     => RustMail_Alerts_Message::text( $message, false ),
					'log_url'  => $message['url'],
					'incident' => $message['incident'],
					'summary'  => $message['summary'] ?? null,
				);
		}
	}

	/** @return string '' when the service answered 2xx, else why not. */
	private static function post( $url, array $payload ) {
		if ( '' !== self::url_problem( $url ) ) {
			return self::url_problem( $url );
		}
		$response = wp_remote_post(
			$url,
			array(
				'headers'     => array( 'Content-Type' => 'application/json; charset=utf-8' ),
				'body'        => wp_json_encode( $payload ),
				'timeout'     => self::TIMEOUT,
				// A redirect would carry the alert where the owner did not point it.
				'redirection' => 0,
			)
		);
		if ( is_wp_error( $response ) ) {
			/* translators: %s: the HTTP library's message */
			return sprintf( __( 'Not delivered: %s', 'rust-mail' ), $response->get_error_message() );
		}
		$code = (int) wp_remote_retrieve_response_code( $response );
		/* translators: %d: HTTP status code */
		return $code >= 200 && $code < 300 ? '' : sprintf( __( 'The service answered HTTP %d.', 'rust-mail' ), $code );
	}

	/**
	 * The connection alert mail goes through: the one named on the page, else the fallback; null for PHP's mail().
	 * Never the connection that fails: then mail().
	 *
	 * @return string|null a connection name, or null for mail().
	 */
	public static function email_connection( $failing ) {
		$via = self::settings()['email_via'];
		if ( '' === $via ) {
			$via = RustMail_Settings_Store::has_fallback() ? RustMail_Settings_Connections::FALLBACK : self::VIA_PHP_MAIL;
		}
		$exists = isset( RustMail_Settings_Connections::all()[ $via ] );
		return ! $exists || $via === $failing ? null : $via;
	}

	/** @return string '' when the mail was handed over, else why not. */
	private static function send_email( array $message, $failing ) {
		$to         = self::email_to();
		$from       = (string) RustMail_Settings_Store::get( 'from' );
		$from       = is_email( $from ) ? $from : $to;
		$connection = self::email_connection( $failing );
		if ( null !== $connection ) {
			$result = RustMail_Transport_Registry::send_text( $from, $to, $message['title'], RustMail_Alerts_Message::text( $message, false ) . "\n", RustMail_Transport_Connection::transport( true, RustMail_Settings_Connections::prefix( $connection ) ) );
			return empty( $result['ok'] ) ? RustMail_Transport_Result::error( $result )['message'] : '';
		}
		require_once ABSPATH . WPINC . '/PHPMailer/PHPMailer.php';
		require_once ABSPATH . WPINC . '/PHPMailer/Exception.php';
		$mail          = new PHPMailer\PHPMailer\PHPMailer( true );
		$mail->CharSet = 'UTF-8';
		$mail->isMail();
		$mail->setFrom( $from );
		$mail->addAddress( $to );
		$mail->Subject = $message['title'];
		$mail->Body    = RustMail_Alerts_Message::text( $message, false ) . "\n";
		$mail->send();
		return '';
	}
}
