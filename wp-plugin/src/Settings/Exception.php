<?php
/**
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

/** The settings cannot be used as they are; the message says which constants to add. */
class RustMail_Settings_Exception extends RuntimeException {
}
