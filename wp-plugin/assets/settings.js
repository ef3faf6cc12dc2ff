/**
 * Settings page. Presets own their values: picking one puts back to their defaults the values the previous preset
 * set, fills the fields the new one determines and makes them read-only, and says what changed, so that what is shown
 * is what will be saved (the server applies the same rules on save: RustMail_Settings_Presets::apply()).
 * Send test and Diagnose run with the form's values, saved or not, without leaving the page; leaving it with
 * unsaved changes asks first.
 */
( function () {
	'use strict';
	var config = window.rustMailSettings || { presets: {}, also: {}, limits: {}, defaults: {}, fixed: [], signin: {}, words: {} };

	function field( key ) {
		return document.getElementById( 'rust-mail-' + key.replace( /_/g, '-' ) );
	}

	// What a preset sets: its server's values and its published limits.
	function owned( name ) {
		return Object.assign( {}, config.presets[ name ] || {}, ( config.limits || {} )[ name ] || {} );
	}

	// Whether a value is one the preset set: its own, or another its `also` lets the field keep.
	function setBy( name, key, value ) {
		var values = owned( name );
		if ( ! Object.prototype.hasOwnProperty.call( values, key ) ) {
			return false;
		}
		return [ String( values[ key ] ) ].concat( ( ( config.also || {} )[ name ] || {} )[ key ] || [] ).indexOf( String( value ) ) !== -1;
	}

	function editable( key ) {
		return field( key ) && config.fixed.indexOf( key ) === -1;
	}

	// A preset's published limits fill the limits still at 0; a lower limit of the owner's own stays.
	function fillLimits( name ) {
		var limits = ( config.limits || {} )[ name ] || {};
		Object.keys( limits ).forEach( function ( key ) {
			if ( editable( key ) && Number( field( key ).value ) === 0 ) {
				field( key ).value = limits[ key ];
			}
		} );
	}

	function applyPreset( name ) {
		var values = config.presets[ name ] || {};
		var also = ( config.also || {} )[ name ] || {};
		[ 'api', 'host', 'port', 'security', 'auth' ].forEach( function ( key ) {
			if ( ! editable( key ) ) {
				return;
			}
			var input = field( key );
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

	// A field's value as the page shows it: a select's option text, an empty field in words.
	function shown( input ) {
		if ( input.tagName === 'SELECT' ) {
			return input.selectedIndex >= 0 ? input.options[ input.selectedIndex ].text : '';
		}
		return input.value === '' ? config.words.empty : input.value;
	}

	function labelOf( key ) {
		var label = document.querySelector( 'label[for="' + field( key ).id + '"]' );
		return label ? label.textContent : key;
	}

	// Switching presets: the previous preset's values go back to their defaults (a value typed over them stays), then
	// the new preset's are applied; the notice lists every field that changed.
	function switchPreset( from, to ) {
		var keys = Object.keys( Object.assign( owned( from ), owned( to ) ) ).filter( editable );
		var before = {};
		keys.forEach( function ( key ) {
			before[ key ] = shown( field( key ) );
			if ( from !== to && setBy( from, key, field( key ).value ) && Object.prototype.hasOwnProperty.call( config.defaults, key ) ) {
				field( key ).value = config.defaults[ key ];
			}
		} );
		applyPreset( to );
		fillLimits( to );
		var notice = document.getElementById( 'rust-mail-preset-changes' );
		var changed = keys.filter( function ( key ) {
			return shown( field( key ) ) !== before[ key ];
		} );
		notice.hidden = changed.length === 0;
		notice.textContent = '';
		if ( changed.length ) {
			var intro = document.createElement( 'p' );
			intro.textContent = config.words.presetChanged;
			var list = document.createElement( 'ul' );
			list.className = 'ul-disc';
			changed.forEach( function ( key ) {
				var item = document.createElement( 'li' );
				item.setAttribute( 'data-key', key );
				item.textContent = labelOf( key ) + ': ' + before[ key ] + ' \u2192 ' + shown( field( key ) );
				list.appendChild( item );
			} );
			notice.appendChild( intro );
			notice.appendChild( list );
		}
	}

	function checkedPreset() {
		var radio = document.querySelector( '#rust-mail-presets input[type=radio]:checked' );
		return radio ? radio.value : 'custom';
	}

	// The fields of the connection's kind: an API hides the SMTP server's and names the user name and password its way.
	function apiFields() {
		var api = field( 'api' );
		return ( config.apiFields || {} )[ api ? api.value : '' ] || { hide: [], labels: {}, oauth: false };
	}

	function showFields() {
		var fields = apiFields(), api = field( 'api' ), auth = field( 'auth' );
		// An SMTP login with OAuth2 takes a token, not the password.
		var oauthLogin = ! ( api && api.value ) && auth && auth.value === 'xoauth2';
		Array.prototype.forEach.call( document.querySelectorAll( '#rust-mail-settings tr[data-rust-mail-key]' ), function ( row ) {
			var key = row.getAttribute( 'data-rust-mail-key' ), label = row.querySelector( 'label[data-label]' );
			row.hidden = fields.hide.indexOf( key ) !== -1 || ( key === 'password' && oauthLogin );
			if ( label ) {
				label.textContent = fields.labels[ key ] || label.getAttribute( 'data-label' );
			}
		} );
		// Only the sign-in of the preset's provider (Microsoft's under Microsoft 365); both under Custom.
		var provider = ( config.signin || {} )[ checkedPreset() ];
		Array.prototype.forEach.call( document.querySelectorAll( '#rust-mail-oauth-signin button[name=provider]' ), function ( button ) {
			// Not `hidden`: WordPress's .button style would show it anyway.
			button.style.display = provider && button.value !== provider ? 'none' : '';
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

	// Unsaved changes: the form as it was loaded (or saved) against the form now.
	var settingsForm, loaded = null, saving = false;

	function formState() {
		return new URLSearchParams( new FormData( settingsForm ) ).toString();
	}

	function isDirty() {
		return null !== loaded && formState() !== loaded;
	}

	function showDirty() {
		var mark = document.getElementById( 'rust-mail-unsaved' );
		if ( mark ) {
			mark.hidden = ! isDirty();
		}
	}

	// A notice in the page, as WordPress draws them; text only.
	function notice( container, type, message, link ) {
		container.textContent = '';
		var box = document.createElement( 'div' ), text = document.createElement( 'p' );
		box.className = 'notice inline notice-' + type;
		text.textContent = message;
		if ( link ) {
			var anchor = document.createElement( 'a' );
			anchor.href = link;
			anchor.textContent = config.words.viewInLog;
			text.appendChild( document.createTextNode( ' ' ) );
			text.appendChild( anchor );
		}
		box.appendChild( text );
		container.appendChild( box );
	}

	// Send test and Diagnose with the settings form's values: sent along with the test's own fields, and answered in
	// the page (JSON), so that nothing typed is lost.
	function tryInPage( form, noticeBox, resultBox ) {
		form.addEventListener( 'submit', function ( event ) {
			event.preventDefault();
			var data = new FormData( form ), button = form.querySelector( '[type=submit]' );
			new FormData( settingsForm ).forEach( function ( value, key ) {
				if ( [ 'action', '_wpnonce', '_wp_http_referer' ].indexOf( key ) === -1 ) {
					data.append( key, value );
				}
			} );
			data.append( 'rust_mail_in_page', '1' );
			button.disabled = true;
			notice( noticeBox, 'info', config.words.working );
			// getAttribute: the form's hidden input named "action" hides the property.
			fetch( form.getAttribute( 'action' ), { method: 'POST', body: data, credentials: 'same-origin' } )
				.then( function ( response ) {
					if ( ! response.ok ) {
						throw new Error( 'HTTP ' + response.status );
					}
					return response.json();
				} )
				.then( function ( answer ) {
					notice( noticeBox, answer.type, answer.message, answer.log_url );
					if ( resultBox ) {
						// The diagnosis as the server drew it, every value escaped there (views/diagnosis.php).
						resultBox.innerHTML = answer.html;
					}
				} )
				.catch( function ( error ) {
					notice( noticeBox, 'error', config.words.failed + ' (' + error.message + ')' );
				} )
				.finally( function () {
					button.disabled = false;
				} );
		} );
	}

	document.addEventListener( 'DOMContentLoaded', function () {
		settingsForm = document.getElementById( 'rust-mail-settings-form' );
		var auth = field( 'auth' );
		if ( auth ) {
			auth.addEventListener( 'change', showOAuth );
		}
		if ( field( 'api' ) ) {
			field( 'api' ).addEventListener( 'change', showOAuth );
		}
		var connectionApi = document.querySelector( '#rust-mail-connection-form select[name$=":api]"]' );
		if ( connectionApi ) {
			connectionApi.addEventListener( 'change', showConnectionFields );
		}
		var current = config.savedPreset;
		applyPreset( current );
		showOAuth();
		if ( settingsForm ) {
			loaded = formState();
		}
		// A preset proposed by a link (?preset=) is a switch the owner has not saved yet.
		if ( checkedPreset() !== current ) {
			switchPreset( current, checkedPreset() );
			current = checkedPreset();
			showOAuth();
		}
		Array.prototype.forEach.call( document.querySelectorAll( '#rust-mail-presets input[type=radio]' ), function ( radio ) {
			radio.addEventListener( 'change', function () {
				switchPreset( current, radio.value );
				current = radio.value;
				showOAuth();
				showDirty();
			} );
		} );
		if ( ! settingsForm ) {
			return;
		}
		settingsForm.addEventListener( 'input', showDirty );
		settingsForm.addEventListener( 'change', showDirty );
		settingsForm.addEventListener( 'submit', function () {
			saving = true;
		} );
		showDirty();
		window.addEventListener( 'beforeunload', function ( event ) {
			if ( ! saving && isDirty() ) {
				event.preventDefault();
				event.returnValue = '';
			}
		} );
		var testForm = document.getElementById( 'rust-mail-test-form' );
		if ( testForm ) {
			tryInPage( testForm, document.getElementById( 'rust-mail-test-result' ), null );
		}
		var diagnoseForm = document.getElementById( 'rust-mail-diagnose-form' );
		if ( diagnoseForm ) {
			tryInPage( diagnoseForm, document.getElementById( 'rust-mail-diagnose-notice' ), document.getElementById( 'rust-mail-diagnosis-result' ) );
		}
	} );
}() );
