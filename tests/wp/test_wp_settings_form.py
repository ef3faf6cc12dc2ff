"""The settings form over real HTTP and in Chromium: presets own their values (a switch resets what the previous preset
set, on the page and on save), each wrong value is refused with its own message while the good ones are saved, Send
test and Diagnose use the values on the page without saving them, and unsaved changes ask before the page is left."""
import json

from harness.wpstack import SETTINGS, php_string, run_browser


def browser_run(wp, part, **env):
    return json.loads(run_browser(wp, "settings_form.mjs", PART=part, **env).strip().splitlines()[-1])


def problems(wp, values, open_basedir=""):
    return wp.php(f"out((object) RustMail_Settings_Validator::problems(json_decode({php_string(json.dumps(values))}, true),"
                  f" {php_string(open_basedir)}));")


def test_the_validator_names_what_is_wrong_with_each_value(wp):
    found = problems(wp, {
        "host": "smtp.example.com:587", "port": "99999", "from": "shop@contoso", "ca_file": "/nonexistent/ca.pem",
        "fallback_host": "smtp example com", "fallback_port": "0", "rate_per_minute": "50", "rate_per_day": "10",
        "fallback_rate_per_day": "600", "fallback_recipients_per_day": "500", "connection:support:host": "<b>x</b>",
        "retention_days": "abc",
    })
    assert found["host"] == "Put the port in the Port field: enter smtp.example.com here and 587 as the port."
    assert found["port"].startswith('"99999" is not a port: enter a number from 1 to 65535')
    assert found["from"].startswith('"shop@contoso" is not a complete address: its domain "contoso" has no dot')
    assert found["ca_file"].startswith("There is no file /nonexistent/ca.pem")
    assert found["fallback_host"].startswith('"smtp example com" is not a host name')
    assert found["fallback_port"].startswith('"0" is not a port')
    assert found["connection:support:host"].startswith('"<b>x</b>" is not a host name')
    assert found["rate_per_minute"] == "50 a minute is more than the 10 a day allowed: lower it, or raise the daily limit."
    assert found["fallback_rate_per_day"].startswith("600 messages a day cannot go out with 500 recipients a day")
    assert "retention_days" not in found and len(found) == 9
    # Good values and empty ones (the defaults) pass.
    assert problems(wp, {"host": "smtp.office365.com", "fallback_host": "[::1]", "port": "587", "from": "shop@contoso.com",
                         "ca_file": "", "rate_per_minute": "30", "rate_per_day": "0", "helo": "anything"}) == {}
    # A CA file outside open_basedir is refused even where PHP's own check would only warn.
    outside = problems(wp, {"ca_file": "/etc/ssl/certs/ca-certificates.crt"}, "/var/www:/tmp")
    assert outside["ca_file"] == ("/etc/ssl/certs/ca-certificates.crt is outside PHP's open_basedir (/var/www:/tmp), so PHP may"
                                  " not read it: put the file in one of those directories.")
    assert problems(wp, {"ca_file": "/etc/ssl/certs/ca-certificates.crt"}) == {}


def test_a_save_that_switches_presets_keeps_none_of_the_old_presets_values(wp):
    """Without the page's script (a plain POST) the server resets what the previous preset set: GoDaddy's relay host
    and 250 a day do not stay behind under Custom; a limit the owner typed does."""
    browser = wp.browser()
    for preset in ("godaddy", "custom"):
        fields = browser.form_fields(browser.get(SETTINGS), "rust_mail_save_settings")
        fields["rust_mail[preset]"] = preset
        page = browser.post("/wp-admin/admin-post.php", fields)
        assert "Settings saved." in page.text or "is now 250" in page.text
    saved = wp.php("out(get_option('rust_mail_settings'));")
    assert (saved["host"], saved["port"], saved["security"], saved["rate_per_day"]) == ("", 587, "starttls", 0)
    # Settings the page has no field for keep their values: the fallback's certificate check is not switched off.
    assert (saved.get("fallback_verify_peer", True), saved.get("chunking", True)) == (True, True)

    wp.php("RustMail_Settings_Store::save(array('preset' => 'm365', 'rate_per_minute' => '0', 'recipients_per_day' => '0')); out(true);")
    assert wp.php("$s = get_option('rust_mail_settings'); out(array($s['host'], $s['rate_per_minute'], $s['recipients_per_day']));") \
        == ["smtp.office365.com", 30, 10000]
    # To direct send: Microsoft's host and limits go; a daily limit typed over the preset's stays.
    wp.php("RustMail_Settings_Store::save(array('preset' => 'm365_direct', 'host' => 'smtp.office365.com', 'rate_per_minute' => '30',"
           " 'recipients_per_day' => '2000')); out(true);")
    assert wp.php("$s = get_option('rust_mail_settings'); out(array($s['host'], $s['port'], $s['rate_per_minute'], $s['recipients_per_day']));") \
        == ["", 25, 0, 2000]


def test_switching_presets_on_the_page_resets_the_previous_presets_values(wp):
    seen = browser_run(wp, "presets")
    assert seen["m365"]["values"] == {"host": "smtp.office365.com", "port": "587", "security": "starttls", "auth": "login",
                                      "perMinute": "30", "perDay": "0", "recipients": "10000"}
    assert seen["m365"]["noticeShown"] and "Host: 127.0.0.1 \u2192 smtp.office365.com" in seen["m365"]["changes"]
    assert "Messages a minute: 0 \u2192 30" in seen["m365"]["changes"]
    # Under Microsoft 365 with OAuth2: Microsoft's sign-in only, and no password field.
    assert seen["m365OAuth"] == {"password": False, "microsoft": True, "google": False}
    # GoDaddy: Microsoft's limits go, its own 250 a day comes.
    assert seen["godaddy"]["values"] == {"host": "relay-hosting.secureserver.net", "port": "25", "security": "none", "auth": "none",
                                         "perMinute": "0", "perDay": "250", "recipients": "0"}
    assert "Recipients a day: 10000 \u2192 0" in seen["godaddy"]["changes"]
    # Direct send has no host of its own: GoDaddy's relay does not stay.
    assert (seen["direct"]["values"]["host"], seen["direct"]["values"]["perDay"]) == ("", "0")
    # Back to Custom: nothing of GoDaddy's stays, and the page lists what it reset.
    assert seen["custom"]["values"] == {"host": "", "port": "587", "security": "starttls", "auth": "none",
                                        "perMinute": "0", "perDay": "0", "recipients": "0"}
    assert "Messages a day: 250 \u2192 0" in seen["custom"]["changes"]
    assert "Host: relay-hosting.secureserver.net \u2192 (empty)" in seen["custom"]["changes"]
    assert seen["customOAuth"] == {"microsoft": True, "google": True}
    # A limit typed over the preset's is the owner's: it stays, and so it is saved.
    assert seen["customAfterTyped"]["values"]["perDay"] == "100"
    assert (seen["saved"]["host"], seen["saved"]["perDay"], seen["saved"]["perMinute"]) == ("127.0.0.1", "100", "0")
    assert wp.php("out(get_option('rust_mail_settings')['rate_per_day']);") == 100


def test_each_wrong_value_is_refused_with_its_message_and_the_good_ones_are_saved(wp):
    seen = browser_run(wp, "validation")
    first = seen["first"]
    assert "These values were not saved" in first["notice"] and "The other settings were saved." in first["notice"]
    for named in ("Host: Put the port in the Port field", 'Port: "99999" is not a port', 'From address: "shop@contoso" is not a complete address',
                  "CA file: There is no file /nonexistent/private-ca.pem", "Messages a minute: 50 a minute is more than the 10 a day"):
        assert named in first["notice"], named
    # Next to each field, its own message.
    assert first["problems"]["rust-mail-problem-port"].startswith('"99999" is not a port')
    assert first["problems"]["rust-mail-problem-host"].startswith("Put the port in the Port field: enter smtp.example.com here and 587")
    assert first["problems"]["rust-mail-problem-from"].startswith('"shop@contoso" is not a complete address')
    assert set(first["problems"]) == {"rust-mail-problem-host", "rust-mail-problem-port", "rust-mail-problem-from",
                                      "rust-mail-problem-ca-file", "rust-mail-problem-rate-per-minute"}
    # The refused fields keep their saved values; the good ones were saved, and a new daily cap is told.
    assert (first["values"]["host"], first["values"]["port"], first["from"], first["caFile"], first["values"]["perMinute"]) == \
        ("127.0.0.1", str(wp.smtp_port), "", "", "0")
    assert (first["fromName"], first["values"]["perDay"]) == ("Shop Team", "10")
    assert "Messages a day is now 10: beyond it, mail waits in the outbox until the next day" in first["notice"]
    # A host made of HTML is refused as typed, not emptied (which would stop routing).
    second = seen["second"]
    assert 'Host: "<b>relay</b>" is not a host name' in second["notice"]
    assert second["problems"] == {"rust-mail-problem-host": second["problems"]["rust-mail-problem-host"]}
    assert (second["host"], second["retention"]) == ("127.0.0.1", "45")
    saved = wp.php("out(get_option('rust_mail_settings'));")
    assert (saved["host"], saved["from_name"], saved["retention_days"]) == ("127.0.0.1", "Shop Team", 45)


def test_send_test_and_diagnose_use_the_values_on_the_page_without_saving_them(wp, capture, closed_port):
    """The saved port is closed; the page names another server's port, not saved. The test mail reaches that server,
    logged in with the saved password (its field left empty), and Diagnose walks it; the saved port stays."""
    server = capture(user="mailer", password="s3cret-pass")
    wp.set_settings(port=closed_port, auth="plain", username="mailer", password="s3cret-pass", allow_insecure_auth=True)
    seen = browser_run(wp, "try", TRY_PORT=str(server.port))
    [message] = server.messages()
    assert message.rcpt_tos == ["tried@example.com"] and message.login == "mailer"
    assert "Test mail sent to tried@example.com." in seen["test"]["notice"]
    assert "Tested with the values on this page, not saved yet (Port)." in seen["test"]["notice"]
    assert "notice-success" in seen["test"]["type"] and "page=rust-mail" in seen["test"]["url"]
    # Still on the page, with the value typed, and marked as not saved.
    assert seen["portAfterTest"] == str(server.port) and seen["unsavedShown"]
    assert "not saved yet (Port)" in seen["diagnose"]["notice"]
    assert f"127.0.0.1:{server.port}" in seen["diagnose"]["walked"]
    assert 'Port: "99999" is not a port' in seen["refused"] and "was not sent" in seen["refused"]
    assert server.count() == 1
    assert wp.php("out(get_option('rust_mail_settings')['port']);") == closed_port
    assert seen["dialogs"] == []


def test_leaving_the_page_with_unsaved_changes_asks_first(wp):
    seen = browser_run(wp, "leave")
    assert seen["unsavedShown"]
    assert seen["dialogsAfterLeave"] == ["beforeunload"]
    assert "page=rust-mail-log" not in seen["urlAfterDismissedLeave"]
    # Saving asked nothing, and after it a link leaves without a question.
    assert seen["dialogs"] == ["beforeunload"] and "page=rust-mail-log" in seen["urlAfterSavedLeave"]
    assert wp.php("out(get_option('rust_mail_settings')['from_name']);") == "Unsaved Name"
