<?php
/**
 * Microsoft 365 direct send: the tenant's domain gives the host (its MX, *.mail.protection.outlook.com), and its SPF
 * record must allow the address this site sends from, or Microsoft files the mail as spoofed.
 *
 * The lookups go through the extension's resolver when it is loaded: rust_mail_diagnose() with `mx_domain` finds the
 * MX host, and with a From address on that domain and no login it reads the domain's SPF records (its sender_dns
 * step). Without the extension, PHP's dns_get_record() asks the system's resolver. The `rust_mail_nameserver` filter
 * names another DNS server (address[:port]) for the extension's lookups; dns_get_record() cannot be pointed at one.
 * The judgement of the records is pure (spf_judgement()).
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

class RustMail_Settings_Direct_Send {

	/** Microsoft's SPF include for Exchange Online, which its direct-send guidance keeps next to the site's address. */
	const MICROSOFT_INCLUDE = 'include:spf.protection.outlook.com';

	/** Seconds the extension's walk may take: the lookups, then a try of the MX host's port 25. */
	const TIMEOUT = 5;

	/**
	 * The MX host and SPF records of a domain, and whether the records allow this site's address.
	 *
	 * @param string $domain the tenant's domain, such as contoso.com.
	 * @param string $ip     this site's public address as the owner typed it; '' to find it.
	 * @return array{error: string, mx: string[], host: string, spf: string[], ip: string, ip_found: bool, judgement: array}
	 *         error '' when the MX host was found; ip '' when the site's public address is not known here.
	 */
	public static function lookup( $domain, $ip = '' ) {
		$records = function_exists( 'rust_mail_diagnose' ) ? self::records_from_extension( $domain ) : self::records_from_php( $domain );
		$found   = '' === $ip ? self::sending_ip( $records['addresses'] ) : '';
		$ip      = '' === $ip ? $found : $ip;
		return array(
			'error'     => $records['error'],
			'mx'        => $records['mx'],
			'host'      => $records['mx'][0] ?? '',
			'spf'       => $records['spf'],
			'ip'        => $ip,
			'ip_found'  => '' !== $found,
			'judgement' => '' === $ip || '' !== $records['error'] ? null : self::spf_judgement( $records['spf'], $ip ),
		);
	}

	/**
	 * Whether a domain's SPF records allow an address, and the record to publish when they do not. Not an SPF
	 * evaluation (no include is followed): for direct send the site's own address must be named, by an ip4: or ip6:
	 * term that holds it, as Microsoft's guidance does.
	 *
	 * @param string[] $txt the domain's SPF records (or all its TXT records).
	 * @param string   $ip  the site's public address.
	 * @return array{status: string, record: string} status 'allowed', 'missing' (no SPF record), 'several' (more than
	 *         one, which receivers treat as an error) or 'not_listed'; record: the one record to publish instead, or ''.
	 */
	public static function spf_judgement( array $txt, $ip ) {
		$spf  = array_values( array_filter( $txt, array( __CLASS__, 'is_spf' ) ) );
		$term = ( false !== strpos( $ip, ':' ) ? 'ip6:' : 'ip4:' ) . $ip;
		if ( ! $spf ) {
			return array( 'status' => 'missing', 'record' => 'v=spf1 ' . $term . ' ' . self::MICROSOFT_INCLUDE . ' -all' );
		}
		if ( count( $spf ) > 1 ) {
			return array( 'status' => 'several', 'record' => self::with_term( $spf[0], $term ) );
		}
		foreach ( preg_split( '/\s+/', trim( $spf[0] ) ) as $mechanism ) {
			if ( preg_match( '/^\+?ip[46]:(.+)$/i', $mechanism, $network ) && self::in_network( $ip, $network[1] ) ) {
				return array( 'status' => 'allowed', 'record' => '' );
			}
		}
		return array( 'status' => 'not_listed', 'record' => self::with_term( $spf[0], $term ) );
	}

	private static function is_spf( $txt ) {
		return 1 === preg_match( '/^v=spf1(\s|$)/i', trim( (string) $txt ) );
	}

	/** The record with the term added before its `all` or `redirect=` (which end the record), else at its end. */
	private static function with_term( $spf, $term ) {
		$terms = preg_split( '/\s+/', trim( $spf ) );
		$at    = count( $terms );
		foreach ( $terms as $index => $existing ) {
			if ( preg_match( '/^([-+~?]?all|redirect=.*)$/i', $existing ) ) {
				$at = $index;
				break;
			}
		}
		array_splice( $terms, $at, 0, array( $term ) );
		return implode( ' ', $terms );
	}

	/** Whether an address is in a network given as an address or address/prefix length, in either family. */
	public static function in_network( $ip, $network ) {
		list( $base, $bits ) = array_pad( explode( '/', $network, 2 ), 2, null );
		$ip_bytes            = @inet_pton( $ip ); // phpcs:ignore WordPress.PHP.NoSilencedErrors -- a malformed term is no match.
		$base_bytes          = @inet_pton( $base ); // phpcs:ignore WordPress.PHP.NoSilencedErrors
		if ( false === $ip_bytes || false === $base_bytes || strlen( $ip_bytes ) !== strlen( $base_bytes ) ) {
			return false;
		}
		$bits = null === $bits ? strlen( $ip_bytes ) * 8 : (int) $bits;
		if ( $bits < 0 || $bits > strlen( $ip_bytes ) * 8 ) {
			return false;
		}
		$whole = intdiv( $bits, 8 );
		if ( substr( $ip_bytes, 0, $whole ) !== substr( $base_bytes, 0, $whole ) ) {
			return false;
		}
		$rest = $bits % 8;
		$mask = $rest ? ( 0xff << ( 8 - $rest ) ) & 0xff : 0;
		return ! $rest || ( ord( $ip_bytes[ $whole ] ) & $mask ) === ( ord( $base_bytes[ $whole ] ) & $mask );
	}

	/**
	 * The address this machine sends from towards the MX host: a UDP socket "connected" to it sends nothing, and
	 * its own end names the address the system routes from. '' when it is private or local (behind NAT the public
	 * address is not known here) or there is no MX address.
	 *
	 * @param string[] $addresses the MX host's addresses.
	 */
	public static function sending_ip( array $addresses ) {
		foreach ( $addresses as $address ) {
			$target = false !== strpos( $address, ':' ) ? '[' . $address . ']' : $address;
			$socket = @stream_socket_client( 'udp://' . $target . ':25', $errno, $errstr, 1 ); // phpcs:ignore WordPress.PHP.NoSilencedErrors -- no route is an answer too.
			if ( ! $socket ) {
				continue;
			}
			$local = (string) stream_socket_get_name( $socket, false );
			fclose( $socket ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_operations_fclose
			$ip = preg_replace( '/^\[?(.*?)\]?:\d+$/', '$1', $local );
			if ( filter_var( $ip, FILTER_VALIDATE_IP, FILTER_FLAG_NO_PRIV_RANGE | FILTER_FLAG_NO_RES_RANGE ) ) {
				return $ip;
			}
		}
		return '';
	}

	/** The DNS server the `rust_mail_nameserver` filter names for the extension's lookups, '' for the system's. */
	public static function nameserver() {
		return trim( (string) apply_filters( 'rust_mail_nameserver', '' ) );
	}

	private static function no_mx_message( $domain ) {
		/* translators: %s: domain name */
		return sprintf( __( 'No mail server (MX record) was found for %s. Check the spelling: it is the domain of your Microsoft 365 addresses, such as contoso.com.', 'rust-mail' ), $domain );
	}

	/** @return array{error: string, mx: string[], addresses: string[], spf: string[]} */
	private static function records_from_extension( $domain ) {
		$options = array(
			'mx_domain' => $domain,
			// A From address on the domain, with no login below: the walk reads the domain's SPF records.
			'from'      => 'postmaster@' . $domain,
		);
		if ( '' !== self::nameserver() ) {
			$options['nameserver'] = self::nameserver();
		}
		$transport = array(
			'port'     => 25,
			'security' => 'opportunistic',
			'auth'     => 'none',
			'timeout'  => self::TIMEOUT,
		);
		try {
			$walk = rust_mail_diagnose( $transport, $options );
		} catch ( Throwable $e ) {
			return array( 'error' => self::no_mx_message( $domain ), 'mx' => array(), 'addresses' => array(), 'spf' => array() );
		}
		$steps = array_column( (array) ( $walk['steps'] ?? array() ), null, 'name' );
		$dns   = (array) ( $steps['dns'] ?? array() );
		$mx    = array_map( 'strval', (array) ( $dns['data']['mx'] ?? array() ) );
		return array(
			'error'     => $mx ? '' : self::no_mx_message( $domain ),
			'mx'        => $mx,
			'addresses' => array_map( 'strval', (array) ( $dns['data']['addresses'] ?? array() ) ),
			'spf'       => array_map( 'strval', (array) ( $steps['sender_dns']['data']['spf'] ?? array() ) ),
		);
	}

	/** @return array{error: string, mx: string[], addresses: string[], spf: string[]} */
	private static function records_from_php( $domain ) {
		$mx_records = @dns_get_record( $domain, DNS_MX ); // phpcs:ignore WordPress.PHP.NoSilencedErrors -- a failed lookup is reported below.
		$mx_records = is_array( $mx_records ) ? $mx_records : array();
		usort( $mx_records, static fn ( $a, $b ) => ( $a['pri'] ?? 0 ) <=> ( $b['pri'] ?? 0 ) );
		$mx  = array_values( array_filter( array_map( static fn ( $record ) => rtrim( (string) ( $record['target'] ?? '' ), '.' ), $mx_records ) ) );
		$txt = @dns_get_record( $domain, DNS_TXT ); // phpcs:ignore WordPress.PHP.NoSilencedErrors
		$spf = array();
		foreach ( is_array( $txt ) ? $txt : array() as $record ) {
			$text = isset( $record['entries'] ) ? implode( '', (array) $record['entries'] ) : (string) ( $record['txt'] ?? '' );
			if ( self::is_spf( $text ) ) {
				$spf[] = $text;
			}
		}
		$addresses = $mx ? gethostbynamel( $mx[0] ) : false;
		return array(
			'error'     => $mx ? '' : self::no_mx_message( $domain ),
			'mx'        => $mx,
			'addresses' => is_array( $addresses ) ? $addresses : array(),
			'spf'       => $spf,
		);
	}
}
