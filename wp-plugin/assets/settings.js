/**
 * Settings page: picking a preset fills the fields it determines and makes them read-only, so what is
 * shown is what will be saved (the server applies the preset again on save).
 */
( function () {
	'use strict';
	var config = window.rustMailSettings || { presets: {}, also: {}, fixed: [] };

	function field( key ) {
		return document.getElementById( 'rust-mail-' + key.replace( /_/g, '-' ) );
	}

	// A preset's published limits fill the limits still at 0; a lower limit of the owner's own stays.
	function fillLimits( name ) {
		var limits = ( config.limits || {} )[ name ] || {};
		Object.keys( limits ).forEach( function ( key ) {
			var input = field( key );
			if ( input && config.fixed.indexOf( key ) === -1 && Number( input.value ) === 0 ) {
				input.value = limits[ key ];
			}
		} );
	}

	function applyPreset( name ) {
		var values = config.presets[ name ] || {};
		var also = ( config.also || {} )[ name ] || {};
		[ 'api', 'host', 'port', 'security', 'auth' ].forEach( function ( key ) {
			var input = field( key );
			if ( ! input || config.fixed.indexOf( key ) !== -1 ) {
				return;
			}
			var presetHasKey = Object.prototype.hasOwnProperty.call( values, key );
			var allowed = [ String( values[ key ] ) ].concat( also[ key ] || [] );
			if ( presetHasKey && allowed.indexOf( String( input.value ) ) === -1 ) {
				input.value = values[ key ];
			}
			// Selects cannot be read-only; their options are disabled instead.
			if ( input.tagName === 'SELECT' ) {
				Array.prototype.forEach.call( input.options, function ( option ) {
					option.disabled = presetHasKey && allowed.indexOf( option.value ) === -1;
				} );
			} else {
				input.readOnly = presetHasKey;
			}
		} );
	}

	// The fields of the connection's kind: an API hides the SMTP server's and names the user name and password its way.
	function apiFields() {
		var api = field( 'api' );
		return ( config.apiFields || {} )[ api ? api.value : '' ] || { hide: [], labels: {}, oauth: false };
	}

	function showFields() {
		var fields = apiFields();
		Array.prototype.forEach.call( document.querySelectorAll( '#rust-mail-settings tr[data-rust-mail-key]' ), function ( row ) {
			var key = row.getAttribute( 'data-rust-mail-key' ), label = row.querySelector( 'label[data-label]' );
			row.hidden = fields.hide.indexOf( key ) !== -1;
			if ( label ) {
				label.textContent = fields.labels[ key ] || label.getAttribute( 'data-label' );
			}
		} );
	}

	// The same for the form of a named connection, whose fields are named rust_mail[connection:<name>:<key>].
	function showConnectionFields() {
		var form = document.getElementById( 'rust-mail-connection-form' );
		var api = form && form.querySelector( 'select[name$=":api]"]' );
		var fields = ( config.apiFields || {} )[ api ? api.value : '' ] || { hide: [], labels: {} };
		Array.prototype.forEach.call( form ? form.querySelectorAll( 'tr[data-rust-mail-connection-key]' ) : [], function ( row ) {
			var key = row.getAttribute( 'data-rust-mail-connection-key' ), label = row.querySelector( 'label[data-label]' );
			row.hidden = fields.hide.indexOf( key ) !== -1;
			label.textContent = fields.labels[ key ] || label.getAttribute( 'data-label' );
		} );
	}

	// The OAuth2 app fields only matter for XOAUTH2 and the Graph and Gmail APIs; hidden otherwise so the common
	// setups stay short.
	function showOAuth() {
		var auth = field( 'auth' ), api = field( 'api' ), section = document.getElementById( 'rust-mail-oauth-section' );
		if ( section ) {
			section.hidden = api && api.value ? ! apiFields().oauth : ! auth || auth.value !== 'xoauth2';
		}
		showFields();
	}

	document.addEventListener( 'DOMContentLoaded', function () {
		var auth = field( 'auth' );
		if ( auth ) {
			auth.addEventListener( 'change', showOAuth );
		}
		if ( field( 'api' ) ) {
			field( 'api' ).addEventListener( 'change', showOAuth );
		}
		showOAuth();
		var connectionApi = document.querySelector( '#rust-mail-connection-form select[name$=":api]"]' );
		if ( connectionApi ) {
			connectionApi.addEventListener( 'change', showConnectionFields );
		}
		var radios = document.querySelectorAll( '#rust-mail-presets input[type=radio]' );
		Array.prototype.forEach.call( radios, function ( radio ) {
			radio.addEventListener( 'change', function () {
				applyPreset( radio.value );
				fillLimits( radio.value );
				showOAuth();
			} );
			if ( radio.checked ) {
				applyPreset( radio.value );
				showOAuth();
			}
		} );
	} );
}() );
