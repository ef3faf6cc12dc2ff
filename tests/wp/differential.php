<?php
/**
 * The differential test's wp_mail() calls, run once by stock WordPress (PHPMailer's SMTP client) and once through
 * rust-mail. Each scenario records its return value, the wp_mail_succeeded / wp_mail_failed payloads, and which
 * captured messages it produced. The behaviours follow WordPress core's tests/phpunit/tests/pluggable/wpMail.php,
 * plus HTML, alternatives, attachments, address lists, non-ASCII, and the Contact Form 7 / WooCommerce patterns.
 *
 * Environment: RUST_MAIL_TEST_CAPTURE_DIR (where the receiving server writes), RUST_MAIL_TEST_FILES (attachments).
 * Included by a snippet that has loaded WordPress; prints the records with out().
 */

$files = getenv( 'RUST_MAIL_TEST_FILES' );

$with_filter = static function ( $hook, $callback, $send ) {
	add_filter( $hook, $callback, 10, 5 );
	try {
		return $send();
	} finally {
		remove_filter( $hook, $callback, 10 );
	}
};

$long_line = str_repeat( 'A long line without any breaks, repeated. ', 40 );
$multipart = "--myboundary42\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nPlain part, {$long_line}\r\n--myboundary42\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n<p>HTML part</p>\r\n--myboundary42--\r\n";

$scenarios = array(
	'plain'                         => static fn() => wp_mail( 'someone@example.com', 'Plain subject', "Hello.\nSecond line.\n.A line starting with a dot\n" ),
	'long lines'                    => static fn() => wp_mail( 'someone@example.com', 'Long lines', $long_line . "\n" . $long_line ),
	'custom multipart boundary'     => static fn() => wp_mail( 'someone@example.com', 'Boundary', $multipart, "Content-Type: multipart/alternative; boundary=\"myboundary42\"\r\n" ),
	'multipart boundary line'       => static fn() => wp_mail( 'someone@example.com', 'Boundary line', $multipart, array( 'Content-Type: multipart/alternative;', 'boundary="myboundary42"' ) ),
	'names, upper-case headers'     => static fn() => wp_mail( 'Address Name <address@example.com>', 'Names', 'Body', array( 'FROM: From Name <from@example.com>', 'CC: Cc Name <cc@example.com>', 'BCC: Bcc Name <bcc@example.com>', 'REPLY-TO: Reply Name <reply@example.com>' ) ),
	'comma lists'                   => static fn() => wp_mail( 'one@example.com, Two <two@example.com>', 'Lists', 'Body', array( 'Cc: c1@example.com, C Two <c2@example.com>', 'Cc: c3@example.com', 'Bcc: b1@example.com, b2@example.com', 'Reply-To: r1@example.com, R Two <r2@example.com>' ) ),
	'address in brackets, no name'  => static fn() => wp_mail( '<address@example.com>', 'Brackets', 'Body', 'Cc: <cc@example.com>' ),
	'bad cc and bcc skipped'        => static fn() => wp_mail( 'good@example.com', 'Bad Cc', 'Body', array( 'Cc: not-an-address', 'Bcc: also bad@', 'Cc: fine@example.com' ) ),
	'bad attachment skipped'        => static fn() => wp_mail( 'good@example.com', 'Bad attachment', 'Body', '', array( '/nonexistent/file.txt', $files . '/report.txt' ) ),
	'bad to fails'                  => static fn() => wp_mail( 'not an address', 'Bad To', 'Body' ),
	'from header kept'              => static fn() => wp_mail( 'someone@example.com', 'From kept', 'Body', 'From: "Quoted Name" <quoted@example.com>' ),
	'from without space'            => static fn() => wp_mail( 'someone@example.com', 'From no space', 'Body', 'From:Name<nospace@example.com>' ),
	'from empty'                    => static fn() => wp_mail( 'someone@example.com', 'From empty', 'Body', 'From: ' ),
	'from empty name'               => static fn() => wp_mail( 'someone@example.com', 'From empty name', 'Body', 'From: <noname@example.com>' ),
	'from bare address'             => static fn() => wp_mail( 'someone@example.com', 'From bare', 'Body', 'From: bare@example.com' ),
	'empty home url'                => static fn() => $with_filter( 'network_home_url', '__return_empty_string', static fn() => wp_mail( 'someone@example.com', 'Empty home', 'Body' ) ),
	'content-type kept'             => static fn() => wp_mail( 'someone@example.com', 'Charset', "Caf\xe9", 'Content-Type: text/plain; charset=iso-8859-1' ),
	'content-type empty'            => static fn() => wp_mail( 'someone@example.com', 'CT empty', 'Body', 'Content-Type: ' ),
	'content-type empty charset'    => static fn() => wp_mail( 'someone@example.com', 'CT empty charset', 'Body', 'Content-Type: text/plain; charset=' ),
	'mime-version not duplicated'   => static fn() => wp_mail( 'someone@example.com', 'MIME', 'Body', array( 'MIME-Version: 1.0', 'X-Mailer: Something else', 'X-Custom: kept' ) ),
	'html'                          => static fn() => wp_mail( 'someone@example.com', 'HTML', '<h1>Title</h1><p>Body &amp; more</p>', 'Content-Type: text/html; charset=UTF-8' ),
	'content type filter'           => static fn() => $with_filter( 'wp_mail_content_type', static fn() => 'text/html', static fn() => wp_mail( 'someone@example.com', 'CT filter', '<b>bold</b>' ) ),
	'charset filter'                => static fn() => $with_filter( 'wp_mail_charset', static fn() => 'ISO-8859-1', static fn() => wp_mail( 'someone@example.com', 'Charset filter', 'plain' ) ),
	'from filters'                  => static fn() => $with_filter( 'wp_mail_from', static fn() => 'filtered@example.com', static fn() => $with_filter( 'wp_mail_from_name', static fn() => 'Filtered Name', static fn() => wp_mail( 'someone@example.com', 'From filters', 'Body' ) ) ),
	'wp_mail filter'                => static fn() => $with_filter( 'wp_mail', static fn( $atts ) => array_merge( $atts, array( 'subject' => 'Rewritten by wp_mail filter' ) ), static fn() => wp_mail( 'someone@example.com', 'Original', 'Body' ) ),
	'non-ascii subject and names'   => static fn() => wp_mail( 'Jürgen Groß <juergen@example.com>', 'Grüße aus Köln – ✓ 日本語', "Körper: äöü ß €\n", array( 'From: Zoë Ünïcødé <zoe@example.com>', 'Cc: Ångström <ang@example.com>', 'Reply-To: Ñandú <nandu@example.com>' ) ),
	'attachments'                   => static fn() => wp_mail( 'someone@example.com', 'Attachments', 'See attached.', '', array( $files . '/report.txt', $files . '/image.png' ) ),
	'attachments with names'        => static fn() => wp_mail( 'someone@example.com', 'Named attachments', 'See attached.', '', array( 'custom-name.txt' => $files . '/report.txt', $files . '/image.png' ) ),
	'attachments as string'         => static fn() => wp_mail( 'someone@example.com', 'Attachment string', 'See attached.', '', $files . "/report.txt\n" . $files . '/image.png' ),
	'ip domain'                     => static fn() => wp_mail( 'user@192.168.0.1', 'IP domain', 'Body', array( 'Cc: other@[127.0.0.1]' ) ),
	'short-circuit'                 => static fn() => $with_filter( 'pre_wp_mail', '__return_false', static fn() => wp_mail( 'someone@example.com', 'Short', 'Body' ) ),
	'plain and html alternative'    => static fn() => $with_filter(
		'phpmailer_init',
		static function ( $phpmailer ) {
			$phpmailer->AltBody = 'Plain alternative';
		},
		static fn() => wp_mail( 'someone@example.com', 'Alternative', '<p>HTML version</p>', 'Content-Type: text/html' )
	),
	'properties reset next call'    => static fn() => wp_mail( 'someone@example.com', 'Reset', 'Plain again' ),
	'contact form 7 html'           => static fn() => wp_mail( 'someone@example.com', 'CF7', '<p>Message from <b>the form</b></p>', array( 'X-WPCF7-Content-Type: text/html', 'Reply-To: visitor@example.com' ) ),
	'contact form 7 plain'          => static fn() => wp_mail( 'someone@example.com', 'CF7 plain', 'Plain form mail', array( 'X-WPCF7-Content-Type: text/plain' ) ),
	'woocommerce multipart'         => static fn() => rust_mail_test_woocommerce_send( 'customer@example.com', 'Your order', '<h1>Order #42</h1><p>Thanks!</p>', "Order #42\nThanks!" ),
	'after woocommerce'             => static fn() => wp_mail( 'someone@example.com', 'After WooCommerce', 'No AltBody left behind' ),
	'embedded image'                => static fn() => $with_filter(
		'phpmailer_init',
		static function ( $phpmailer ) use ( $files ) {
			$phpmailer->addEmbeddedImage( $files . '/image.png', 'logo-cid', 'logo.png' );
		},
		static fn() => wp_mail( 'someone@example.com', 'Embedded', '<p><img src="cid:logo-cid"></p>', 'Content-Type: text/html' )
	),
	// WordPress 6.9+: wp_mail()'s sixth argument, files embedded inline by Content-ID (the key). Older releases
	// ignore it, stock and plugin alike.
	'embeds'                        => static fn() => wp_mail( 'someone@example.com', 'Embeds', '<p><img src="cid:logo"> <img src="cid:1"></p>', 'Content-Type: text/html', array(), array( 'logo' => $files . '/image.png', 1 => $files . '/report.txt' ) ),
	'embeds as string, embed args'  => static fn() => $with_filter(
		'wp_mail_embed_args',
		static fn( $args ) => array_merge( $args, array( 'cid' => 'renamed-' . $args['cid'], 'name' => 'shown.png', 'type' => 'image/png' ) ),
		static fn() => wp_mail( 'someone@example.com', 'Embed args', '<img src="cid:renamed-0">', 'Content-Type: text/html', '', $files . '/image.png' )
	),
	// WordPress 6.8+ builds its mailer as WP_PHPMailer, whose error messages go through __(): a translated site's
	// wp_mail_failed speaks its language. The mailer takes its messages when it is made, so this one is made afresh
	// under a "translation" (and the next scenario gets an untranslated one again).
	'translated error'              => static function () use ( $with_filter ) {
		$GLOBALS['phpmailer'] = null;
		try {
			return $with_filter( 'gettext', static fn( $text ) => '[xx] ' . $text, static fn() => wp_mail( 'not an address', 'Translated', 'Body' ) );
		} finally {
			$GLOBALS['phpmailer'] = null;
		}
	},
	'sender set in phpmailer_init'  => static fn() => $with_filter(
		'phpmailer_init',
		static function ( $phpmailer ) {
			$phpmailer->Sender = 'bounces@example.com';
		},
		static fn() => wp_mail( 'someone@example.com', 'Sender', 'Body' )
	),
);

$capture_dir = getenv( 'RUST_MAIL_TEST_CAPTURE_DIR' );
$count       = static fn() => count( glob( $capture_dir . '/*.json' ) );
$actions     = array();
add_action(
	'wp_mail_succeeded',
	static function ( $data ) use ( &$actions ) {
		$actions[] = array( 'succeeded', $data );
	}
);
add_action(
	'wp_mail_failed',
	static function ( $error ) use ( &$actions ) {
		$actions[] = array( 'failed', $error->get_error_code(), $error->get_error_message(), $error->get_error_data() );
	}
);

$records = array();
foreach ( $scenarios as $name => $scenario ) {
	$actions = array();
	$before  = $count();
	$result  = $scenario();
	$records[ $name ] = array(
		'result'   => $result,
		'actions'  => $actions,
		'messages' => range( $before + 1, $count() ),
	);
	if ( $count() === $before ) {
		$records[ $name ]['messages'] = array();
	}
}
out( $records );
