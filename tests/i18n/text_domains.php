<?php
// Prints, one per line, every call of a WordPress translation function in the PHP files named on the command line
// whose text domain is not the literal 'rust-mail' (file:line and the call's first characters). PHP's own tokenizer
// reads the calls, so strings, comments and nested calls cannot mislead it.
const TRANSLATION_FUNCTIONS = array(
	'__' => 1, '_e' => 1, 'esc_html__' => 1, 'esc_html_e' => 1, 'esc_attr__' => 1, 'esc_attr_e' => 1,
	'_x' => 2, '_ex' => 2, 'esc_html_x' => 2, 'esc_attr_x' => 2, '_n' => 3, '_nx' => 4, '_n_noop' => 2, '_nx_noop' => 3,
);

foreach ( array_slice( $argv, 1 ) as $file ) {
	$tokens = array_values( array_filter( token_get_all( file_get_contents( $file ) ), fn ( $t ) => ! is_array( $t ) || ! in_array( $t[0], array( T_WHITESPACE, T_COMMENT, T_DOC_COMMENT ), true ) ) );
	foreach ( $tokens as $i => $token ) {
		if ( ! is_array( $token ) || T_STRING !== $token[0] || ! isset( TRANSLATION_FUNCTIONS[ $token[1] ] ) || '(' !== ( $tokens[ $i + 1 ] ?? null ) ) {
			continue;
		}
		$previous = $tokens[ $i - 1 ] ?? null;
		if ( is_array( $previous ) && in_array( $previous[0], array( T_FUNCTION, T_OBJECT_OPERATOR, T_DOUBLE_COLON ), true ) ) {
			continue; // A definition or a method of the same name.
		}
		// The arguments at depth 1: the text domain is the one after the message's own.
		$depth     = 0;
		$arguments = array( array() );
		for ( $j = $i + 1; $j < count( $tokens ); $j++ ) {
			$t = $tokens[ $j ];
			if ( in_array( $t, array( '(', '[', '{' ), true ) ) {
				$depth++;
				if ( 1 === $depth ) {
					continue;
				}
			} elseif ( in_array( $t, array( ')', ']', '}' ), true ) ) {
				$depth--;
				if ( 0 === $depth ) {
					break;
				}
			} elseif ( ',' === $t && 1 === $depth ) {
				$arguments[] = array();
				continue;
			}
			$arguments[ count( $arguments ) - 1 ][] = $t;
		}
		$domain = $arguments[ TRANSLATION_FUNCTIONS[ $token[1] ] ] ?? array();
		if ( 1 !== count( $domain ) || ! is_array( $domain[0] ) || T_CONSTANT_ENCAPSED_STRING !== $domain[0][0] || "'rust-mail'" !== $domain[0][1] ) {
			printf( "%s:%d: %s(...) has no text domain 'rust-mail'\n", $file, $token[2], $token[1] );
		}
	}
}
