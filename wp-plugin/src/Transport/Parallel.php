<?php
/**
 * A transport that can also send a batch over parallel connections: the outbox drains a backlog that way.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

interface RustMail_Transport_Parallel extends RustMail_Transport_Interface {

	/**
	 * Composed messages (`id => ['raw' => ..., 'envelope' => ...]`) over `$connections` parallel connections of one
	 * transport: one result per message under its id, shaped like send()'s. A message not started within `$seconds`
	 * is not sent (error kind `timeout` at stage `connect`, nothing said to a server).
	 *
	 * @throws Throwable for a transport it refuses.
	 */
	public static function send_many( array $messages, array $transport, $connections, $seconds );
}
