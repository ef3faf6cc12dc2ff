"""Personal data: Tools > Export Personal Data and Erase Personal Data, driven as the admin's browser drives them
(the request's row on the Tools page, then admin-ajax.php exporter by exporter), against the real outbox.

An export holds what concerns the person: their own address, never the other recipients. Erasure removes their
address without taking other people's mail: a mail only for them is deleted, a queued mail to others too goes to the
others without them, and a finished one keeps its log line with the address anonymised."""
import html
import io
import json
import re
import urllib.request
import zipfile

from test_wp_outbox import drain, set_constants
from harness.wpstack import LOG, php_string

ALICE, BOB, CAROL, DAVE = "alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"


def mail(wp, to, subject, headers=()):
    """wp_mail() once, in the delivery mode of the settings; what it returned."""
    return wp.php(f"out(wp_mail({php_string(to)}, {php_string(subject)}, 'Body of ' . {php_string(subject)},"
                  f" json_decode({php_string(json.dumps(list(headers)))}, true)));")


def request(wp, email, action):
    """A personal data request for the address, as Tools > Export/Erase Personal Data adds one; its id."""
    return wp.php(f"""
        foreach (get_posts(array('post_type' => 'user_request', 'post_status' => 'any', 'numberposts' => -1)) as $old) {{
            wp_delete_post($old->ID, true);
        }}
        out(wp_create_user_request({php_string(email)}, {php_string(action)}));
    """)


def run_tool(browser, page, ajax_action, request_id):
    """What the Tools page's script does for one request: every exporter or eraser in turn, page by page, with the
    nonce and count printed in the request's row. Returns each answer's data."""
    row = browser.get(page).text
    tag = re.search(rf'<span class="[a-z -]*personal-data[^"]*"[^>]*data-request-id="{request_id}"[^>]*>', row).group(0)
    attributes = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', tag))
    count = int(attributes.get("exporters-count") or attributes["erasers-count"])
    kind = "exporter" if "exporters-count" in attributes else "eraser"
    answers = []
    for index in range(1, count + 1):
        for number in range(1, 50):
            answer = browser.post("/wp-admin/admin-ajax.php", {
                "action": ajax_action, kind: index, "id": request_id, "page": number,
                "security": html.unescape(attributes["nonce"]), "sendAsEmail": "false"})
            body = json.loads(answer.text)
            assert body["success"], body
            answers.append(body["data"])
            if body["data"]["done"]:
                break
    return answers


def test_export_shows_the_person_their_own_address_and_no_other_recipient(wp, capture):
    server = capture()
    wp.set_settings(port=server.port)
    assert mail(wp, f"{ALICE}, {BOB}", "Team news", [f"Cc: {CAROL}", f"Bcc: {DAVE}"]) is True
    assert mail(wp, f"x{DAVE}", "Someone else's") is True
    request_id = request(wp, DAVE, "export_personal_data")

    answers = run_tool(wp.browser(), "/wp-admin/export-personal-data.php", "wp-privacy-export-personal-data", request_id)
    # The last answer links the report WordPress wrote: the zip the person gets.
    with urllib.request.urlopen(answers[-1]["url"], timeout=30) as report:
        archive = zipfile.ZipFile(io.BytesIO(report.read()))
    page = archive.read("index.html").decode()
    assert "Mail sent by the site" in page and "Team news" in page
    assert f"{DAVE} (Bcc)" in page
    # Nobody else's address: not the To and Cc recipients, not another person's mail.
    for other in (ALICE, BOB, CAROL, f"x{DAVE}"):
        assert other not in page, other
    assert "Someone else" not in page


def test_erasure_takes_the_address_out_and_leaves_other_peoples_mail(wp, capture):
    server = capture()
    set_constants(wp, RUST_MAIL_TEST_HOLD=True)  # queued mail stays queued until the test drains it
    wp.set_settings(port=server.port)
    assert mail(wp, f"{ALICE}, {BOB}", "Sent to both") is True
    assert mail(wp, ALICE, "Sent to Alice alone") is True
    assert mail(wp, f"x{ALICE}", "Sent to someone else") is True
    wp.set_settings(port=server.port, delivery="queued")
    assert mail(wp, f"{ALICE}, {BOB}", "Queued for both") is True
    assert mail(wp, BOB, "Queued for Bob, Bcc Alice", [f"Bcc: {ALICE}"]) is True
    assert mail(wp, ALICE, "Queued for Alice alone") is True
    assert mail(wp, BOB, "Queued from Alice", [f"From: Alice <{ALICE}>"]) is True
    assert len(server.messages()) == 3
    request_id = request(wp, ALICE, "remove_personal_data")

    browser = wp.browser()
    answers = run_tool(browser, "/wp-admin/erase-personal-data.php", "wp-privacy-erase-personal-data", request_id)
    messages = [m for a in answers for m in a["messages"]]
    assert any(a["items_removed"] for a in answers)
    # The mails whose own text names her (To, From) are said to, and for how long.
    assert any("2 mails waiting in the outbox still go to their other recipients" in m for m in messages), messages

    # WordPress itself then tells her the erasure is done: a new mail to her, not part of what was erased.
    rows = {row["subject"]: row for row in wp.log_rows() if "Erasure Request Fulfilled" not in row["subject"]}
    assert sorted(rows) == ["Queued for Bob, Bcc Alice", "Queued for both", "Queued from Alice", "Sent to both",
                            "Sent to someone else"]
    assert rows["Sent to both"]["recipients"] == f"deleted@site.invalid, {BOB}"
    assert "RCPT TO:<deleted@site.invalid>" in rows["Sent to both"]["transcript"]
    assert rows["Queued for both"]["status"] == "queued" and rows["Queued for both"]["recipients"] == BOB
    assert json.loads(rows["Queued for both"]["envelope"])["to"] == [BOB]
    assert rows["Queued for Bob, Bcc Alice"]["recipients"] == BOB
    assert rows["Queued from Alice"]["from_address"] == "deleted@site.invalid"
    # No log entry's page shows her address any more; the other person's stays.
    pages = {subject: browser.get(f"{LOG}&entry={row['id']}").text for subject, row in rows.items()}
    assert not any(ALICE in page.replace(f"x{ALICE}", "") for page in pages.values())
    assert f"x{ALICE}" in pages["Sent to someone else"] and BOB in pages["Queued for both"]

    # The queued mails reach the others, and only them; the one for her alone is gone.
    assert drain(wp) == {"sent": 4}
    sent = {m.message["Subject"]: m for m in server.messages()[3:] if "Erasure Request Fulfilled" not in m.message["Subject"]}
    assert sorted(sent) == ["Queued for Bob, Bcc Alice", "Queued for both", "Queued from Alice"]
    assert all(m.rcpt_tos == [BOB] for m in sent.values())
    # A mail from her goes out as she wrote it: the envelope keeps its sender.
    assert sent["Queued from Alice"].mail_from == ALICE
