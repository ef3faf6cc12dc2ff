<?php
/**
 * The connection log out of WordPress: the filtered list as CSV, and one kept message as an .eml file that a mail
 * program opens. Both are downloads of admin-post.php actions (RustMail_Admin_Actions checks capability and nonce).
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Admin_Log_Export {

	/**
	 * A value as a spreadsheet cell that stays text: subjects and addresses come from strangers, and a cell starting
	 * with = + - @ (or a tab or CR) would be read as a formula by Excel and LibreOffice (CSV injection).
	 */
	public static function csv_cell( $value ) {
		$value = (string) $value;
		return '' !== $value && false !== strpos( "=+-@\t\r", $value[0] ) ? "'" . $value : $value;
	}

	/** Streams the rows the list's filters select as CSV (UTF-8 with a byte order mark, which Excel needs). */
	public static function send_csv( array $filters ) {
		nocache_headers();
		header( 'Content-Type: text/csv; charset=utf-8' );
		header( 'Content-Disposition: attachment; filename="rust-mail-log-' . gmdate( 'Ymd-His' ) . '.csv"' );
		header( 'X-Content-Type-Options: nosniff' );
		$out = fopen( 'php://output', 'w' );
		fwrite( $out, "\xEF\xBB\xBF" );
		fputcsv( $out, array( 'id', 'time_utc', 'status', 'from', 'recipients', 'subject', 'cause', 'error', 'code', 'enhanced_code', 'duration_ms', 'attempts', 'connection', 'sent_by' ), ',', '"', '' );
		foreach ( RustMail_Log_Store::each_row( $filters ) as $row ) {
			$cause = '' === $row['error_cause'] ? $row['error_kind'] : $row['error_cause'];
			$cells = array( $row['id'], $row['created_at'], $row['status'], $row['from_address'], $row['recipients'], $row['subject'], $cause, RustMail_Admin_Pages::redact( $row['error_message'] ), $row['smtp_code'], $row['enhanced_code'], $row['duration_ms'], $row['attempts'], $row['connection'], RustMail_Mail_Caller::label( $row['caller'] ) );
			fputcsv( $out, array_map( array( __CLASS__, 'csv_cell' ), $cells ), ',', '"', '' );
		}
		fclose( $out );
	}

	/** The message's bytes as kept in the log, for a mail program; false when they are not kept. */
	public static function send_eml( $id ) {
		$row = RustMail_Log_Store::get( $id );
		if ( ! $row || null === $row['raw'] ) {
			return false;
		}
		$raw = RustMail_Log_Store::unseal( $row, 'outbox_raw' );
		nocache_headers();
		header( 'Content-Type: message/rfc822' );
		header( 'Content-Disposition: attachment; filename="rust-mail-' . (int) $id . '.eml"' );
		header( 'X-Content-Type-Options: nosniff' );
		echo $raw; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- a download of the message as sent, not a page.
		return true;
	}
}
