<?php
/**
 * The connection log as a WP_List_Table: newest first, status views, filters (cause, days, search), pagination with
 * Screen Options, and bulk actions (send again, cancel, delete) that the browser confirms first.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

if ( ! class_exists( 'WP_List_Table' ) ) {
	require_once ABSPATH . 'wp-admin/includes/class-wp-list-table.php';
}

class RustMail_Admin_Log_Table extends WP_List_Table {

	const PER_PAGE = 20;

	/** The Screen Options setting (per user) of rows per page. */
	const PER_PAGE_OPTION = 'rust_mail_log_per_page';

	/** Bulk actions => what they do to each selected message (see process_bulk_action()). */
	const BULK_ACTIONS = array( 'resend', 'cancel', 'delete' );

	/** A subject longer than this is cut in the list; the whole one is in its tooltip and on the entry's page. */
	const SUBJECT_WIDTH = 100;

	public function __construct() {
		parent::__construct(
			array(
				'singular' => 'rust-mail-entry',
				'plural'   => 'rust-mail-entries',
				'ajax'     => false,
			)
		);
	}

	/**
	 * The list's filters from the query string, each limited to what it may be: a known status, a cause the log holds,
	 * real days. The CSV export takes the same ones, so it holds what the list shows.
	 *
	 * @return array{status: string, cause: string, search: string, since: string, until: string}
	 */
	public static function current_filters() {
		// phpcs:disable WordPress.Security.NonceVerification -- filters, not actions.
		$value  = static fn ( $name ) => isset( $_REQUEST[ $name ] ) && is_string( $_REQUEST[ $name ] ) ? wp_unslash( $_REQUEST[ $name ] ) : '';
		$status = sanitize_key( $value( 'status' ) );
		$cause  = sanitize_key( $value( 'cause' ) );
		// phpcs:enable
		return array(
			'status' => isset( RustMail_Log_Store::status_labels()[ $status ] ) ? $status : '',
			'cause'  => in_array( $cause, RustMail_Log_Store::causes(), true ) ? $cause : '',
			'search' => sanitize_text_field( $value( 's' ) ),
			'since'  => RustMail_Log_Store::sanitize_day( $value( 'since' ) ),
			'until'  => RustMail_Log_Store::sanitize_day( $value( 'until' ) ),
		);
	}

	private function current_status() {
		return self::current_filters()['status'];
	}

	/** The list's URL with its filters and no action: where a bulk action returns to, and what the export is of. */
	public static function filtered_url( array $args = array() ) {
		return RustMail_Log_Store::url( array_merge( array_filter( self::current_filters() ), $args ) );
	}

	/**
	 * Runs the bulk action the list's form asked for, before the page is drawn: capability, then the list's nonce,
	 * then the ids; says what happened and returns to the list with its filters.
	 */
	public function process_bulk_action() {
		$action = $this->current_action();
		if ( ! in_array( $action, self::BULK_ACTIONS, true ) ) {
			return;
		}
		RustMail_Admin_Pages::require_capability();
		check_admin_referer( 'bulk-' . $this->_args['plural'] );
		$ids = isset( $_REQUEST['entries'] ) ? array_map( 'absint', (array) wp_unslash( $_REQUEST['entries'] ) ) : array();
		$ids = array_values( array_filter( $ids ) );
		if ( ! $ids ) {
			RustMail_Admin_Notices::flash( 'error', __( 'Select the messages first.', 'rust-mail' ) );
		} elseif ( 'resend' === $action ) {
			$done = count( RustMail_Outbox_Drain::resend_all( $ids ) );
			/* translators: 1: number of messages sent again, 2: number selected */
			RustMail_Admin_Notices::flash( $done === count( $ids ) ? 'success' : 'warning', sprintf( __( 'Sent again: %1$d of %2$d messages, each as a new entry (a message whose content is not kept, or that still waits, cannot be sent again).', 'rust-mail' ), $done, count( $ids ) ) );
		} elseif ( 'cancel' === $action ) {
			$done = count( array_filter( array_map( array( 'RustMail_Outbox_Store', 'cancel' ), $ids ) ) );
			/* translators: 1: number of messages cancelled, 2: number selected */
			RustMail_Admin_Notices::flash( $done === count( $ids ) ? 'success' : 'warning', sprintf( __( 'Cancelled: %1$d of %2$d messages (only a message that waits in the outbox can be cancelled).', 'rust-mail' ), $done, count( $ids ) ) );
		} else {
			$done = RustMail_Log_Store::delete( $ids );
			/* translators: 1: number of entries deleted, 2: number selected */
			RustMail_Admin_Notices::flash( $done === count( $ids ) ? 'success' : 'warning', sprintf( __( 'Deleted: %1$d of %2$d log entries (a message that waits or is being sent is never deleted: cancel it first).', 'rust-mail' ), $done, count( $ids ) ) );
		}
		wp_safe_redirect( self::filtered_url() );
		exit;
	}

	protected function get_bulk_actions() {
		return array(
			'resend' => __( 'Send again', 'rust-mail' ),
			'cancel' => __( 'Cancel', 'rust-mail' ),
			'delete' => __( 'Delete from the log', 'rust-mail' ),
		);
	}

	protected function column_cb( $item ) {
		return sprintf(
			'<label class="screen-reader-text" for="rust-mail-entry-%1$d">%2$s</label><input type="checkbox" id="rust-mail-entry-%1$d" name="entries[]" value="%1$d" />',
			(int) $item['id'],
			esc_html__( 'Select this message', 'rust-mail' )
		);
	}

	/** Above the table: the filters by cause and by days, and the export of what they select. */
	protected function extra_tablenav( $which ) {
		if ( 'top' !== $which ) {
			return;
		}
		$filters = self::current_filters();
		echo '<div class="alignleft actions rust-mail-filters">';
		$causes = RustMail_Log_Store::causes();
		if ( $causes ) {
			echo '<label class="screen-reader-text" for="rust-mail-cause">' . esc_html__( 'Filter by cause', 'rust-mail' ) . '</label>';
			echo '<select name="cause" id="rust-mail-cause"><option value="">' . esc_html__( 'All causes', 'rust-mail' ) . '</option>';
			foreach ( $causes as $cause ) {
				printf( '<option value="%s" %s>%s</option>', esc_attr( $cause ), selected( $filters['cause'], $cause, false ), esc_html( $cause ) );
			}
			echo '</select>';
		}
		printf( '<label for="rust-mail-since">%s</label> <input type="date" name="since" id="rust-mail-since" value="%s" /> ', esc_html__( 'From', 'rust-mail' ), esc_attr( $filters['since'] ) );
		printf( '<label for="rust-mail-until">%s</label> <input type="date" name="until" id="rust-mail-until" value="%s" /> ', esc_html__( 'to', 'rust-mail' ), esc_attr( $filters['until'] ) );
		submit_button( __( 'Filter', 'rust-mail' ), '', 'filter_action', false );
		printf(
			' <a class="button" id="rust-mail-export-csv" href="%s">%s</a>',
			esc_url( wp_nonce_url( add_query_arg( array_merge( array( 'action' => RustMail_Admin_Actions::ACTION_EXPORT_CSV ), array_filter( $filters ) ), admin_url( 'admin-post.php' ) ), RustMail_Admin_Actions::ACTION_EXPORT_CSV ) ),
			esc_html__( 'Export these as CSV', 'rust-mail' )
		);
		echo '</div>';
	}

	public function prepare_items() {
		$per_page = $this->get_items_per_page( self::PER_PAGE_OPTION, self::PER_PAGE );
		$result   = RustMail_Log_Store::query( self::current_filters() + array( 'per_page' => $per_page, 'page' => $this->get_pagenum() ) );
		$this->items           = $result['rows'];
		$this->_column_headers = array( $this->get_columns(), get_hidden_columns( $this->screen ), array(), 'subject' );
		$this->set_pagination_args(
			array(
				'total_items' => $result['total'],
				'per_page'    => $per_page,
			)
		);
	}

	public function get_columns() {
		$columns = array(
			'cb'           => '<input type="checkbox" />',
			'created_at'   => __( 'Time', 'rust-mail' ),
			'blog_id'      => __( 'Site', 'rust-mail' ),
			'status'       => __( 'Status', 'rust-mail' ),
			'subject'      => __( 'Subject', 'rust-mail' ),
			'from_address' => __( 'From', 'rust-mail' ),
			'recipients'   => __( 'Recipients', 'rust-mail' ),
			'error'        => __( 'Cause', 'rust-mail' ),
			'smtp_code'    => __( 'SMTP code', 'rust-mail' ),
			'duration_ms'  => __( 'Duration', 'rust-mail' ),
			'attempts'     => __( 'Attempts', 'rust-mail' ),
			'connection'   => __( 'Connection', 'rust-mail' ),
			'caller'       => __( 'Sent by', 'rust-mail' ),
		);
		if ( ! is_multisite() ) {
			unset( $columns['blog_id'] );
		}
		return $columns;
	}

	protected function get_views() {
		$counts  = RustMail_Log_Store::status_counts();
		$current = $this->current_status();
		$views   = array( '' => array( __( 'All', 'rust-mail' ), array_sum( $counts ) ) );
		foreach ( RustMail_Log_Store::status_labels() as $status => $label ) {
			if ( ! empty( $counts[ $status ] ) || in_array( $status, array( RustMail_Log_Store::STATUS_SENT, RustMail_Log_Store::STATUS_FAILED ), true ) ) {
				$views[ $status ] = array( $label, $counts[ $status ] ?? 0 );
			}
		}
		$links = array();
		foreach ( $views as $status => $view ) {
			$url              = RustMail_Log_Store::url( '' === $status ? array() : array( 'status' => $status ) );
			$links[ $status ? $status : 'all' ] = sprintf(
				'<a href="%s"%s>%s <span class="count">(%s)</span></a>',
				esc_url( $url ),
				$current === $status ? ' class="current" aria-current="page"' : '',
				esc_html( $view[0] ),
				esc_html( number_format_i18n( $view[1] ) )
			);
		}
		return $links;
	}

	public function no_items() {
		esc_html_e( 'No mail logged yet.', 'rust-mail' );
	}

	protected function column_default( $item, $column_name ) {
		return esc_html( (string) ( $item[ $column_name ] ?? '' ) );
	}

	protected function column_created_at( $item ) {
		return esc_html( RustMail_Admin_Pages::format_time( $item['created_at'] ) );
	}

	/** On multisite, the site whose wp_mail() sent it. */
	protected function column_blog_id( $item ) {
		$site = get_site( (int) $item['blog_id'] );
		return esc_html( $site ? $site->domain . $site->path : '#' . (int) $item['blog_id'] );
	}

	protected function column_status( $item ) {
		return sprintf( '<span class="rust-mail-status rust-mail-status-%s">%s</span>', esc_attr( $item['status'] ), esc_html( RustMail_Log_Store::status_label( $item['status'] ) ) );
	}

	protected function column_subject( $item ) {
		$subject = '' === $item['subject'] ? __( '(no subject)', 'rust-mail' ) : $item['subject'];
		$url     = RustMail_Log_Store::url( array( 'entry' => (int) $item['id'] ) );
		$actions = array( 'view' => sprintf( '<a href="%s">%s</a>', esc_url( $url ), esc_html__( 'Details and transcript', 'rust-mail' ) ) );
		return sprintf( '<strong><a class="row-title" href="%s" title="%s">%s</a></strong>', esc_url( $url ), esc_attr( $subject ), esc_html( mb_strimwidth( $subject, 0, self::SUBJECT_WIDTH, '…' ) ) ) . $this->row_actions( $actions );
	}

	protected function column_error( $item ) {
		if ( '' === $item['error_kind'] ) {
			return '';
		}
		// Rows from before causes were logged show their error kind.
		$cause = '' === $item['error_cause'] ? $item['error_kind'] : $item['error_cause'];
		return sprintf( '<code>%s</code><br />%s', esc_html( $cause ), esc_html( RustMail_Admin_Pages::redact( wp_trim_words( $item['error_message'], 20 ) ) ) );
	}

	protected function column_smtp_code( $item ) {
		return esc_html( trim( $item['smtp_code'] . ' ' . $item['enhanced_code'] ) );
	}

	protected function column_duration_ms( $item ) {
		/* translators: %s: milliseconds */
		return null === $item['duration_ms'] ? '' : esc_html( sprintf( __( '%s ms', 'rust-mail' ), number_format_i18n( (int) $item['duration_ms'] ) ) );
	}

	/** How many attempts, and when the next one is for a message that waits. */
	protected function column_attempts( $item ) {
		$text = number_format_i18n( (int) $item['attempts'] );
		if ( RustMail_Log_Store::STATUS_QUEUED === $item['status'] && $item['next_attempt_at'] ) {
			/* translators: %s: date and time */
			return esc_html( $text ) . '<br />' . esc_html( sprintf( __( 'next: %s', 'rust-mail' ), RustMail_Admin_Pages::format_time( $item['next_attempt_at'] ) ) );
		}
		return esc_html( $text );
	}

	/**
	 * The connection the message was routed to and, when another one delivered it (the fallback), that one too:
	 * "support → fallback".
	 */
	protected function column_connection( $item ) {
		$names = array_unique( array_filter( array( RustMail_Settings_Connections::route_of( $item ), $item['connection'] ) ) );
		return esc_html( implode( ' → ', array_map( array( 'RustMail_Settings_Connections', 'label' ), $names ) ) );
	}

	protected function column_caller( $item ) {
		return esc_html( RustMail_Mail_Caller::label( $item['caller'] ) );
	}
}
