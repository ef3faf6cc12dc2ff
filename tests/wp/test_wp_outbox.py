"""The outbox against real servers and real faults, counted at the receiving server: queued delivery after the
response, retries of transient failures, no retry of permanent ones, the fallback connection, rate limits, several
processes draining one outbox, a sender killed in the middle of a send, the admin's actions, health, upgrade."""
import email.utils
import hashlib
import json
import os
import signal
import subprocess
import threading
import time

import pytest

from test_wp_differential import png_bytes
from harness.hostile import HostileServer, close_in_data, stall_after_data
from harness.ports import closed_port as hold_closed_port
from harness.wpstack import LOG, php_string

DRAIN = "wp-content/plugins/rust-mail/cli/drain.php"


@pytest.fixture
def outbox(wp, engine):
    """The site in queued mode, retrying at once (RUST_MAIL_TEST_RETRY_DELAY 0), on each engine."""
    set_constants(wp, RUST_MAIL_TEST_RETRY_DELAY=0)
    return wp


def set_constants(wp, **constants):
    """wp-config.php's test constants, and WP-Cron off: the tests drain the outbox themselves, and the drain WP-Cron
    spawns from any page load (the CLI's too) would claim a message between a test's steps."""
    wp.set_constants({"DISABLE_WP_CRON": True, **constants})


def queue(wp, subject="Hello", to="someone@example.com", extra=""):
    """wp_mail() in queued mode: what it returned and the row's status before the response ended."""
    return wp.php(f"""
        {extra}
        $sent = wp_mail({php_string(to)}, {php_string(subject)}, 'Body of ' . {php_string(subject)});
        global $wpdb;
        out(array($sent, $wpdb->get_var('SELECT status FROM ' . RustMail_Log_Store::table() . ' ORDER BY id DESC LIMIT 1')));
    """)


def drain(wp):
    """The system cron's line: the CLI drain, in a process of its own."""
    run = subprocess.run([str(wp.dir / "bin" / "php"), str(wp.wp / DRAIN), str(wp.wp), wp.host],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def rows(wp):
    return wp.log_rows()


def fallback_to(server):
    """Settings of a fallback connection to a capture server."""
    return {"fallback_host": "127.0.0.1", "fallback_port": server.port, "fallback_security": "none",
            "fallback_auth": "none"}


def test_queued_mail_is_stored_first_then_sent_after_the_response(outbox, capture):
    server = capture()
    outbox.set_settings(port=server.port, delivery="queued")
    sent, status_at_return = queue(outbox, extra="""
        add_action('wp_mail_succeeded', function ($data) {
            update_option('outbox_test_succeeded', array($data['subject'], $GLOBALS['outbox_test_returned'] ?? false));
        });
        add_action('shutdown', function () { $GLOBALS['outbox_test_returned'] = true; }, 0);
    """)
    assert sent is True and status_at_return == "queued"
    [message] = server.messages()
    assert message.message["Subject"] == "Hello"
    [row] = rows(outbox)
    assert row["status"] == "sent" and row["attempts"] == "1" and row["connection"] == "primary"
    assert row["raw"] is None and row["mail_data"] is None, "nothing of the message is kept once it is sent"
    # wp_mail_succeeded came with core's data, after wp_mail() returned (during shutdown), not when it was queued.
    assert outbox.php("out(get_option('outbox_test_succeeded'));") == ["Hello", True]


def test_server_down_for_two_attempts_then_up_is_delivered_exactly_once(outbox, capture):
    with hold_closed_port() as port:  # until the server comes up there
        outbox.set_settings(port=port, delivery="queued")
        assert queue(outbox) == [True, "queued"]
        assert rows(outbox)[0]["status"] == "queued" and rows(outbox)[0]["error_kind"] == "connect_refused"
        assert drain(outbox) == {"retry": 1}
    server = capture(port=port)
    assert drain(outbox) == {"sent": 1}
    assert drain(outbox) == {}
    assert len(server.messages()) == 1
    [row] = rows(outbox)
    assert row["status"] == "sent" and row["attempts"] == "3"
    assert [a["error_kind"] for a in json.loads(row["attempt_log"])] == ["connect_refused", "connect_refused", ""]


def test_permanent_failure_fails_at_once_and_is_never_retried(outbox, smtp_server):
    server = smtp_server(replies={"data": "554 5.7.1 Message rejected as spam"})
    outbox.set_settings(port=server.port, delivery="queued")
    queue(outbox, extra="""
        add_action('wp_mail_failed', function ($error) {
            update_option('outbox_test_failed', array($error->get_error_message(), $error->get_error_data()['subject']));
        });
    """)
    assert drain(outbox) == {}
    [row] = rows(outbox)
    assert row["status"] == "failed" and row["attempts"] == "1" and row["smtp_code"] == "554"
    assert server.connections == 1 and server.messages == []
    failed = outbox.php("out(get_option('outbox_test_failed'));")
    assert "554" in failed[0] and failed[1] == "Hello"


def test_the_outcome_of_queued_mail_carries_cores_data_embeds_included(outbox, capture, smtp_server, wp_version):
    """Queued, the outcome comes after wp_mail() has returned: the outbox fires wp_mail_succeeded or wp_mail_failed
    then, with the data core gives for the same call: the recipients split into a list, only the custom headers by
    name, the files as lists, `embeds` (WordPress 6.9+) as core gives it. An embedded file is read when wp_mail() is
    called: removed before the drain, it still arrives."""
    image = outbox.dir / "embed-logo.png"
    image.write_bytes(png_bytes())
    call = ("wp_mail('someone@example.com, other@example.com', 'Embedded', '<img src=\"cid:logo\">', "
            "\"Content-Type: text/html\\nCc: copy@example.com\\nX-Tag: outcome\\nno colon here\", '', "
            f"array('logo' => {php_string(str(image))}));")
    stock_server = capture()
    stock = outbox.php("$heard = null; add_action('wp_mail_succeeded', function ($data) use (&$heard) { $heard = $data; });"
                       f"{call} out($heard);", env={"RUST_MAIL_TEST_BASELINE_PORT": str(stock_server.port)})
    assert ("embeds" in stock) == (wp_version >= (6, 9)), stock
    assert stock["to"] == ["someone@example.com", " other@example.com"] and stock["headers"] == {"X-Tag": "outcome"}

    server, refusing = capture(), smtp_server(replies={"data": "554 5.7.1 Message rejected as spam"})
    set_constants(outbox, RUST_MAIL_TEST_RETRY_DELAY=0, RUST_MAIL_TEST_HOLD=True, RUST_MAIL_TEST_RECORD_OUTCOMES=True,
                  RUST_MAIL_TEST_TRANSLATE=True)
    outbox.php("delete_option('test_recorded_outcomes'); out(true);")
    outbox.set_settings(port=server.port, delivery="queued")
    assert outbox.php(f"out({call[:-1]});") is True
    image.unlink()
    assert drain(outbox) == {"sent": 1}
    image.write_bytes(png_bytes())
    outbox.set_settings(port=refusing.port, delivery="queued")
    assert outbox.php(f"out({call[:-1]});") is True
    drain(outbox)

    outcomes = outbox.php("out(get_option('test_recorded_outcomes'));")
    assert [action for action, _, _ in outcomes] == ["wp_mail_succeeded", "wp_mail_failed"]
    assert outcomes[1][2].startswith("[xx] SMTP Error: ") and "554" in outcomes[1][2], "in the site's language"
    for _, data, _ in outcomes:
        data.pop("phpmailer_exception_code", None)  # core adds it to a failure's data, as the outbox does
        assert data == stock
    [message] = server.messages()
    inline = [p for p in message.message.walk() if p.get("Content-ID")]
    if wp_version >= (6, 9):
        assert [(p.get("Content-ID"), p.get_payload(decode=True)) for p in inline] == [("<logo>", png_bytes())]
    else:
        assert inline == []


# A few MB of text with LF line ends and a file: the kind of mail whose body was stored twice (issue 23).
LARGE_MAIL = """
    $line = str_repeat('All work and no play makes a large mail. ', 2) . "\\n";
    $body = str_repeat($line, intdiv(3 * 1024 * 1024, strlen($line)));
    wp_mail('someone@example.com', 'Large', $body, '', array(%s));
"""


def queue_large_mail(wp, attachment):
    """LARGE_MAIL queued: its row's status, the md5 of its stored bytes in clear, the length of its stored core's
    arguments, and the md5 of the body given to wp_mail()."""
    return wp.php(LARGE_MAIL % php_string(str(attachment)) + """
        global $wpdb;
        $row = $wpdb->get_row('SELECT * FROM ' . RustMail_Log_Store::table() . ' ORDER BY id DESC LIMIT 1', ARRAY_A);
        out(array($row['status'], md5(RustMail_Log_Store::unseal($row, 'outbox_raw')), strlen($row['mail_data']), md5($body)));""")


def queue_large_mail_to(wp, port):
    """LARGE_MAIL with a 1 MB attachment queued to a server on `port` and held, outcomes recorded: queue_large_mail()'s
    answer."""
    attachment = wp.dir / "large-attachment.bin"
    attachment.write_bytes(os.urandom(1024 * 1024))
    set_constants(wp, RUST_MAIL_TEST_RETRY_DELAY=0, RUST_MAIL_TEST_HOLD=True, RUST_MAIL_TEST_RECORD_OUTCOMES=True)
    wp.php("delete_option('test_recorded_outcomes'); out(true);")
    wp.set_settings(port=port, delivery="queued")
    return attachment, *queue_large_mail(wp, attachment)


def recorded_outcomes(wp):
    """RUST_MAIL_TEST_RECORD_OUTCOMES' record: each action, with the md5 of the message and the files it announced."""
    return wp.php("out(array_map(function ($o) { return array($o[0], md5($o[1]['message']), $o[1]['attachments']); },"
                  " get_option('test_recorded_outcomes', array())));")


def test_a_large_queued_mail_is_stored_once_and_arrives_byte_identical(outbox, capture):
    """Queued, a large mail's body is stored once, in its bytes, and not again in core's arguments: the server gets
    the very bytes composed, and the outcome still announces the whole body as wp_mail() got it."""
    server = capture()
    attachment, status, raw_md5, mail_data_length, body_md5 = queue_large_mail_to(outbox, server.port)
    assert status == "queued"
    assert mail_data_length < 2000, "core's arguments are stored without the body"
    assert drain(outbox) == {"sent": 1}
    [message] = server.messages()
    assert hashlib.md5(message.raw).hexdigest() == raw_md5, "the bytes as composed"
    text, file = [part for part in message.message.walk() if not part.is_multipart()]
    assert hashlib.md5(text.get_payload(decode=True).replace(b"\r\n", b"\n")).hexdigest() == body_md5
    assert file.get_payload(decode=True) == attachment.read_bytes()
    assert recorded_outcomes(outbox) == [["wp_mail_succeeded", body_md5, [str(attachment)]]]


def test_a_large_mail_stored_with_its_body_in_cores_arguments_still_drains_and_can_be_sent_again(outbox, capture,
                                                                                                 smtp_server):
    """A row stored before the body was left out of core's arguments (the body in them as well as in the bytes) is
    sent, announced with that body, and can be sent again from the log."""
    refusing, server = smtp_server(replies={"data": "554 5.7.1 Message rejected as spam"}), capture()
    attachment, status, raw_md5, _, body_md5 = queue_large_mail_to(outbox, refusing.port)
    assert status == "queued"
    outbox.php(LARGE_MAIL.split("wp_mail(")[0] + f"""
        // Core's arguments as the previous version stored them, sealed, the body among them.
        global $wpdb; $t = RustMail_Log_Store::table();
        $data = array('to' => array('someone@example.com'), 'subject' => 'Large', 'message' => $body, 'headers' => array(),
                      'attachments' => array({php_string(str(attachment))}));
        $wpdb->query($wpdb->prepare("UPDATE $t SET mail_data = %s", RustMail_Settings_Secrets::encrypt(wp_json_encode($data), 'outbox_mail_data')));
        out(true);""")
    assert drain(outbox) == {"failed": 1}
    [row] = rows(outbox)
    assert row["status"] == "failed" and row["raw"], "refused for good: its bytes kept for \"Send again\""
    assert recorded_outcomes(outbox) == [["wp_mail_failed", body_md5, [str(attachment)]]]

    outbox.set_settings(port=server.port, delivery="queued")
    assert outbox.php(f"out(RustMail_Outbox_Drain::resend({int(row['id'])}) > 0);") is True
    [message] = server.messages()
    assert hashlib.md5(message.raw).hexdigest() == raw_md5
    assert [r["status"] for r in rows(outbox)] == ["failed", "sent"]


@pytest.mark.parametrize("fault", ["close_in_data", "tarpit"])
def test_transient_faults_are_retried_until_delivered_once(outbox, capture, fault):
    bad = HostileServer(close_in_data if fault == "close_in_data" else stall_after_data)
    outbox.set_settings(port=bad.port, delivery="queued", timeout=2)
    queue(outbox)
    [row] = rows(outbox)
    assert row["status"] == "queued" and row["attempts"] == "1", row["error_message"]
    bad.stop()
    server = capture(port=bad.port)
    assert drain(outbox) == {"sent": 1}
    assert len(server.messages()) == 1 and rows(outbox)[0]["status"] == "sent"


def test_a_451_is_retried_and_the_message_arrives_once(outbox, smtp_server):
    server = smtp_server(replies={"data": "451 4.3.0 Mail server temporarily rejected message"})
    outbox.set_settings(port=server.port, delivery="queued")
    queue(outbox)
    assert rows(outbox)[0]["status"] == "queued" and server.messages == []
    server.config.replies.clear()
    assert drain(outbox) == {"sent": 1}
    assert len(server.messages) == 1 and rows(outbox)[0]["attempts"] == "2"


def test_primary_down_and_fallback_up_is_delivered_by_the_fallback(outbox, capture, closed_port):
    fallback = capture()
    outbox.set_settings(port=closed_port, delivery="queued", **fallback_to(fallback))
    assert queue(outbox) == [True, "queued"]
    assert len(fallback.messages()) == 1
    [row] = rows(outbox)
    assert row["status"] == "sent" and row["connection"] == "fallback"
    assert [(a["connection"], a["ok"]) for a in json.loads(row["attempt_log"])] == [("primary", False), ("fallback", True)]
    page = outbox.browser().get(f"{LOG}&entry={row['id']}").text
    assert "the fallback connection" in page


def test_immediate_mode_waits_and_uses_the_fallback_in_the_same_call(wp, capture, closed_port):
    fallback = capture()
    wp.set_settings(port=closed_port, delivery="immediate", **fallback_to(fallback))
    assert queue(wp)[0] is True
    assert len(fallback.messages()) == 1
    # Immediate delivery logs a sent mail with the rows that follow it, by the end of the request.
    [row] = rows(wp)
    assert row["status"] == "sent" and row["connection"] == "fallback"


def test_immediate_mode_logs_each_mail_once_with_its_outcome_and_the_log_shows_it_in_the_same_request(wp, capture):
    """Rows of sent mail are written together (Log_Store::add() deferred), yet whatever reads the log in the same
    request sees every one, in order, and each is one final row: no 'sending' row is left behind."""
    server = capture()
    wp.set_settings(port=server.port, delivery="immediate")
    seen = wp.php("""
        for ($i = 1; $i <= 3; $i++) { wp_mail("r$i@example.com", "Now $i", 'x'); }
        out(array_column(RustMail_Log_Store::query(array('per_page' => 10, 'page' => 1))['rows'], 'status', 'subject'));
    """)
    assert seen == {"Now 3": "sent", "Now 2": "sent", "Now 1": "sent"}
    assert [(r["subject"], r["status"], r["attempts"], r["lease_owner"], r["raw"]) for r in rows(wp)] == [
        (f"Now {i}", "sent", "1", "", None) for i in (1, 2, 3)]
    assert sorted(m.message["Subject"] for m in server.messages()) == ["Now 1", "Now 2", "Now 3"]


def test_immediate_mode_logs_a_mail_sent_after_the_deferred_rows_were_written_at_shutdown(wp, capture):
    server = capture()
    wp.set_settings(port=server.port, delivery="immediate")
    wp.php("add_action('shutdown', function () { wp_mail('late@example.com', 'At shutdown', 'x'); }, 10);"
           "wp_mail('early@example.com', 'Before', 'x'); out(true);")
    assert [(r["subject"], r["status"]) for r in rows(wp)] == [("Before", "sent"), ("At shutdown", "sent")]
    assert len(server.messages()) == 2


def test_a_stored_message_is_sealed_as_bytes_and_one_sealed_as_base64_before_still_goes(outbox, capture):
    server = capture()
    outbox.set_settings(port=server.port, delivery="queued")
    set_constants(outbox, RUST_MAIL_TEST_RETRY_DELAY=0, RUST_MAIL_TEST_HOLD=True)
    queue(outbox, subject="Sealed as bytes")
    queue(outbox, subject="Sealed as base64")
    stored = outbox.php("""global $wpdb; $t = RustMail_Log_Store::table();
        $rows = $wpdb->get_results("SELECT * FROM $t ORDER BY id", ARRAY_A);
        // The second as the previous version sealed it.
        $wpdb->update($t, array('raw' => RustMail_Settings_Secrets::encrypt(RustMail_Log_Store::unseal($rows[1], 'outbox_raw'), 'outbox_raw')), array('id' => $rows[1]['id']));
        out(array(substr($rows[0]['raw'], 0, 9), strpos($rows[0]['raw'], 'Sealed as bytes'), strlen($rows[0]['raw']) < strlen(RustMail_Log_Store::unseal($rows[0], 'outbox_raw')) * 1.2));""")
    assert stored == ["sodium2b:", False, True]
    assert drain(outbox) == {"sent": 2}
    assert sorted(m.message["Subject"] for m in server.messages()) == ["Sealed as base64", "Sealed as bytes"]


def test_a_burst_over_the_rate_limit_waits_and_goes_at_the_configured_pace(outbox, capture):
    server = capture()
    outbox.set_settings(port=server.port, delivery="queued", rate_per_minute=5)
    set_constants(outbox, RUST_MAIL_TEST_RETRY_DELAY=0, RUST_MAIL_TEST_HOLD=True)
    outbox.php("for ($i = 0; $i < 8; $i++) { wp_mail('someone@example.com', \"Burst $i\", 'x'); } out(true);")
    assert drain(outbox) == {"sent": 5, "waiting": 3}
    waiting = [row for row in rows(outbox) if row["status"] == "queued"]
    assert len(waiting) == 3 and all(row["attempts"] == "0" for row in waiting)
    # The next attempt is when the oldest delivery leaves the minute, not before.
    due = outbox.php("global $wpdb; out($wpdb->get_var('SELECT MIN(next_attempt_at) > UTC_TIMESTAMP() + INTERVAL 50 SECOND FROM ' . RustMail_Log_Store::table() . \" WHERE status = 'queued'\"));")
    assert due == "1"
    assert drain(outbox) == {}
    # A minute later (the deliveries moved back a minute, the waits brought forward): the rest go.
    outbox.php("global $wpdb; $t = RustMail_Log_Store::table(); $wpdb->query(\"UPDATE $t SET sent_at = sent_at - INTERVAL 61 SECOND, next_attempt_at = UTC_TIMESTAMP()\"); out(true);")
    assert drain(outbox) == {"sent": 3}
    assert len(server.messages()) == 8
    assert {row["status"] for row in rows(outbox)} == {"sent"}


def test_a_server_rate_limiting_the_site_gets_everything_once_none_failed(outbox, smtp_server):
    """Postfix over smtpd_client_message_rate_limit answers 450 4.7.1: the rest waits and goes once the limit lifts."""
    server = smtp_server(message_limit=4)
    outbox.set_settings(port=server.port, delivery="queued", pool=True)
    set_constants(outbox, RUST_MAIL_TEST_RETRY_DELAY=0, RUST_MAIL_TEST_HOLD=True)
    outbox.php("for ($i = 0; $i < 10; $i++) { wp_mail('someone@example.com', \"Limited $i\", 'x'); } out(true);")
    assert drain(outbox) == {"sent": 4, "retry": 6}
    assert {row["smtp_code"] for row in rows(outbox) if row["status"] == "queued"} == {"450"}
    server.config.message_limit = None  # the client's window is over
    assert drain(outbox) == {"sent": 6}
    assert sorted(m.message["Subject"] for m in server.messages) == sorted(f"Limited {i}" for i in range(10))
    assert {row["status"] for row in rows(outbox)} == {"sent"}


def test_a_backlog_drains_over_parallel_connections_each_message_once(outbox, engine, smtp_server):
    """With the extension, a claimed batch goes out over parallel connections (rust_mail_send_many()); on PHPMailer,
    one after the other over one connection. Either way each message arrives once and keeps its own log row."""
    server = smtp_server()
    outbox.set_settings(port=server.port, delivery="queued")
    set_constants(outbox, RUST_MAIL_TEST_RETRY_DELAY=0, RUST_MAIL_TEST_HOLD=True)
    outbox.php("for ($i = 1; $i <= 12; $i++) { wp_mail('reader' . $i . '@example.com', 'Issue ' . $i, 'Body'); } out(true);")
    assert server.messages == []
    assert drain(outbox) == {"sent": 12}
    assert sorted(m.message["Subject"] for m in server.messages) == sorted(f"Issue {i}" for i in range(1, 13))
    assert all(m.rcpt_tos == [f"reader{m.message['Subject'].split()[1]}@example.com"] for m in server.messages)
    assert (server.most_open > 1) is (engine == "extension"), server.most_open
    for row in rows(outbox):
        assert row["status"] == "sent" and row["attempts"] == "1"
        lines = [line["line"] for line in json.loads(row["transcript"])]
        assert f"RCPT TO:<{row['recipients']}>" in lines, lines


def drain_at_once(wp):
    """Two PHP-FPM workers (as WP-Cron would, from two requests) and the CLI drain at once: what each sent."""
    results = []

    def worker():
        results.append(json.loads(wp.browser().get("/?rust_mail_test_drain=1").text))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    results.append(drain(wp))
    for thread in threads:
        thread.join()
    return results


def test_two_fpm_workers_and_cron_drain_one_outbox_each_message_once(outbox, capture):
    server = capture()
    outbox.set_settings(port=server.port, delivery="queued", pool=True)
    set_constants(outbox, RUST_MAIL_TEST_HOLD=True)
    outbox.php("for ($i = 0; $i < 500; $i++) { wp_mail(\"r$i@example.com\", \"Message $i\", 'x'); } out(true);")
    assert server.messages() == []
    results = drain_at_once(outbox)
    while sum(r.get("sent", 0) for r in results) < 500 and drain(outbox):
        pass  # what the time budget left over
    ids = [m.message["Message-ID"] for m in server.messages()]
    assert len(set(ids)) == 500, "every message arrived"
    assert len(ids) == 500, f"none twice: {[i for i in set(ids) if ids.count(i) > 1]}"

    assert {row["status"] for row in rows(outbox)} == {"sent"}
    assert sum(1 for r in results if r.get("sent")) >= 2, f"the drains did not share the work: {results}"


def start_drain(wp):
    """The CLI drain in the background, in a process group of its own (a test may kill it)."""
    return subprocess.Popen([str(wp.dir / "bin" / "php"), str(wp.wp / DRAIN), str(wp.wp), wp.host],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def finished(process):
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return json.loads(out)


def wait_until_in_flight(wp):
    deadline = time.time() + 15
    while time.time() < deadline:
        if any(row["in_flight_at"] for row in rows(wp)):
            return
        time.sleep(0.1)
    raise AssertionError(f"no message was handed to the server: {rows(wp)}")


def test_a_sender_killed_after_handing_over_its_message_leaves_it_possibly_sent_not_sent_twice(outbox, capture):
    """Killed while it waits for the server's answer to the message: the message may have arrived, so the takeover
    marks it "possibly sent" and sends nothing; the log says so, and the admin's "Send again" sends it once."""
    tarpit = HostileServer(stall_after_data)
    outbox.set_settings(port=tarpit.port, delivery="queued", timeout=2)
    set_constants(outbox, RUST_MAIL_TEST_HOLD=True)
    queue(outbox, subject="Handed over")
    stuck = start_drain(outbox)
    deadline = time.time() + 10
    while b"\r\n.\r\n" not in b"".join(tarpit.received) and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(stuck.pid, signal.SIGKILL)
    stuck.wait()
    tarpit.stop()
    [row] = rows(outbox)
    assert row["status"] == "sending" and row["lease_owner"] and row["in_flight_at"]
    server = capture(port=tarpit.port)
    assert drain(outbox) == {}, "not taken over while the lease lasts"
    time.sleep(8)  # the lease: the timeout (2 s) and five seconds to write the outcome
    assert drain(outbox) == {}, "possibly sent: never sent again on a guess"
    [row] = rows(outbox)
    assert row["status"] == "unconfirmed" and row["lease_owner"] == "" and server.messages() == []
    browser = outbox.browser()
    page = browser.get(f"{LOG}&entry={row['id']}")
    assert "Possibly sent" in page.text and "It may have arrived" in page.text
    again = browser.post("/wp-admin/admin-post.php", browser.form_fields(page, "resend"))
    assert "sent again as a new entry" in again.text
    assert [m.message["Subject"] for m in server.messages()] == ["Handed over"]
    assert [r["status"] for r in rows(outbox)] == ["unconfirmed", "sent"]


def test_a_sender_killed_before_handing_over_is_taken_over_after_its_lease_and_sent_once(outbox, capture):
    """Claimed, and killed before its message went to any server: the takeover sends it, once."""
    outbox.set_settings(delivery="queued", timeout=1)
    set_constants(outbox, RUST_MAIL_TEST_HOLD=True)
    queue(outbox, subject="Never handed over")
    # A claim as a drain makes it, by a process that died at once.
    outbox.php("""global $wpdb; $wpdb->query($wpdb->prepare('UPDATE ' . RustMail_Log_Store::table() . " SET status = 'sending',
        lease_owner = 'dead-drain', lease_until = %s", gmdate('Y-m-d H:i:s', time() + 3))); out(true);""")
    server = capture()
    outbox.set_settings(port=server.port, delivery="queued", timeout=1)
    assert drain(outbox) == {}, "taken over only once the lease has run out"
    time.sleep(4)
    assert drain(outbox) == {"sent": 1}
    assert len(server.messages()) == 1 and rows(outbox)[0]["status"] == "sent"


def test_a_slow_server_and_a_second_drain_after_the_old_lease_deliver_each_message_once(wp, smtp_server):
    """20 mails, a 5 s timeout, a server that takes 4 s over each message on 4 parallel connections, and a second
    drain 11 s after the first: past a lease of timeout + 5 s, inside a batch of 20 s. The first drain's lease covers
    its whole batch, so the second finds nothing to take."""
    server = smtp_server(data_delay=4)
    wp.set_settings(port=server.port, delivery="queued", timeout=5)
    set_constants(wp, RUST_MAIL_TEST_HOLD=True)
    wp.php("for ($i = 1; $i <= 20; $i++) { wp_mail(\"r$i@example.com\", \"Slow $i\", 'x'); } out(true);")
    first = start_drain(wp)
    time.sleep(11)
    second = start_drain(wp)
    counts = [finished(first), finished(second)]
    subjects = [m.message["Subject"] for m in server.messages]
    assert sorted(subjects) == sorted(f"Slow {i}" for i in range(1, 21)), f"each once: {sorted(subjects)}"
    assert counts == [{"sent": 20}, {}]
    assert {(row["status"], row["attempts"]) for row in rows(wp)} == {("sent", "1")}


def test_a_message_in_flight_when_its_lease_runs_out_is_not_sent_again_and_its_answer_is_kept(wp, smtp_server):
    """The lease of a message the server is still taking runs out (a worker stalled, a clock jumped): the takeover
    marks it possibly sent instead of sending it a second time, and the answer that comes back settles it as sent."""
    server = smtp_server(data_delay=4)
    wp.set_settings(port=server.port, delivery="queued", timeout=30)
    set_constants(wp, RUST_MAIL_TEST_HOLD=True)
    queue(wp, subject="Slow answer")
    first = start_drain(wp)
    wait_until_in_flight(wp)
    wp.php("global $wpdb; $wpdb->query('UPDATE ' . RustMail_Log_Store::table() . \" SET lease_until = '2000-01-01 00:00:00'\"); out(true);")
    assert drain(wp) == {}
    assert rows(wp)[0]["status"] == "unconfirmed"
    assert finished(first) == {"sent": 1}
    assert [m.message["Subject"] for m in server.messages] == ["Slow answer"]
    assert rows(wp)[0]["status"] == "sent"


def test_many_mails_with_a_drain_killed_mid_batch_and_wp_cron_live_are_each_sent_once_or_flagged(wp, capture):
    """300 mails, two PHP-FPM workers and the CLI drain at once, WP-Cron live, and one CLI drain killed with SIGKILL
    in the middle of its batch. In the end every message is final, none arrived twice, and every message that did
    not arrive is flagged possibly sent (the killed batch's). The server takes 30 ms over each message, so that the
    victim is still in its batch when it is killed, however fast the machine."""
    server = capture(data_delay=0.03)
    wp.set_settings(port=server.port, delivery="queued", pool=True, timeout=1)
    wp.set_constants({"RUST_MAIL_TEST_HOLD": True, "RUST_MAIL_TEST_CONNECTIONS": 2})
    wp.php("for ($i = 0; $i < 300; $i++) { wp_mail(\"r$i@example.com\", \"Message $i\", 'x'); } out(true);")
    victim = start_drain(wp)
    wait_until_in_flight(wp)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    drain_at_once(wp)
    time.sleep(31)  # the killed drain's lease: its batch's share of 25 messages a connection at 1 s, and 5 s
    while drain(wp):
        pass
    ids = [m.message["Message-ID"] for m in server.messages()]
    assert len(ids) == len(set(ids)), f"none twice: {[i for i in set(ids) if ids.count(i) > 1]}"
    statuses = {}
    for row in rows(wp):
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
        if row["message_id"] not in ids:
            assert row["status"] == "unconfirmed", row
    assert set(statuses) <= {"sent", "unconfirmed"} and sum(statuses.values()) == 300, statuses
    assert statuses["sent"] >= 300 - 50, statuses  # at most the killed batch (Drain::BATCH) is possibly sent


def test_admin_cancels_a_queued_message_and_sends_a_failed_one_again(outbox, capture, smtp_server, closed_port):
    set_constants(outbox, RUST_MAIL_TEST_HOLD=True)
    outbox.set_settings(port=closed_port, delivery="queued")
    queue(outbox, subject="To cancel")
    bad = smtp_server(replies={"data": "554 5.7.1 No"})
    outbox.set_settings(port=bad.port, delivery="queued")
    queue(outbox, subject="To send again")
    browser = outbox.browser()
    cancel_id, resend_id = [int(row["id"]) for row in rows(outbox)]
    page = browser.get(f"{LOG}&entry={cancel_id}")
    assert "Send now" in page.text and "Cancel" in page.text
    cancelled = browser.post("/wp-admin/admin-post.php", browser.form_fields(page, "cancel"))
    assert "The message was cancelled" in cancelled.text
    drain(outbox)
    # Cancelled, it is not sent; its bytes stay, as a failed message's do, so a mistake can be undone.
    assert rows(outbox)[0]["status"] == "cancelled" and rows(outbox)[0]["raw"]
    assert rows(outbox)[1]["status"] == "failed"
    good = capture()
    outbox.set_settings(port=good.port, delivery="queued")
    page = browser.get(f"{LOG}&entry={resend_id}")
    again = browser.post("/wp-admin/admin-post.php", browser.form_fields(page, "resend"))
    assert "sent again as a new entry" in again.text
    [message] = good.messages()
    assert message.message["Subject"] == "To send again" and message.rcpt_tos == ["someone@example.com"]
    assert [row["status"] for row in rows(outbox)] == ["cancelled", "failed", "sent"]
    page = browser.get(f"{LOG}&entry={cancel_id}")
    again = browser.post("/wp-admin/admin-post.php", browser.form_fields(page, "resend"))
    assert "sent again as a new entry" in again.text
    assert [m.message["Subject"] for m in good.messages()] == ["To send again", "To cancel"]
    # The nonce names the operation and the message: one for another message does not do.
    fields = browser.form_fields(browser.get(f"{LOG}&entry={resend_id}"), "resend")
    fields["entry"] = str(cancel_id)
    assert browser.post("/wp-admin/admin-post.php", fields).status == 403


def test_admin_sends_a_failed_message_again_to_other_addresses_with_resent_fields(outbox, capture, smtp_server):
    set_constants(outbox, RUST_MAIL_TEST_HOLD=True)
    bad = smtp_server(replies={"data": "554 5.7.1 No"})
    outbox.set_settings(port=bad.port, delivery="queued")
    queue(outbox, subject="Missed it")
    drain(outbox)
    [failed] = rows(outbox)
    assert failed["status"] == "failed"
    good = capture()
    outbox.set_settings(port=good.port, delivery="queued")
    browser = outbox.browser()
    page = browser.get(f"{LOG}&entry={failed['id']}")
    fields = browser.form_fields(page, "resend_to")
    # A list with one word that is no address sends nothing, and says which word.
    fields["to"] = "other@example.com, <b>nope</b>"
    refused = browser.post("/wp-admin/admin-post.php", fields)
    assert "&quot;&lt;b&gt;nope&lt;/b&gt;&quot; is not an email address" in refused.text and "<b>nope</b>" not in refused.text
    assert good.messages() == [] and len(rows(outbox)) == 1
    fields["to"] = "other@example.com; third@example.com"
    sent = browser.post("/wp-admin/admin-post.php", fields)
    assert "sent again as a new entry" in sent.text and "other@example.com, third@example.com" in sent.text
    [message] = good.messages()
    assert message.rcpt_tos == ["other@example.com", "third@example.com"]
    # The message as it was, its own To kept, with the Resent- block of RFC 5322 3.6.6 on top.
    assert message.message["To"] == "someone@example.com" and message.message["Subject"] == "Missed it"
    assert message.raw.index(b"Resent-Date: ") < message.raw.index(b"\nFrom: ")
    assert " ".join(message.message["Resent-To"].split()) == "other@example.com, third@example.com"
    assert message.message["Resent-From"] == email.utils.parseaddr(message.message["From"])[1]
    assert [row["status"] for row in rows(outbox)] == ["failed", "sent"]
    # The nonce names the operation: the plain "Send again" nonce does not do for another recipient.
    fields["_wpnonce"] = browser.form_fields(browser.get(f"{LOG}&entry={failed['id']}"), "resend")["_wpnonce"]
    assert browser.post("/wp-admin/admin-post.php", fields).status == 403


def test_with_body_logging_off_no_body_is_in_clear_while_queued_nor_after_failing(wp, smtp_server, closed_port):
    """Queued, every message is sealed, not only those recognised as carrying a key; failed, its bytes stay for
    "Send again" sealed, and core's arguments are gone."""
    set_constants(wp, RUST_MAIL_TEST_HOLD=True)
    wp.set_settings(port=closed_port, delivery="queued", log_bodies=False)
    queue(wp, subject="Magic login", extra="")
    [row] = rows(wp)
    assert row["status"] == "queued" and row["raw"] and row["mail_data"]
    assert "Body of Magic login" not in row["raw"] + row["mail_data"]
    refusing = smtp_server(replies={"data": "554 5.7.1 No"})
    wp.set_settings(port=refusing.port, delivery="queued", log_bodies=False)
    assert drain(wp) == {"failed": 1}
    [row] = rows(wp)
    assert row["status"] == "failed" and row["raw"] and row["mail_data"] is None and row["body"] is None
    assert "Body of Magic login" not in row["raw"]
    good = smtp_server()
    wp.set_settings(port=good.port, delivery="queued")
    assert wp.php(f"out(RustMail_Outbox_Drain::resend({row['id']}) > 0);") is True
    assert b"Body of Magic login" in good.messages[0].raw, "the sealed bytes are the message"


@pytest.mark.parametrize("link", [
    "https://shop.example/my-account/lost-password/?key=Zx9sd8f7sdQw&id=5",
    "https://site.example/wp-content/uploads/wp-personal-data-exports/wp-personal-data-file-a1b2c3.zip",
    "https://site.example/?magic_login_token=4f9a8b7c6d5e&user=7",
])
def test_a_key_link_no_core_filter_announced_is_never_logged_nor_kept(wp, smtp_server, link):
    """Other plugins' resets and logins (WooCommerce's), and the personal-data export link: recognised by their
    content, their bodies are not logged even with body logging on, and their bytes are not kept after failing."""
    refusing = smtp_server(replies={"data": "554 5.7.1 No"})
    wp.set_settings(port=refusing.port, delivery="immediate", log_bodies=True)
    wp.php(f"wp_mail('customer@example.com', 'Your link', 'Follow ' . {php_string(link)}); out(true);")
    [row] = rows(wp)
    assert row["status"] == "failed" and row["carries_key"] == "1"
    assert row["body"] is None and row["raw"] is None
    assert link not in repr(row)
    # The entry says why it offers no "Send again", and what to do instead.
    page = wp.browser().get(f"{LOG}&entry={row['id']}").text
    assert 'id="rust-mail-key-not-kept"' in page and "Send password reset" in page and 'id="rust-mail-resend-to"' not in page
    assert link not in page


def test_stuck_mail_and_stopped_cron_are_said_on_the_page_and_in_site_health(outbox, closed_port):
    outbox.set_settings(port=closed_port, delivery="queued")
    queue(outbox)
    outbox.php("global $wpdb; $wpdb->query('UPDATE ' . RustMail_Log_Store::table() . ' SET created_at = created_at - INTERVAL 2 HOUR, next_attempt_at = next_attempt_at - INTERVAL 1 HOUR'); delete_option('rust_mail_last_cron'); out(true);")
    page = outbox.browser().get("/wp-admin/index.php").text
    assert "Mail has been waiting in the outbox since" in page and "WP-Cron has not run" in page
    assert "rust-mail-chart" in page, "the dashboard widget's chart"
    health = outbox.php("out(RustMail_Admin_Site_Health::outbox());")
    assert health["status"] == "critical" and "cli/drain.php" in health["description"]
    drain(outbox)  # cron runs again: no longer "stopped"
    assert "WP-Cron has not run" not in outbox.browser().get("/wp-admin/index.php").text


def test_upgrade_from_the_log_without_an_outbox_keeps_rows_and_settings(wp, capture):
    server = capture()
    wp.set_settings(port=server.port, delivery="immediate", from_name="Kept")
    queue(wp, subject="Before the upgrade")
    upgraded = wp.php("""
        global $wpdb; $t = RustMail_Log_Store::table();
        $wpdb->query("ALTER TABLE $t DROP COLUMN raw, DROP COLUMN envelope, DROP COLUMN attempts, DROP COLUMN next_attempt_at");
        update_option(RustMail_Log_Store::DB_VERSION_OPTION, '2');
        RustMail_Log_Store::maybe_upgrade();
        out(array($wpdb->get_var("SELECT subject FROM $t"), $wpdb->get_var("SHOW COLUMNS FROM $t LIKE 'next_attempt_at'"),
                  RustMail_Settings_Store::get('from_name')));
    """)
    assert upgraded == ["Before the upgrade", "next_attempt_at", "Kept"]


def test_upgrade_keeps_a_key_carrying_message_queued_by_the_previous_version_sendable(wp, capture):
    """Version 3 sealed only messages that carry a key, with no column saying so: after the upgrade such a message
    still goes out in clear, not as its ciphertext."""
    server = capture()
    set_constants(wp, RUST_MAIL_TEST_HOLD=True)
    wp.set_settings(port=server.port, delivery="queued")
    link = "https://shop.example/my-account/lost-password/?key=Zx9sd8f7sdQw&id=5"
    queue(wp, subject="Plain", extra="")
    wp.php(f"""global $wpdb; $t = RustMail_Log_Store::table();
        wp_mail('c@example.com', 'Your link', 'Follow ' . {php_string(link)});
        // As version 3 stored them: a message without a key in clear.
        foreach ($wpdb->get_results("SELECT * FROM $t WHERE carries_key = 0", ARRAY_A) as $row) {{
            $wpdb->update($t, array('raw' => RustMail_Log_Store::unseal($row, 'outbox_raw'),
                                    'mail_data' => RustMail_Log_Store::unseal($row, 'outbox_mail_data')), array('id' => $row['id']));
        }}
        $wpdb->query("ALTER TABLE $t DROP COLUMN sealed, DROP COLUMN in_flight_at");
        update_option(RustMail_Log_Store::DB_VERSION_OPTION, '3');
        RustMail_Log_Store::maybe_upgrade(); out(true);""")
    assert [(row["subject"], row["sealed"]) for row in rows(wp)] == [("Plain", "0"), ("Your link", "1")]
    assert drain(wp) == {"sent": 2}
    assert [m.message["Subject"] for m in server.messages()] == ["Plain", "Your link"]
    assert link in server.messages()[1].raw.decode()


def test_the_cli_drain_refuses_the_web(wp):
    page = wp.browser().get(f"/{DRAIN}")
    assert page.status == 403 and page.text == ""
