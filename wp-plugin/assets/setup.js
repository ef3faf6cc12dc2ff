/**
 * The setup page: shows the chosen provider's questions (and among them those whose `data-when` holds), checks the
 * answers with the server as they are typed, then saves them and sends the test mail (admin-ajax.php, with the
 * page's nonce). Plain DOM, as the rest of the plugin's admin scripts.
 */
( function () {
	'use strict';
	const config = window.rustMailSetup;
	const form = document.getElementById( 'rust-mail-setup-form' );
	if ( ! config || ! form ) {
		return;
	}
	const result = document.getElementById( 'rust-mail-setup-result' );
	const spinner = form.querySelector( '.submit .spinner' );
	let checkTimer = null;
	let checkRun = 0;
	// The questions answered so far: the live check marks only these, the final one every question.
	const touched = new Set();

	const chosen = () => {
		const radio = form.querySelector( 'input[name="preset"]:checked' );
		return radio ? radio.value : '';
	};
	const block = () => form.querySelector( `.rust-mail-setup-questions[data-preset="${ chosen() }"]` );

	/**
	 * The answers of the chosen provider's questions that are asked now. The live check only needs to know that a
	 * secret was typed: it is sent once, when the answers are saved.
	 */
	const answers = ( withSecrets ) => {
		const found = {};
		const current = block();
		if ( ! current ) {
			return found;
		}
		current.querySelectorAll( '.rust-mail-setup-question' ).forEach( ( row ) => {
			const field = row.querySelector( '[name^="answers["]' );
			if ( field && ! row.hidden ) {
				const secret = 'password' === field.type && ! withSecrets;
				found[ row.dataset.key ] = secret && '' !== field.value ? 'typed' : field.value;
			}
		} );
		return found;
	};

	/** Shows the questions whose `data-when` holds for the answers now. */
	const showAsked = () => {
		form.querySelectorAll( '.rust-mail-setup-questions' ).forEach( ( questions ) => {
			questions.hidden = questions.dataset.preset !== chosen();
		} );
		form.querySelector( '.rust-mail-setup-pick-first' ).hidden = '' !== chosen();
		const current = block();
		if ( ! current ) {
			return;
		}
		current.querySelectorAll( '.rust-mail-setup-question[data-when]' ).forEach( ( row ) => {
			const when = JSON.parse( row.dataset.when );
			row.hidden = ! Object.keys( when ).every( ( key ) => {
				const other = current.querySelector( `[name="answers[${ key }]"]` );
				return other && other.value === when[ key ];
			} );
		} );
	};

	const post = ( action, extra ) => {
		const body = new URLSearchParams( { action, nonce: config.nonce, preset: chosen(), ...extra } );
		Object.entries( answers( 'rust_mail_setup_finish' === action ) ).forEach( ( [ key, value ] ) => body.append( `answers[${ key }]`, value ) );
		return fetch( config.ajaxUrl, { method: 'POST', credentials: 'same-origin', body } ).then( ( response ) => response.json() );
	};

	/** Each question's problem under it (of the questions answered, unless `all`); none left where there is none. */
	const showProblems = ( problems, all ) => {
		form.querySelectorAll( '.rust-mail-setup-problem' ).forEach( ( line ) => {
			const inChosen = line.dataset.for === 'test_to' || line.closest( '.rust-mail-setup-questions' ) === block();
			const shown = inChosen && ( all || touched.has( line.dataset.for ) );
			const problem = shown ? problems[ line.dataset.for ] : '';
			line.textContent = problem || '';
			line.hidden = ! problem;
			const field = line.parentElement.querySelector( 'input, select' );
			if ( field ) {
				field.setAttribute( 'aria-invalid', problem ? 'true' : 'false' );
			}
			// WordPress's own marking of a field in error (a red border).
			line.closest( 'tr' ).classList.toggle( 'form-invalid', !! problem );
		} );
	};

	/** Direct send: the MX host found, the SPF record's state, the record to publish, and the IP question. */
	const showDirect = ( direct ) => {
		const box = form.querySelector( '.rust-mail-setup-direct' );
		if ( ! box || 'm365_direct' !== chosen() ) {
			return;
		}
		box.hidden = ! direct;
		if ( ! direct ) {
			return;
		}
		box.querySelector( '.rust-mail-setup-direct-host' ).textContent = direct.host;
		box.querySelector( '.rust-mail-setup-spf' ).textContent = direct.spfText;
		const record = box.querySelector( '.rust-mail-setup-spf-record' );
		record.textContent = direct.record;
		record.hidden = '' === direct.record;
		box.classList.toggle( 'notice-success', 'allowed' === direct.spfState );
		box.classList.toggle( 'notice-warning', 'allowed' !== direct.spfState );
		const ipRow = block().querySelector( '.rust-mail-setup-question[data-key="direct_ip"]' );
		if ( direct.askIp ) {
			ipRow.hidden = false;
		}
	};

	const check = () => {
		if ( '' === chosen() ) {
			return;
		}
		const run = ++checkRun;
		form.setAttribute( 'aria-busy', 'true' );
		post( 'rust_mail_setup_check', {} )
			.then( ( reply ) => {
				if ( run !== checkRun ) {
					return; // An older answer than the fields show now.
				}
				form.removeAttribute( 'aria-busy' );
				if ( reply.success ) {
					showProblems( reply.data.problems );
					showDirect( reply.data.direct );
				}
			} )
			.catch( () => form.removeAttribute( 'aria-busy' ) );
	};

	const checkSoon = () => {
		clearTimeout( checkTimer );
		checkTimer = setTimeout( check, 600 );
	};

	const notice = ( kind, lines, link ) => {
		result.textContent = '';
		const box = document.createElement( 'div' );
		box.className = `notice inline notice-${ kind }`;
		lines.filter( Boolean ).forEach( ( text, index ) => {
			const line = document.createElement( 'p' );
			if ( 0 === index ) {
				const strong = document.createElement( 'strong' );
				strong.textContent = text;
				line.appendChild( strong );
			} else {
				line.textContent = text;
			}
			box.appendChild( line );
		} );
		if ( link ) {
			const line = document.createElement( 'p' );
			const anchor = document.createElement( 'a' );
			anchor.href = link.url;
			anchor.textContent = link.text;
			line.appendChild( anchor );
			box.appendChild( line );
		}
		result.appendChild( box );
	};

	const answered = ( event ) => {
		const key = /^answers\[(.+)\]$/.exec( event.target.name || '' );
		if ( key ) {
			touched.add( key[ 1 ] );
		}
	};
	form.addEventListener( 'change', ( event ) => {
		answered( event );
		showAsked();
		if ( 'preset' === event.target.name ) {
			result.textContent = '';
		}
		checkSoon();
	} );
	form.addEventListener( 'input', ( event ) => {
		answered( event );
		checkSoon();
	} );

	form.addEventListener( 'submit', ( event ) => {
		event.preventDefault();
		if ( '' === chosen() ) {
			return;
		}
		clearTimeout( checkTimer );
		checkRun++;
		spinner.classList.add( 'is-active' );
		notice( 'info', [ config.words.sending ] );
		post( 'rust_mail_setup_finish', { test_to: form.querySelector( '#rust-mail-setup-test-to' ).value } )
			.then( ( reply ) => {
				spinner.classList.remove( 'is-active' );
				if ( ! reply.success ) {
					notice( 'error', [ reply.data && reply.data.message ? reply.data.message : config.words.failed ] );
					return;
				}
				const data = reply.data;
				showProblems( data.problems, true );
				showDirect( data.direct );
				if ( Object.keys( data.problems ).length ) {
					notice( 'error', [ config.words.fixFirst ] );
				} else if ( data.signin ) {
					notice( 'success', [ data.message ], { url: data.signin, text: config.words.signin } );
				} else if ( data.sent ) {
					notice( 'success', [ data.message ] );
				} else {
					notice( 'error', [ data.message, data.cause, ...( data.advice || [] ) ], data.log ? { url: data.log, text: config.words.log } : null );
				}
			} )
			.catch( () => {
				spinner.classList.remove( 'is-active' );
				notice( 'error', [ config.words.failed ] );
			} );
	} );

	showAsked();
} )();
