<?php
/**
 * data/classifier.json, which `./build.sh rules` exports from the Rust code (the classifier's rules and texts, the
 * `$transport` keys and the secret forms): read at most once per request, never per mail. A file that cannot be read
 * or decoded throws nothing: get() returns null and problem() says why, for the admin notice.
 *
 * Plain PHP: no WordPress function, so the rules export test runs it without WordPress.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

final class RustMail_Explain_Data {

	/** @var array|false|null the decoded file; false once it failed to load in this request; null before the first read. */
	private static $data = null;

	/** @var string why the file could not be used, '' when it could. */
	private static $problem = '';

	public static function file() {
		return dirname( __DIR__, 2 ) . '/data/classifier.json';
	}

	/** @return array|null the decoded file, or null when it cannot be read or decoded (problem() says why). */
	public static function get() {
		if ( null === self::$data ) {
			self::$data = self::load();
		}
		return false === self::$data ? null : self::$data;
	}

	/** @return string why the exported data cannot be used, '' when it can. */
	public static function problem() {
		self::get();
		return self::$problem;
	}

	private static function load() {
		$file = self::file();
		$text = is_readable( $file ) ? file_get_contents( $file ) : false;
		if ( false === $text ) {
			self::$problem = "the classifier's rules cannot be read from $file";
			return false;
		}
		$data = json_decode( $text, true );
		if ( ! is_array( $data ) || ! isset( $data['rules'], $data['kinds'], $data['transport'], $data['verdicts'] ) ) {
			self::$problem = "the classifier's rules in $file are not valid JSON of the expected shape";
			return false;
		}
		return $data;
	}
}
