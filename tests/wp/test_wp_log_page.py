"""The connection log as a site owner works from it: bulk actions that ask first (50 failed mails sent again from
Chromium), a CSV export of exactly the filtered list, one mail as .eml, a date range, Screen Options, status
colours, and a 5,000-character subject that stays one row high."""
import csv
import email
import email.policy
import html
import io
import json
import re

from harness.wpstack import LOG, php_string, run_browser

LONG_SUBJECT = ("Order summary: " + " ".join(f"item-{n}" for n in range(700)))[:5000]


def fail_mails(wp, closed_port, subjects):
    """Each subject through wp_mail() to a closed port: a failed row each, its bytes kept (sealed) to be sent again."""
    wp.set_settings(port=closed_port)
    calls = "".join(f"wp_mail('owner@example.com', {php_string(s)}, 'Body of ' . {php_string(s)});" for s in subjects)
    wp.php(calls + " out(true);")
    assert [row["status"] for row in wp.log_rows()] == ["failed"] * len(subjects)


def export_link(page):
    href = re.search(r'id="rust-mail-export-csv" href="([^"]+)"', page.text)
    assert href, "no export link on the log page"
    return html.unescape(href.group(1))


def test_fifty_failed_mails_are_sent_again_in_one_bulk_action_after_the_question(wp, capture, closed_port):
    subjects = [f"Invoice {n:02d}" for n in range(49)] + [LONG_SUBJECT]
    fail_mails(wp, closed_port, subjects)
    server = capture()
    wp.set_settings(port=server.port)

    seen = json.loads(run_browser(wp, "log.mjs", PER_PAGE="100", LONG_SUBJECT=LONG_SUBJECT[:30]).strip().splitlines()[-1])

    assert seen["rows"] == 50  # Screen Options: 100 a page, so all 50 on one
    assert (seen["rowsAfterDismissedDelete"], "action=delete" in seen["urlAfterDismissedDelete"]) == (50, False)
    assert seen["dialogs"] == ["Delete these 50 entries from the log? This cannot be undone.",
                               "Send these 50 messages again, each as a new entry?"]
    assert "Sent again: 50 of 50 messages" in seen["notice"]
    # What the server received: each failed mail once, whole.
    received = sorted(str(email.message_from_bytes(m.raw, policy=email.policy.default)["Subject"]) for m in server.messages())
    assert received == sorted(subjects)
    rows = wp.log_rows()
    assert sorted(row["status"] for row in rows) == ["failed"] * 50 + ["sent"] * 50
    # New entries, after the originals, which stay failed as they were.
    newest_original = max(int(row["id"]) for row in rows if row["status"] == "failed")
    assert all(int(row["id"]) > newest_original for row in rows if row["status"] == "sent")
    # Status colours differ; the long subject keeps its row short and its whole text in the tooltip.
    colours = dict(item.split("=", 1) for item in seen["statusColours"])
    assert colours["Failed"] != colours["Sent"]
    # A row as high as its neighbours give or take a line or two, not a page (it was about 16,000 px).
    assert seen["longSubjectRowHeight"] < seen["shortSubjectRowHeight"] + 60, seen
    assert seen["longSubjectTitleLength"] == len(LONG_SUBJECT)


def test_csv_export_holds_exactly_the_filtered_rows_and_no_formula(wp, capture, closed_port):
    fail_mails(wp, closed_port, ["=HYPERLINK(\"http://evil.example/\",\"Click\")", "Grüße aus Köln", "Old failure"])
    server = capture()
    wp.set_settings(port=server.port)
    wp.php("wp_mail('owner@example.com', 'Delivered fine', 'x'); out(true);")
    # "Old failure" happened ten days ago, on the site's calendar.
    wp.php("global $wpdb; $wpdb->query(\"UPDATE \" . RustMail_Log_Store::table() . \" SET created_at = UTC_TIMESTAMP() - INTERVAL 10 DAY"
           " WHERE subject = 'Old failure'\"); out(true);")
    browser = wp.browser()

    listing = browser.get(f"{LOG}&status=failed")
    exported = browser.get(export_link(listing))
    assert exported.status == 200 and exported.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in exported.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert sorted(row["subject"] for row in table) == sorted(
        ["'=HYPERLINK(\"http://evil.example/\",\"Click\")", "Grüße aus Köln", "Old failure"])
    assert {row["status"] for row in table} == {"failed"} and all(row["cause"] for row in table)

    # The date range: only the last three days, in the list and in its export.
    today = wp.php("out(wp_date('Y-m-d'));")
    since = wp.php("out(wp_date('Y-m-d', time() - 3 * DAY_IN_SECONDS));")
    listing = browser.get(f"{LOG}&status=failed&since={since}&until={today}")
    assert "Grüße aus Köln" in html.unescape(listing.text) and "Old failure" not in listing.text
    table = list(csv.DictReader(io.StringIO(browser.get(export_link(listing)).text.lstrip("\ufeff"))))
    assert sorted(row["subject"] for row in table) == sorted(["'=HYPERLINK(\"http://evil.example/\",\"Click\")", "Grüße aus Köln"])

    # Without the nonce, or as a subscriber, nothing is exported.
    unsigned = re.sub(r"_wpnonce=[^&]+", "_wpnonce=0", export_link(listing))
    assert browser.get(unsigned).status == 403
    wp.php("if (!get_user_by('login', 'reader')) { wp_create_user('reader', 'reader-pass-1', 'reader@example.com'); } out(true);")
    assert "Old failure" not in wp.browser("reader", "reader-pass-1").get(export_link(listing)).text


def test_a_kept_mail_downloads_as_the_eml_the_server_received(wp, capture):
    server = capture()
    wp.set_settings(port=server.port, log_bodies=True)
    wp.php("wp_mail('owner@example.com', 'Keep me', \"Line one\\nLine two\"); out(true);")
    [row] = wp.log_rows()
    browser = wp.browser()
    entry = browser.get(f"{LOG}&entry={row['id']}")
    link = html.unescape(re.search(r'id="rust-mail-download-eml" href="([^"]+)"', entry.text).group(1))
    eml = browser.get(link)
    assert eml.status == 200 and eml.headers["Content-Type"] == "message/rfc822"
    [message] = server.messages()
    assert eml.text.encode() == message.raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    # Another entry's nonce does not open this one.
    assert browser.get(link.replace(f"entry={row['id']}", f"entry={int(row['id']) + 1}")).status == 403


def test_bulk_delete_leaves_a_mail_that_still_waits(wp, closed_port):
    fail_mails(wp, closed_port, ["Gone"])
    wp.set_settings(port=closed_port, delivery="queued")
    wp.php("wp_mail('owner@example.com', 'Waiting', 'x'); out(true);")
    ids = {row["subject"]: row["id"] for row in wp.log_rows()}
    browser = wp.browser()
    listing = browser.get(LOG)
    nonce = re.search(r'name="_wpnonce" value="([^"]+)"', listing.text).group(1)
    query = f"{LOG}&action=delete&_wpnonce={nonce}&entries[]={ids['Gone']}&entries[]={ids['Waiting']}"
    page = browser.get(query)
    assert "Deleted: 1 of 2 log entries" in html.unescape(page.text)
    assert [row["subject"] for row in wp.log_rows()] == ["Waiting"]
    # The same request without the list's nonce changes nothing.
    assert browser.get(query.replace(nonce, "0")).status == 403


def test_the_chart_has_dates_a_scale_and_each_days_figures(wp, capture, closed_port):
    fail_mails(wp, closed_port, ["One", "Two"])
    server = capture()
    wp.set_settings(port=server.port)
    wp.php("wp_mail('owner@example.com', 'Three', 'x'); out(true);")
    page = html.unescape(wp.browser().get(LOG).text)
    chart = page[page.index('class="rust-mail-chart"'):page.index("</details>")]
    today = wp.php("out(wp_date(get_option('date_format'), time(), new DateTimeZone('UTC')));")
    days = re.findall(r'<g class="rust-mail-chart-day"><title>([^<]+)</title>', chart)
    assert len(days) == 14 and days[-1] == f"{today}: Sent 1, Failed 2, Queued 0"
    assert all(day.endswith("Sent 0, Failed 0, Queued 0") for day in days[:-1])
    assert re.search(r'class="rust-mail-chart-scale"[^>]*>\s*<span>3</span><span>0</span>', chart)  # the busiest day
    axis = re.findall(r"<span style=\"flex:1;text-align:center\">([^<]*)</span>", chart)
    assert len(axis) == 14 and axis[-1] == wp.php("out(wp_date('j M', time(), new DateTimeZone('UTC')));")
    assert all(label for label in axis[1::2]) and not any(axis[0::2])  # every other day, today among them
    assert "Show the figures" in chart and "<td>2</td>" in chart


def test_the_size_cap_trims_the_oldest_entries_in_batches_and_keeps_waiting_mail(wp, capture, closed_port):
    """1,205 entries over a cap of 200: the purge removes the oldest in batches of 1,000 and leaves the newest 200,
    except that a message still waiting in the outbox is never removed, however old."""
    wp.set_settings(port=closed_port, delivery="queued", log_max_rows=200)
    wp.php("wp_mail('owner@example.com', 'Still waiting', 'x'); out(true);")
    # 1,204 sent rows after it, written the way the log writes them.
    wp.php("for ($i = 0; $i < 1204; $i++) { RustMail_Log_Store::add(array('status' => 'sent', 'subject' => \"Row $i\","
           " 'recipients' => 'owner@example.com')); } out(true);")
    queries = wp.php("""
        global $wpdb; $deletes = 0;
        add_filter('query', function ($sql) use (&$deletes) { if (0 === strpos($sql, 'DELETE')) { $deletes++; } return $sql; });
        $deleted = RustMail_Log_Store::purge_expired();
        out(array($deleted, $deletes));
    """)
    rows = wp.log_rows()
    assert queries[0] == 1004 and queries[1] >= 2  # at least two DELETEs: no single one over 1,000 rows
    assert len(rows) == 201 and rows[0]["subject"] == "Still waiting" and rows[0]["status"] == "queued"
    assert [row["subject"] for row in rows[1:]] == [f"Row {i}" for i in range(1004, 1204)]
    page = html.unescape(wp.browser().get(LOG).text)
    assert "kept for 30 days and at most 200 entries" in page
