<?php
/**
 * The connection log as a WP_List_Table: newest first, status views, search, pagination.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

if ( ! class_exists( 'WP_List_Table' ) ) {
	require_once ABSPATH . 'wp-admin/includes/class-wp-list-table.php';
}

class RustMail_Admin_Log_Table extends WP_List_Table {

	const PER_PAGE = 20;

	public function __construct() {
		parent::__construct(
			array(
				'singular' => 'rust-mail-entry',
				'plural'   => 'rust-mail-entries',
				'ajax'     => false,
			)
		);
	}

	/** The status filter from the query string, limited to known statuses. */
	private function current_status() {
		$status = isset( $_GET['status'] ) ? sanitize_key( wp_unslash( $_GET['status'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification -- a filter, not an action.
		return isset( RustMail_Log_Store::status_labels()[ $status ] ) ? $status : '';
	}

	/** The cause filter from the query string, limited to the causes the log holds. */
	private function current_cause() {
		$cause = isset( $_GET['cause'] ) ? sanitize_key( wp_unslash( $_GET['cause'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification -- a filter, not an action.
		return in_array( $cause, RustMail_Log_Store::causes(), true ) ? $cause : '';
	}

	/** Above the table: the filter by cause of failure. */
	protected function extra_tablenav( $which ) {
		$causes = RustMail_Log_Store::causes();
		if ( 'top' !== $which || ! $causes ) {
			return;
		}
		$current = $this->current_cause();
		echo '<div class="alignleft actions"><label class="screen-reader-text" for="rust-mail-cause">' . esc_html__( 'Filter by cause', 'rust-mail' ) . '</label>';
		echo '<select name="cause" id="rust-mail-cause"><option value="">' . esc_html__( 'All causes', 'rust-mail' ) . '</option>';
		foreach ( $causes as $cause ) {
			printf( '<option value="%s" %s>%s</option>', esc_attr( $cause ), selected( $current, $cause, false ), esc_html( $cause ) );
		}
		echo '</select>';
		submit_button( __( 'Filter', 'rust-mail' ), '', 'filter_action', false );
		echo '</div>';
	}

	public function prepare_items() {
		$search = isset( $_REQUEST['s'] ) ? sanitize_text_field( wp_unslash( $_REQUEST['s'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification -- a search, not an action.
		$result = RustMail_Log_Store::query(
			array(
				'status'   => $this->current_status(),
				'cause'    => $this->current_cause(),
				'search'   => $search,
				'per_page' => self::PER_PAGE,
				'page'     => $this->get_pagenum(),
			)
		);
		$this->items           = $result['rows'];
		$this->_column_headers = array( $this->get_columns(), array(), array() );
		$this->set_pagination_args(
			array(
				'total_items' => $result['total'],
				'per_page'    => self::PER_PAGE,
			)
		);
	}

	public function get_columns() {
		$columns = array(
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
		return sprintf( '<strong><a class="row-title" href="%s">%s</a></strong>', esc_url( $url ), esc_html( $subject ) ) . $this->row_actions( $actions );
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
