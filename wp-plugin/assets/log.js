/* The connection log: a bulk action asks before it runs, naming how many messages it will change. */
( function () {
	'use strict';
	var form = document.querySelector( '#rust-mail-log form' );
	if ( ! form || ! window.rustMailLog ) {
		return;
	}
	form.addEventListener( 'submit', function ( event ) {
		// The button that submitted says which of the two bulk action menus (above and below the table) is meant.
		var submitter = event.submitter;
		var menu = submitter && 'doaction2' === submitter.id ? form.querySelector( '#bulk-action-selector-bottom' ) : form.querySelector( '#bulk-action-selector-top' );
		if ( ! submitter || ! /^doaction2?$/.test( submitter.id ) || ! menu ) {
			return;
		}
		var question = window.rustMailLog.questions[ menu.value ];
		if ( ! question ) {
			return;
		}
		var selected = form.querySelectorAll( 'input[name="entries[]"]:checked' ).length;
		if ( selected && ! window.confirm( question.replace( '%d', String( selected ) ) ) ) {
			event.preventDefault();
		}
	} );
}() );
