/**
 * Settings page: picking a preset fills the fields it determines and makes them read-only, so what is
 * shown is what will be saved (the server applies the preset again on save).
 */
( function () {
	'use strict';
	var config = window.rustMailSettings || { presets: {}, fixed: [] };

	function field( key ) {
		return document.getElementById( 'rust-mail-' + key.replace( /_/g, '-' ) );
	}

	function applyPreset( name ) {
		var values = config.presets[ name ] || {};
		[ 'host', 'port', 'security', 'auth' ].forEach( function ( key ) {
			var input = field( key );
			if ( ! input || config.fixed.indexOf( key ) !== -1 ) {
				return;
			}
			var presetHasKey = Object.prototype.hasOwnProperty.call( values, key );
			if ( presetHasKey ) {
				input.value = values[ key ];
			}
			// Selects cannot be read-only; their options are disabled instead.
			if ( input.tagName === 'SELECT' ) {
				Array.prototype.forEach.call( input.options, function ( option ) {
					option.disabled = presetHasKey && option.value !== String( values[ key ] );
				} );
			} else {
				input.readOnly = presetHasKey;
			}
		} );
	}

	document.addEventListener( 'DOMContentLoaded', function () {
		var radios = document.querySelectorAll( '#rust-mail-presets input[type=radio]' );
		Array.prototype.forEach.call( radios, function ( radio ) {
			radio.addEventListener( 'change', function () {
				applyPreset( radio.value );
			} );
			if ( radio.checked ) {
				applyPreset( radio.value );
			}
		} );
	} );
}() );
