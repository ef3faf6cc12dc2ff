<?php
/**
 * What Contact Form 7 does in phpmailer_init (includes/mail.php): drops its X-WPCF7-Content-Type marker header and,
 * for HTML mail, calls msgHTML() so that PHPMailer builds an HTML body with a generated plain-text alternative.
 */
add_action(
	'phpmailer_init',
	static function ( $phpmailer ) {
		$custom_headers = $phpmailer->getCustomHeaders();
		$phpmailer->clearCustomHeaders();
		$wpcf7_content_type = false;
		foreach ( (array) $custom_headers as $custom_header ) {
			list( $name, $value ) = $custom_header;
			if ( 'X-WPCF7-Content-Type' === $name ) {
				$wpcf7_content_type = trim( $value );
			} else {
				$phpmailer->addCustomHeader( $name, $value );
			}
		}
		if ( 'text/html' === $wpcf7_content_type ) {
			$phpmailer->msgHTML( $phpmailer->Body );
		} elseif ( 'text/plain' === $wpcf7_content_type ) {
			$phpmailer->AltBody = '';
		}
	}
);
