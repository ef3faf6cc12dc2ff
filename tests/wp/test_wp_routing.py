"""Named connections and routing by sender (issue 21), in real WordPress against real SMTP servers: each mail is
counted at the server that received it. Rules by From address, by domain and by sending plugin, the first match
winning, the primary for the rest, the fallback behind a routed connection, rate limits per connection,
RUST_MAIL_CONNECTIONS and RUST_MAIL_ROUTES from wp-config.php under the secret-pinning rule, and the settings page
(capability, nonce, refusals, and Chromium)."""
import json
import re

import pytest

from harness.api_servers import GraphServer
from harness.wpstack import LOG, SETTINGS, php_string, run_browser
from test_wp_api import MAILBOX, TOKEN
from test_wp_outbox import drain, set_constants


def smtp(server, **keys):
    """A connection's settings for a capture server on loopback."""
    return {"host": "127.0.0.1", "port": server.port, "security": "none", "auth": "none", **keys}


def mail_from(wp, sender, subject, caller_file=None):
    """wp_mail() with a From header, from the test's PHP or from a plugin file that calls it (the log's "Sent by")."""
    send = (f"$sent = rust_mail_routing_test_send({php_string(sender)}, {php_string(subject)});" if caller_file else
            f"$sent = wp_mail('someone@example.com', {php_string(subject)}, 'Body', array('From: ' . {php_string(sender)}));")
    include = f"require_once {php_string(str(caller_file))};" if caller_file else ""
    return wp.php(f"{include} {send} out($sent);")


def subjects(server):
    return sorted(m.message["Subject"] for m in server.messages())


def row_of(wp, subject):
    [row] = [row for row in wp.log_rows() if row["subject"] == subject]
    return row


@pytest.fixture
def newsletter_plugin(wp):
    """A plugin file (not activated: only its file on the call stack counts) that sends through wp_mail()."""
    directory = wp.wp / "wp-content" / "plugins" / "routing-newsletter"
    directory.mkdir(exist_ok=True)
    path = directory / "routing-newsletter.php"
    path.write_text("<?php\nfunction rust_mail_routing_test_send($from, $subject) {\n"
                    "    return wp_mail('someone@example.com', $subject, 'Body', array('From: ' . $from));\n}\n")
    yield path
    path.unlink()
    directory.rmdir()


def test_two_from_addresses_go_through_two_connections(wp, engine, capture):
    primary, support = capture(), capture()
    wp.set_settings(port=primary.port, connections={"support": smtp(support)},
                    routes=[{"from": "support@example.com", "caller": "", "connection": "support"}])
    assert mail_from(wp, "support@example.com", "To a customer") is True
    assert mail_from(wp, "sales@example.com", "No rule") is True
    assert subjects(support) == ["To a customer"] and support.messages()[0].mail_from == "support@example.com"
    assert subjects(primary) == ["No rule"]
    assert (row_of(wp, "To a customer")["route"], row_of(wp, "To a customer")["connection"]) == ("support", "support")
    assert (row_of(wp, "No rule")["route"], row_of(wp, "No rule")["connection"]) == ("primary", "primary")


def test_a_from_address_goes_through_a_graph_connection_and_the_rest_over_smtp(wp, engine, capture, certs):
    """A named connection of the other kind: the mailbox's own address goes to the Graph contract server, with the
    connection's own token (stored encrypted as the page stores it), on both engines."""
    primary, graph = capture(), GraphServer(certs, mailbox=MAILBOX, tokens=[TOKEN])
    try:
        m365 = {"api": "graph", "api_base": graph.base, "username": MAILBOX, "ca_file": wp.site_ca(certs),
                "verify_peer": True, "timeout": 10}
        wp.php(wp.settings_code(port=primary.port, connections={"m365": m365},
                                routes=[{"from": MAILBOX, "caller": "", "connection": "m365"}])
               + f" $s['connections']['m365']['password'] = RustMail_Settings_Secrets::encrypt({php_string(TOKEN)}, 'connection:m365:password');"
               " RustMail_Settings_Store::update_plugin_option(RustMail_Settings_Store::OPTION, $s); out(true);")
        assert mail_from(wp, MAILBOX, "Over Graph") is True
        assert mail_from(wp, "shop@example.com", "Over SMTP") is True
        assert [m.message["Subject"] for m in graph.messages()] == ["Over Graph"]
        assert subjects(primary) == ["Over SMTP"]
        row = row_of(wp, "Over Graph")
        assert (row["connection"], row["smtp_code"]) == ("m365", "202") and TOKEN not in json.dumps(wp.log_rows())
    finally:
        graph.stop()


def test_a_domain_rule_matches_every_address_of_the_domain_and_only_it(wp, capture):
    primary, support = capture(), capture()
    wp.set_settings(port=primary.port, connections={"support": smtp(support)},
                    routes=[{"from": "example.org", "caller": "", "connection": "support"}])
    mail_from(wp, "News@Example.ORG", "Domain, any case")
    mail_from(wp, "news@sub.example.org", "Subdomain")
    mail_from(wp, "news@example.org.evil.test", "Look-alike")
    assert subjects(support) == ["Domain, any case"]
    assert subjects(primary) == ["Look-alike", "Subdomain"]


def test_a_caller_rule_matches_the_sending_plugin(wp, capture, newsletter_plugin):
    primary, bulk = capture(), capture()
    wp.set_settings(port=primary.port, connections={"bulk": smtp(bulk)},
                    routes=[{"from": "", "caller": "plugin:routing-newsletter", "connection": "bulk"}])
    mail_from(wp, "news@example.com", "From the plugin", caller_file=newsletter_plugin)
    mail_from(wp, "news@example.com", "Same sender, not the plugin")
    assert subjects(bulk) == ["From the plugin"]
    assert subjects(primary) == ["Same sender, not the plugin"]
    assert row_of(wp, "From the plugin")["caller"] == "plugin:routing-newsletter"


def test_a_rule_with_both_from_and_caller_needs_both(wp, capture, newsletter_plugin):
    primary, bulk = capture(), capture()
    wp.set_settings(port=primary.port, connections={"bulk": smtp(bulk)},
                    routes=[{"from": "news@example.com", "caller": "plugin:routing-newsletter", "connection": "bulk"}])
    mail_from(wp, "news@example.com", "Both", caller_file=newsletter_plugin)
    mail_from(wp, "other@example.com", "Plugin only", caller_file=newsletter_plugin)
    mail_from(wp, "news@example.com", "Address only")
    assert subjects(bulk) == ["Both"]
    assert subjects(primary) == ["Address only", "Plugin only"]


@pytest.mark.parametrize("order", ["domain first", "address first"])
def test_the_first_matching_rule_wins(wp, capture, order):
    primary, support, vip = capture(), capture(), capture()
    domain_rule = {"from": "example.org", "caller": "", "connection": "support"}
    address_rule = {"from": "vip@example.org", "caller": "", "connection": "vip"}
    rules = [domain_rule, address_rule] if order == "domain first" else [address_rule, domain_rule]
    wp.set_settings(port=primary.port, connections={"support": smtp(support), "vip": smtp(vip)}, routes=rules)
    mail_from(wp, "vip@example.org", "Both rules match")
    winner, loser = (support, vip) if order == "domain first" else (vip, support)
    assert subjects(winner) == ["Both rules match"] and subjects(loser) == [] and subjects(primary) == []


def test_the_routed_connection_down_the_fallback_delivers_and_the_log_names_both(wp, capture, closed_port):
    primary, fallback = capture(), capture()
    set_constants(wp, RUST_MAIL_TEST_RETRY_DELAY=0)
    wp.set_settings(port=primary.port, delivery="queued", connections={"support": {**smtp(primary), "port": closed_port}},
                    routes=[{"from": "support@example.com", "caller": "", "connection": "support"}],
                    fallback_host="127.0.0.1", fallback_port=fallback.port, fallback_security="none", fallback_auth="none")
    assert mail_from(wp, "support@example.com", "Support is down") is True
    assert subjects(fallback) == ["Support is down"] and subjects(primary) == []
    row = row_of(wp, "Support is down")
    assert row["status"] == "sent" and (row["route"], row["connection"]) == ("support", "fallback")
    assert [(a["connection"], a["ok"], a["error_kind"]) for a in json.loads(row["attempt_log"])] == [
        ("support", False, "connect_refused"), ("fallback", True, "")]
    browser = wp.browser()
    listing = browser.get(LOG).text
    assert "support → fallback" in listing
    entry = browser.get(f"{LOG}&entry={row['id']}").text
    assert "the connection &quot;support&quot;" in entry and "the fallback connection" in entry


def test_a_rate_limit_holds_its_own_connections_mail_while_others_flow(wp, engine, capture):
    primary, support = capture(), capture()
    set_constants(wp, RUST_MAIL_TEST_RETRY_DELAY=0, RUST_MAIL_TEST_HOLD=True)
    wp.set_settings(port=primary.port, delivery="queued", connections={"support": smtp(support, rate_per_minute=1)},
                    routes=[{"from": "example.org", "caller": "", "connection": "support"}])
    for number in range(3):
        mail_from(wp, "help@example.org", f"Support {number}")
        mail_from(wp, "shop@example.com", f"Shop {number}")
    assert drain(wp) == {"sent": 4, "waiting": 2}
    assert subjects(primary) == ["Shop 0", "Shop 1", "Shop 2"]
    assert subjects(support) == ["Support 0"]
    waiting = [row for row in wp.log_rows() if row["status"] == "queued"]
    assert sorted(row["subject"] for row in waiting) == ["Support 1", "Support 2"]
    assert all(row["route"] == "support" and row["attempts"] == "0" for row in waiting)
    # A minute later the limit lets the next one through the routed connection, never through the primary.
    wp.php("global $wpdb; $t = RustMail_Log_Store::table(); $wpdb->query(\"UPDATE $t SET sent_at = sent_at - INTERVAL 61 SECOND, next_attempt_at = UTC_TIMESTAMP()\"); out(true);")
    assert drain(wp) == {"sent": 1, "waiting": 1}
    assert subjects(support) == ["Support 0", "Support 1"] and len(primary.messages()) == 3


def test_connections_and_routes_from_wp_config(wp, capture):
    primary, relay = capture(), capture()
    set_constants(wp, RUST_MAIL_CONNECTIONS={"relay": smtp(relay)},
                  RUST_MAIL_ROUTES=[{"from": "example.net", "connection": "relay"}])
    wp.set_settings(port=primary.port)
    mail_from(wp, "alerts@example.net", "Through wp-config's relay")
    mail_from(wp, "alerts@example.com", "Through the primary")
    assert subjects(relay) == ["Through wp-config's relay"] and subjects(primary) == ["Through the primary"]
    page = wp.browser().get(SETTINGS).text
    listed = re.search(r'<tr data-rust-mail-connection="relay">(.*?)</tr>', page, re.S).group(1)
    assert "Set by RUST_MAIL_CONNECTIONS in wp-config.php." in listed and "Edit" not in listed
    assert "Set by RUST_MAIL_ROUTES in wp-config.php." in page and 'id="rust-mail-routes-form"' not in page


def test_a_secret_from_wp_config_goes_only_to_a_server_fixed_there_too(wp, capture):
    """The pinning rule of the primary, for a connection of RUST_MAIL_CONNECTIONS: its password is used only with
    host, port, security, verify_peer, ca_file and allow_insecure_auth fixed in the same entry."""
    password = "Relay-Secret-42"
    relay = capture(user="relay-user", password=password)
    pinned = {**smtp(relay), "auth": "plain", "username": "relay-user", "password": password,
              "allow_insecure_auth": True, "verify_peer": True, "ca_file": ""}
    unpinned = {key: value for key, value in pinned.items() if key != "host"}
    set_constants(wp, RUST_MAIL_CONNECTIONS={"pinned": pinned, "unpinned": unpinned},
                  RUST_MAIL_ROUTES=[{"from": "pinned@example.com", "connection": "pinned"},
                                    {"from": "unpinned@example.com", "connection": "unpinned"}])
    wp.set_settings(connections={"unpinned": smtp(relay, host="127.0.0.2")})  # a page value cannot stand in
    mail_from(wp, "unpinned@example.com", "Unpinned")
    mail_from(wp, "pinned@example.com", "Pinned")
    assert [(m.message["Subject"], m.login) for m in relay.messages()] == [("Pinned", "relay-user")]
    refused = row_of(wp, "Unpinned")
    assert refused["status"] == "failed" and refused["error_cause"] == "settings"
    assert "RUST_MAIL_CONNECTIONS['unpinned']['password']" in refused["error_message"]
    assert "Define RUST_MAIL_CONNECTIONS['unpinned']['host'] in wp-config.php as well." in refused["error_message"]
    page = wp.browser().get(SETTINGS).text
    assert "RUST_MAIL_CONNECTIONS[&#039;unpinned&#039;][&#039;host&#039;]" in page
    assert password not in page and password not in json.dumps(wp.log_rows())


def routes_form(browser):
    return browser.form_fields(browser.get(SETTINGS), "rust-mail-routes-form")


def connection_form(browser):
    return browser.form_fields(browser.get(SETTINGS), "rust-mail-connection-form")


def test_the_page_adds_a_connection_with_a_secret_and_refuses_bad_input(wp, capture):
    password = "Page-Secret-77"
    server = capture(user="support-user", password=password)
    browser = wp.browser()
    before = wp.php("out(get_option('rust_mail_settings'));")
    # Bad names: empty, not allowed, reserved; nothing is saved.
    for name, message in [("", "A connection needs a name."),
                          ("Support Desk", "The connection name &quot;Support Desk&quot; is not allowed"),
                          ("fallback", "A connection named &quot;fallback&quot; exists already")]:
        fields = connection_form(browser)
        fields.update({"connection_name": name, "rust_mail[connection::host]": "127.0.0.1"})
        page = browser.post("/wp-admin/admin-post.php", fields)
        assert message in page.text, name
    assert wp.php("out(get_option('rust_mail_settings'));") == before
    fields = connection_form(browser)
    fields.update({"connection_name": "support", "rust_mail[connection::host]": "127.0.0.1",
                   "rust_mail[connection::port]": str(server.port), "rust_mail[connection::security]": "none",
                   "rust_mail[connection::auth]": "plain", "rust_mail[connection::username]": "support-user",
                   "rust_mail[connection::password]": password, "rust_mail[connection::allow_insecure_auth]": "1",
                   "rust_mail[connection::rate_per_minute]": "7"})
    saved = browser.post("/wp-admin/admin-post.php", fields)
    assert "Connection &quot;support&quot; saved." in saved.text
    assert password not in saved.text and password not in json.dumps(wp.php("out(get_option('rust_mail_settings'));"))
    # A second "support" is refused, and the first is kept as it was.
    fields = connection_form(browser)
    fields.update({"connection_name": "support", "rust_mail[connection::host]": "127.0.0.9"})
    assert "A connection named &quot;support&quot; exists already" in browser.post("/wp-admin/admin-post.php", fields).text
    assert wp.php("out(RustMail_Settings_Store::get('connection:support:host'));") == "127.0.0.1"
    # Bad rules: unknown connection, CR/LF in From, neither From nor sender; nothing is saved.
    for rule, message in [({"from": "a@example.com", "connection": "nope"}, "Rule 1: there is no connection named &quot;nope&quot;."),
                          ({"from": "a@example.com\r\nBcc: x@example.com", "connection": "support"}, "Rule 1: a From address or sender may not hold a line break"),
                          ({"from": "not an address", "connection": "support"}, "is neither an email address nor a domain"),
                          ({"from": "", "caller": "plugin:x y", "connection": "support"}, "is not a sender as the log names it")]:
        fields = routes_form(browser)
        fields.update({f"routes[0][{key}]": value for key, value in rule.items()})
        page = browser.post("/wp-admin/admin-post.php", fields)
        assert "The routing rules were not saved." in page.text and message in page.text, rule
    assert wp.php("out(RustMail_Settings_Routes::all());") == []
    # A good rule; mail from its address logs in at the new connection's server.
    fields = routes_form(browser)
    fields.update({"routes[0][from]": "Support@Example.com", "routes[0][connection]": "support"})
    assert "Routing rules saved." in browser.post("/wp-admin/admin-post.php", fields).text
    mail_from(wp, "support@example.com", "Logged in")
    assert [(m.message["Subject"], m.login) for m in server.messages()] == [("Logged in", "support-user")]
    page = browser.get(SETTINGS)
    assert password not in page.text and "7 Messages a minute" in page.text
    # The rule holds the connection: it cannot be deleted until the rule goes.
    delete = browser.form_fields(page, "rust_mail_delete_connection")
    assert "routing rule 1 sends mail through it" in browser.post("/wp-admin/admin-post.php", delete).text
    fields = routes_form(browser)
    fields["routes[0][delete]"] = "1"
    assert "Routing rules saved." in browser.post("/wp-admin/admin-post.php", fields).text
    delete = browser.form_fields(browser.get(SETTINGS), "rust_mail_delete_connection")
    assert "Connection &quot;support&quot; deleted." in browser.post("/wp-admin/admin-post.php", delete).text
    assert wp.php("out(array_keys(RustMail_Settings_Connections::named()));") == []


@pytest.mark.parametrize("action", ["rust_mail_save_connection", "rust_mail_save_routes"])
def test_no_change_without_the_capability_or_the_nonce(wp, action):
    before = wp.php("out(get_option('rust_mail_settings'));")
    data = {"action": action, "connection_name": "evil", "rust_mail[connection::host]": "evil.example",
            "routes[0][from]": "example.com", "routes[0][connection]": "primary"}
    assert wp.browser().post("/wp-admin/admin-post.php", data).status == 403
    nonce = wp.php(f"wp_set_current_user(get_user_by('login', 'admin')->ID); out(wp_create_nonce('{action}'));")
    wp.php("out(username_exists('routing-editor') ?: wp_insert_user(array('user_login' => 'routing-editor', "
           "'user_pass' => 'routing-editor-pass-1', 'role' => 'editor', 'user_email' => 'e@example.com')));")
    editor = wp.browser("routing-editor", "routing-editor-pass-1")
    assert editor.post("/wp-admin/admin-post.php", {**data, "_wpnonce": nonce}).status == 403
    assert wp.php("out(get_option('rust_mail_settings'));") == before


@pytest.mark.soak
def test_chromium_adds_a_connection_and_a_rule_and_the_log_names_it(wp, capture):
    primary, support = capture(), capture()
    wp.set_settings(port=primary.port)
    output = run_browser(wp, "routing.mjs", SUPPORT_PORT=str(support.port))
    assert "routing: ok" in output
    # The page's test mail (sent by the plugin itself) went through the new connection, not the primary.
    assert [m.rcpt_tos for m in support.messages()] == [["routing-inbox@example.com"]] and primary.messages() == []


def test_diagnose_walks_the_connection_chosen_and_names_it(wp, capture, closed_port):
    """Diagnose offers every connection; it walks the one chosen (a closed port here, while the primary works) and
    names it; a failed entry's "Diagnose the connection now" walks the connection that failed."""
    primary = capture()
    wp.set_settings(port=primary.port, connections={"support": {**smtp(primary), "port": closed_port}},
                    routes=[{"from": "support@example.com", "caller": "", "connection": "support"}])
    browser = wp.browser()
    page = browser.get(SETTINGS)
    options = re.findall(r'<option value="([^"]+)">([^<]+)</option>',
                         page.text.split('id="rust-mail-diagnose-connection"', 1)[1].split("</select>", 1)[0])
    assert options == [("primary", f"primary (127.0.0.1:{primary.port})"), ("support", f"support (127.0.0.1:{closed_port})")]
    fields = browser.form_fields(page, "rust_mail_diagnose")
    walked = browser.post("/wp-admin/admin-post.php", {**fields, "connection": "support"}).text
    assert f"Walked: the connection &quot;support&quot; (127.0.0.1:{closed_port})." in walked
    assert "The connection has a problem." in walked and "connection_refused" in walked
    walked = browser.post("/wp-admin/admin-post.php", {**fields, "connection": "primary"}).text
    assert f"Walked: the primary connection (127.0.0.1:{primary.port})." in walked and "The connection works." in walked
    refused = browser.post("/wp-admin/admin-post.php", {**fields, "connection": "nosuch"}).text
    assert "There is no connection named &quot;nosuch&quot; to diagnose." in refused

    assert mail_from(wp, "support@example.com", "Support is down") is False
    entry = browser.get(f"{LOG}&entry={row_of(wp, 'Support is down')['id']}")
    form = browser.form_fields(entry, "rust_mail_diagnose")
    assert form.get("connection") == "support"
    assert "Walked: the connection &quot;support&quot;" in browser.post("/wp-admin/admin-post.php", form).text
