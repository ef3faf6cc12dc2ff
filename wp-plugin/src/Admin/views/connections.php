<?php
/**
 * The settings page's connections and routing rules: the list of connections (the primary and the fallback above,
 * the named ones here, those of RUST_MAIL_CONNECTIONS read-only), the form that adds or changes a named one, and the
 * rules. Included by settings-page.php, whose $rust_mail_field prints each setting's control.
 *
 * @package RustMail
 */

defined( 'ABSPATH' ) || exit;

$rust_mail_named = RustMail_Settings_Connections::named();
// ?connection=<name> opens a saved connection in the form; otherwise the form adds a new one.
$rust_mail_editing = isset( $_GET['connection'] ) ? sanitize_key( wp_unslash( $_GET['connection'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification -- only chooses what the form shows.
if ( false !== ( $rust_mail_named[ $rust_mail_editing ] ?? null ) ) { // Only a connection saved here can be changed here.
	$rust_mail_editing = '';
}
$rust_mail_all_entries = RustMail_Settings_Schema::entries();
// The fields of the connection's kind, as the primary's (settings.js switches them when its API changes).
$rust_mail_kind_fields = RustMail_Settings_Presets::api_fields()[ (string) RustMail_Settings_Store::get( RustMail_Settings_Connections::prefix( $rust_mail_editing ) . 'api' ) ] ?? RustMail_Settings_Presets::api_fields()[''];
$rust_mail_routes      = RustMail_Settings_Routes::all();
?>
<hr />
<h2 id="rust-mail-connections"><?php esc_html_e( 'Connections', 'rust-mail' ); ?></h2>
<p><?php esc_html_e( 'Mail goes through the primary connection (the mail server above) unless a routing rule below chooses another. When the chosen connection fails for a while or is over its limits, the fallback connection takes the mail. Each connection has its own rate limits.', 'rust-mail' ); ?></p>
<table class="widefat striped" id="rust-mail-connection-list">
	<thead><tr>
		<th><?php esc_html_e( 'Name', 'rust-mail' ); ?></th>
		<th><?php esc_html_e( 'Sends to', 'rust-mail' ); ?></th>
		<th><?php esc_html_e( 'Rate limits', 'rust-mail' ); ?></th>
		<th></th>
	</tr></thead>
	<tbody>
	<?php foreach ( RustMail_Settings_Connections::all() as $rust_mail_name => $rust_mail_prefix ) : ?>
		<tr data-rust-mail-connection="<?php echo esc_attr( $rust_mail_name ); ?>">
			<td><strong><?php echo esc_html( RustMail_Settings_Connections::label( $rust_mail_name ) ); ?></strong></td>
			<td><code><?php echo esc_html( RustMail_Settings_Connections::destination( $rust_mail_name ) ); ?></code></td>
			<td>
				<?php
				$rust_mail_limits = RustMail_Settings_Store::limits( $rust_mail_prefix );
				echo esc_html( $rust_mail_limits ? implode( ', ', array_map( static fn ( $key, $value ) => $value . ' ' . $rust_mail_all_entries[ $key ]['label'], array_keys( $rust_mail_limits ), $rust_mail_limits ) ) : __( 'none', 'rust-mail' ) );
				?>
			</td>
			<td>
				<?php if ( ! isset( $rust_mail_named[ $rust_mail_name ] ) ) : ?>
					<?php esc_html_e( 'Set in the sections above.', 'rust-mail' ); ?>
				<?php elseif ( $rust_mail_named[ $rust_mail_name ] ) : ?>
					<?php esc_html_e( 'Set by RUST_MAIL_CONNECTIONS in wp-config.php.', 'rust-mail' ); ?>
					<?php $rust_mail_problem = RustMail_Settings_Store::constant_secret_problem( $rust_mail_prefix ); ?>
					<?php if ( '' !== $rust_mail_problem ) : ?>
						<p class="rust-mail-connection-problem"><?php echo esc_html( $rust_mail_problem ); ?></p>
					<?php endif; ?>
				<?php else : ?>
					<a href="<?php echo esc_url( RustMail_Admin_Pages::settings_url( array( 'connection' => $rust_mail_name ) ) . '#rust-mail-connection-form' ); ?>"><?php esc_html_e( 'Edit', 'rust-mail' ); ?></a>
					<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" style="display:inline">
						<input type="hidden" name="action" value="<?php echo esc_attr( RustMail_Admin_Actions::ACTION_DELETE_CONNECTION ); ?>" />
						<input type="hidden" name="connection_name" value="<?php echo esc_attr( $rust_mail_name ); ?>" />
						<?php wp_nonce_field( RustMail_Admin_Actions::delete_connection_nonce_action( $rust_mail_name ) ); ?>
						<?php submit_button( __( 'Delete', 'rust-mail' ), 'link-delete small', 'delete', false ); ?>
					</form>
				<?php endif; ?>
			</td>
		</tr>
	<?php endforeach; ?>
	</tbody>
</table>

<h3>
	<?php
	if ( '' === $rust_mail_editing ) {
		esc_html_e( 'Add a connection', 'rust-mail' );
	} else {
		/* translators: %s: connection name */
		echo esc_html( sprintf( __( 'Change the connection "%s"', 'rust-mail' ), $rust_mail_editing ) );
	}
	?>
</h3>
<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" id="rust-mail-connection-form">
	<input type="hidden" name="action" value="<?php echo esc_attr( RustMail_Admin_Actions::ACTION_SAVE_CONNECTION ); ?>" />
	<input type="hidden" name="connection_original" value="<?php echo esc_attr( $rust_mail_editing ); ?>" />
	<?php wp_nonce_field( RustMail_Admin_Actions::ACTION_SAVE_CONNECTION ); ?>
	<table class="form-table" role="presentation">
		<tr>
			<th scope="row"><label for="rust-mail-connection-name"><?php esc_html_e( 'Name', 'rust-mail' ); ?></label></th>
			<td>
				<input type="text" class="regular-text" id="rust-mail-connection-name" name="connection_name" value="<?php echo esc_attr( $rust_mail_editing ); ?>" <?php disabled( '' !== $rust_mail_editing ); ?> />
				<p class="description"><?php esc_html_e( 'Lowercase letters, digits, - and _, such as support. The log names the connection each mail went through.', 'rust-mail' ); ?></p>
			</td>
		</tr>
		<?php
		// The primary's fields (server, advanced, rate limits), for this connection's keys.
		foreach ( RustMail_Settings_Schema::connection_keys( '' ) as $rust_mail_key => $rust_mail_type ) :
			$rust_mail_entry = $rust_mail_all_entries[ $rust_mail_key ];
			if ( ! isset( $rust_mail_entry['control'] ) ) {
				continue;
			}
			$rust_mail_setting = RustMail_Settings_Connections::prefix( $rust_mail_editing ) . $rust_mail_key;
			?>
			<tr data-rust-mail-connection-key="<?php echo esc_attr( $rust_mail_key ); ?>"<?php echo in_array( $rust_mail_key, $rust_mail_kind_fields['hide'], true ) ? ' hidden' : ''; ?>>
				<th scope="row"><label for="<?php echo esc_attr( 'rust-mail-' . str_replace( '_', '-', $rust_mail_setting ) ); ?>" data-label="<?php echo esc_attr( $rust_mail_entry['label'] ); ?>"><?php echo esc_html( $rust_mail_kind_fields['labels'][ $rust_mail_key ] ?? $rust_mail_entry['label'] ); ?></label></th>
				<td><?php $rust_mail_field( $rust_mail_setting, $rust_mail_entry ); ?></td>
			</tr>
		<?php endforeach; ?>
	</table>
	<?php submit_button( '' === $rust_mail_editing ? __( 'Add connection', 'rust-mail' ) : __( 'Save connection', 'rust-mail' ), 'secondary', 'save_connection' ); ?>
</form>

<h2 id="rust-mail-routes"><?php esc_html_e( 'Routing rules', 'rust-mail' ); ?></h2>
<p><?php esc_html_e( 'Each rule sends the mail it matches through a connection. A rule matches by From address (support@example.com) or by its domain (example.com), and by who sent it, as the log\'s "Sent by" names it (plugin:contact-form-7); an empty field matches anything. The first rule that matches wins; mail no rule matches goes through the primary.', 'rust-mail' ); ?></p>
<?php if ( RustMail_Settings_Routes::is_fixed_by_constant() ) : ?>
	<p class="description"><?php esc_html_e( 'Set by RUST_MAIL_ROUTES in wp-config.php.', 'rust-mail' ); ?></p>
	<table class="widefat striped" id="rust-mail-route-list">
		<thead><tr><th><?php esc_html_e( 'From', 'rust-mail' ); ?></th><th><?php esc_html_e( 'Sent by', 'rust-mail' ); ?></th><th><?php esc_html_e( 'Connection', 'rust-mail' ); ?></th></tr></thead>
		<tbody>
		<?php foreach ( $rust_mail_routes as $rust_mail_rule ) : ?>
			<tr><td><?php echo esc_html( $rust_mail_rule['from'] ); ?></td><td><?php echo esc_html( $rust_mail_rule['caller'] ); ?></td><td><?php echo esc_html( $rust_mail_rule['connection'] ); ?></td></tr>
		<?php endforeach; ?>
		</tbody>
	</table>
<?php else : ?>
	<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" id="rust-mail-routes-form">
		<input type="hidden" name="action" value="<?php echo esc_attr( RustMail_Admin_Actions::ACTION_SAVE_ROUTES ); ?>" />
		<?php wp_nonce_field( RustMail_Admin_Actions::ACTION_SAVE_ROUTES ); ?>
		<table class="widefat striped" id="rust-mail-route-list">
			<thead><tr>
				<th><?php esc_html_e( 'From address or domain', 'rust-mail' ); ?></th>
				<th><?php esc_html_e( 'Sent by', 'rust-mail' ); ?></th>
				<th><?php esc_html_e( 'Connection', 'rust-mail' ); ?></th>
				<th><?php esc_html_e( 'Delete', 'rust-mail' ); ?></th>
			</tr></thead>
			<tbody>
			<?php
			// The saved rules, then an empty row for a new one.
			foreach ( array_merge( $rust_mail_routes, array( array( 'from' => '', 'caller' => '', 'connection' => RustMail_Settings_Connections::PRIMARY ) ) ) as $rust_mail_index => $rust_mail_rule ) :
				$rust_mail_row = 'routes[' . $rust_mail_index . ']';
				?>
				<tr>
					<td><input type="text" class="regular-text" name="<?php echo esc_attr( $rust_mail_row . '[from]' ); ?>" value="<?php echo esc_attr( $rust_mail_rule['from'] ); ?>" aria-label="<?php esc_attr_e( 'From address or domain', 'rust-mail' ); ?>" /></td>
					<td><input type="text" name="<?php echo esc_attr( $rust_mail_row . '[caller]' ); ?>" value="<?php echo esc_attr( $rust_mail_rule['caller'] ); ?>" aria-label="<?php esc_attr_e( 'Sent by', 'rust-mail' ); ?>" /></td>
					<td>
						<select name="<?php echo esc_attr( $rust_mail_row . '[connection]' ); ?>" aria-label="<?php esc_attr_e( 'Connection', 'rust-mail' ); ?>">
							<?php foreach ( array_keys( RustMail_Settings_Connections::all() ) as $rust_mail_name ) : ?>
								<option value="<?php echo esc_attr( $rust_mail_name ); ?>" <?php selected( $rust_mail_rule['connection'], $rust_mail_name ); ?>><?php echo esc_html( RustMail_Settings_Connections::label( $rust_mail_name ) ); ?></option>
							<?php endforeach; ?>
						</select>
					</td>
					<td><input type="checkbox" name="<?php echo esc_attr( $rust_mail_row . '[delete]' ); ?>" value="1" aria-label="<?php esc_attr_e( 'Delete', 'rust-mail' ); ?>" /></td>
				</tr>
			<?php endforeach; ?>
			</tbody>
		</table>
		<?php submit_button( __( 'Save rules', 'rust-mail' ), 'secondary', 'save_routes' ); ?>
	</form>
<?php endif; ?>
