"""The plugin's promises to WordPress code, on the real stack: wp_mail_succeeded and wp_mail_failed fire for what
really happened, a partly refused recipient list, a server that never answers, and uninstall (legacy transients, and
every site of a multisite network)."""
import json

from harness.wpstack import php_string

# wp_mail() once, with both of core's outcome hooks counted and the call timed.
WP_MAIL = """
$fired = array('succeeded' => array(), 'failed' => array());
add_action('wp_mail_succeeded', function ($data) use (&$fired) { $fired['succeeded'][] = $data['to']; });
add_action('wp_mail_failed', function ($e) use (&$fired) { $fired['failed'][] = $e->get_error_message(); });
$started = microtime(true);
$result = wp_mail(json_decode(%s, true), 'Promise', 'Body text');
out(array('result' => $result, 'seconds' => microtime(true) - $started) + $fired);
"""


def wp_mail(wp, to):
    return wp.php(WP_MAIL % php_string(json.dumps(to)))


def test_wp_mail_succeeded_fires_only_on_success_and_wp_mail_failed_only_on_failure(wp, engine, smtp_server):
    good, refusing = smtp_server(), smtp_server(replies={"mail": "550 5.7.1 sender refused"})
    wp.set_settings(port=good.port)
    sent = wp_mail(wp, ["someone@example.com"])
    assert (sent["result"], sent["succeeded"], sent["failed"]) == (True, [["someone@example.com"]], []), sent
    assert len(good.messages) == 1

    wp.set_settings(port=refusing.port)
    failed = wp_mail(wp, ["someone@example.com"])
    assert failed["result"] is False and failed["succeeded"] == [], failed
    assert len(failed["failed"]) == 1 and "550" in failed["failed"][0], failed
    assert refusing.messages == [] and any(line.startswith("MAIL FROM:") for line in refusing.client_lines())
    assert [row["status"] for row in wp.log_rows()] == ["sent", "failed"]


def test_a_partly_refused_recipient_list_reaches_the_others_and_is_logged_partial(wp, engine, smtp_server):
    server = smtp_server(replies={"rcpt:gone@example.com": "550 5.1.1 <gone@example.com>: no such user"})
    wp.set_settings(port=server.port)
    outcome = wp_mail(wp, ["first@example.com", "gone@example.com", "last@example.com"])
    # As core's PHPMailer does: the others get it, and wp_mail() says false with the refused address in wp_mail_failed.
    assert outcome["result"] is False and outcome["succeeded"] == [], outcome
    [failure] = outcome["failed"]
    assert "gone@example.com" in failure and "550" in failure and "first@example.com" not in failure, failure
    [message] = server.messages
    assert message.rcpt_tos == ["first@example.com", "last@example.com"]
    assert message.message["To"] == "first@example.com, gone@example.com, last@example.com"
    [row] = wp.log_rows()
    assert row["status"] == "partial", row
    assert "gone@example.com" in row["error_message"] and "550" in row["error_message"], row


def test_a_server_that_never_answers_fails_within_the_timeout(wp, engine, silent_server):
    wp.set_settings(port=silent_server.port, timeout=2)
    outcome = wp_mail(wp, ["someone@example.com"])
    assert outcome["result"] is False and outcome["succeeded"] == [] and len(outcome["failed"]) == 1, outcome
    assert 1.5 < outcome["seconds"] < 4, outcome
    [row] = wp.log_rows()
    assert row["status"] == "failed" and row["error_kind"] == "timeout", row


LEGACY_TRANSIENTS = """
foreach (array('rust_mail_notice_1', 'rust_mail_diagnosis_1', 'rust_mail_notice_7') as $name) {
    set_transient($name, array('message' => 'x'), 15 * MINUTE_IN_SECONDS);
}
set_transient('rust_mailer_notice_1', 'another plugin', 15 * MINUTE_IN_SECONDS);
"""

LEFT_AFTER_UNINSTALL = """
global $wpdb;
$left = array();
foreach ($wpdb->get_col("SHOW TABLES") as $table) {
    if (strpos($table, 'rust_mail') !== false) { $left[] = "table $table"; }
    if (preg_match('/options$/', $table)) {
        foreach ($wpdb->get_col("SELECT option_name FROM $table WHERE option_name LIKE '%rust%mail%'") as $name) {
            $left[] = "$table $name";
        }
    }
}
if (is_multisite()) {
    foreach ($wpdb->get_col("SELECT meta_key FROM $wpdb->sitemeta WHERE meta_key LIKE '%rust%mail%'") as $key) {
        $left[] = "sitemeta $key";
    }
}
foreach ($wpdb->get_col("SELECT meta_key FROM $wpdb->usermeta WHERE meta_key LIKE 'rust\\\\_mail\\\\_%'") as $key) {
    $left[] = "usermeta $key";
}
foreach (_get_cron_array() as $events) {
    foreach (array_keys($events) as $hook) {
        if (strpos($hook, 'rust_mail') === 0) { $left[] = "cron $hook"; }
    }
}
"""


def test_uninstall_removes_legacy_transients_and_nothing_of_other_plugins(wp, capture):
    server = capture()
    wp.set_settings(port=server.port)
    left = wp.php(LEGACY_TRANSIENTS + """
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        deactivate_plugins('rust-mail/rust-mail.php');
        uninstall_plugin('rust-mail/rust-mail.php');
    """ + LEFT_AFTER_UNINSTALL + "out(array($left, get_transient('rust_mailer_notice_1')));")
    try:
        assert left == [["wp_options _transient_rust_mailer_notice_1", "wp_options _transient_timeout_rust_mailer_notice_1"],
                        "another plugin"], left
    finally:
        wp.php("""
            delete_transient('rust_mailer_notice_1');
            require_once ABSPATH . 'wp-admin/includes/plugin.php';
            activate_plugin('rust-mail/rust-mail.php');
            out(true);
        """)


def test_uninstall_on_a_network_removes_the_networks_and_every_sites_data(wp_network):
    net = wp_network
    net.set_settings()
    assert net.send_mail()["result"] is True
    left = net.php("""
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        global $wpdb;
        // What versions before 0.2 kept per site: options, a log table, the purge event and page messages.
        $site2 = get_site(domain_exists($_SERVER['HTTP_HOST'], '/site2/'))->blog_id;
        switch_to_blog($site2);
        update_option('rust_mail_settings', array('host' => 'old.example.com'));
        update_option('rust_mail_db_version', '1');
        $wpdb->query("CREATE TABLE {$wpdb->prefix}rust_mail_log (id bigint unsigned)");
        wp_schedule_event(time() + 3600, 'daily', 'rust_mail_purge_log');
    """ + LEGACY_TRANSIENTS + """
        restore_current_blog();
        update_user_meta(1, 'rust_mail_notice', array('value' => array(), 'expires' => time() + 60));
        $before = (bool) get_site_option('rust_mail_settings')
            && $wpdb->get_var("SHOW TABLES LIKE '{$wpdb->base_prefix}2\\\\_rust\\\\_mail\\\\_log'") !== null;
        deactivate_plugins('rust-mail/rust-mail.php', false, true);
        uninstall_plugin('rust-mail/rust-mail.php');
    """ + LEFT_AFTER_UNINSTALL + """
        switch_to_blog($site2);
        $other = get_transient('rust_mailer_notice_1');
        delete_transient('rust_mailer_notice_1');
        restore_current_blog();
        out(array($before, $left, $other));
    """)
    try:
        assert left == [True, ["wp_2_options _transient_rust_mailer_notice_1",
                               "wp_2_options _transient_timeout_rust_mailer_notice_1"], "another plugin"], left
    finally:
        net.php("""
            require_once ABSPATH . 'wp-admin/includes/plugin.php';
            activate_plugin('rust-mail/rust-mail.php', '', true);
            out(true);
        """)
    assert net.php("require_once ABSPATH . 'wp-admin/includes/plugin.php'; "
                   "out(array(is_plugin_active_for_network('rust-mail/rust-mail.php'), "
                   "$GLOBALS['wpdb']->get_var(\"SHOW TABLES LIKE '\" . RustMail_Log_Store::table() . \"'\")));") == [
        True, "wp_rust_mail_log"]
