<?php
/**
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

/** A reply past RustMail_Transport_Smtp_Client's bounds; its connection is closed. `stage` names the step whose reply it was. */
class RustMail_Transport_Reply_Too_Large extends RuntimeException {

	/** @var string as the extension's errors name stages: greeting, ehlo, mail ... */
	public $stage;

	public function __construct( $message, $stage ) {
		parent::__construct( $message );
		$this->stage = $stage;
	}
}
