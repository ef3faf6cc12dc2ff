"""Alerts as a site owner gets them, in real WordPress against real servers on 127.0.0.1: an HTTP server that records
every POST stands in for Slack, Teams, Discord and the generic webhook; alert mail arrives at a capture SMTP server.
One alert per incident, a "resolved" when mail flows again, none while the fallback delivers, none for test mails;
the banner dismissed per incident (Chromium); each channel's test button; URL checks; the weekly summary."""
import email
import email.policy
import html
import json
import re
import time

import pytest

from harness.http_server import LoopbackHTTPServer, QuietHandler
from harness.ports import closed_port as hold_closed_port
from harness.wpstack import php_string, run_browser
from test_wp_outbox import drain, fallback_to, queue, set_constants

CHANNEL_PATHS = {"slack": "/services/T0/B0/SECRETslack", "teams": "/workflows/SECRETteams",
                 "discord": "/api/webhooks/1/SECRETdiscord", "webhook": "/hook/SECRETgeneric"}


class Recorder:
    """An HTTP server on 127.0.0.1 that answers 204 (Discord's answer; Slack says 200) and keeps each POST: path,
    headers, JSON body, and when it came. With `tls` (certificate, key) it speaks HTTPS."""

    def __init__(self, tls=None):
        self.posts = []
        recorder = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                recorder.posts.append({"path": self.path, "type": self.headers.get("Content-Type"),
                                       "json": json.loads(body), "at": time.time()})
                self.send_response(204)
                self.end_headers()

        self.http = LoopbackHTTPServer(Handler, tls)
        self.url = self.http.url

    def by_channel(self):
        channels = {path: name for name, path in CHANNEL_PATHS.items()}
        seen = {name: [] for name in CHANNEL_PATHS}
        for post in self.posts:
            seen[channels[post["path"]]].append(post["json"])
        return seen

    def stop(self):
        self.http.stop()


@pytest.fixture
def hooks():
    recorder = Recorder()
    yield recorder
    recorder.stop()


def set_channels(wp, hooks, **settings):
    """Every webhook channel at the recorder, and email as asked."""
    channels = {name: hooks.url + path for name, path in CHANNEL_PATHS.items()}
    channels.update(settings)
    wp.php(f"RustMail_Settings_Store::update_plugin_option(RustMail_Alerts_Channels::OPTION, json_decode({php_string(json.dumps(channels))}, true)); out(true);")


def alert_mails(server):
    return [email.message_from_bytes(m.raw, policy=email.policy.default) for m in server.messages()]


def smtp(server_port):
    return {"host": "127.0.0.1", "port": server_port, "security": "none", "auth": "none"}


def test_an_incident_alerts_once_stays_quiet_while_the_fallback_delivers_and_says_resolved(wp, capture, hooks):
    """Primary and fallback down: one alert on each channel for three mails. The fallback back: it delivers, and no
    channel hears more. The primary back: one "resolved" each, and the banner and Site Health are clear."""
    sink = capture()  # the alert mail's own connection
    set_constants(wp, RUST_MAIL_TEST_RETRY_DELAY=0)
    set_channels(wp, hooks, email=True, email_to="owner@example.com", email_via="alerts")
    with hold_closed_port() as primary_port, hold_closed_port() as fallback_port:
        wp.set_settings(port=primary_port, delivery="queued", connections={"alerts": smtp(sink.port)},
                        fallback_host="127.0.0.1", fallback_port=fallback_port, fallback_security="none",
                        fallback_auth="none")
        # A shop's request sends three mails; they are tried after its response.
        wp.php("foreach (array('Order 1001 confirmed', 'Password reset', 'Order 1002 confirmed') as $s) {"
               " wp_mail('customer@example.com', $s, 'Body'); } out(true);")
        assert {row["status"] for row in wp.log_rows()} == {"queued"}
        first = hooks.by_channel()
        assert all(len(posts) == 1 for posts in first.values()), first
        assert drain(wp) == {"retry": 3}
        assert all(len(posts) == 1 for posts in hooks.by_channel().values()), "a second alert for the same incident"

    # What each channel received, in its own format.
    slack, teams, discord, generic = (first[name][0] for name in ("slack", "teams", "discord", "webhook"))
    assert slack["text"].startswith("*[") and "Mail is not going out (primary connection)" in slack["text"]
    assert '"Order 1001 confirmed"' in slack["text"] and "page=rust-mail-log" in slack["text"]
    card = teams["attachments"][0]
    assert teams["type"] == "message" and card["contentType"] == "application/vnd.microsoft.card.adaptive"
    texts = [block["text"] for block in card["content"]["body"]]
    assert any("Since:" in text for text in texts) and any("Password reset" in text for text in texts)
    assert "page=rust-mail-log" in card["content"]["actions"][0]["url"]
    assert discord["content"].startswith("**[") and len(discord["content"]) <= 2000
    assert generic["event"] == "incident.failing" and generic["incident"]["connection"] == "primary"
    assert generic["incident"]["cause"] == "connection_refused" and generic["incident"]["advice"]
    assert [m["subject"] for m in generic["incident"]["mails"]] == ["Order 1001 confirmed", "Password reset",
                                                                   "Order 1002 confirmed"]
    assert "cause=connection_refused" in html.unescape(generic["log_url"])
    assert all(post["type"].startswith("application/json") for post in hooks.posts)
    # The alert mail went through its own connection (the other two were down), once.
    [mail] = alert_mails(sink)
    assert mail["To"] == "owner@example.com" and "Mail is not going out" in mail["Subject"]
    body = mail.get_content()
    assert "Order 1001 confirmed" in body and "Since:" in body and "What to do:" in body, body
    # Site Health: critical while mail does not go out.
    assert wp.php("out(RustMail_Admin_Site_Health::outbox()['status']);") == "critical"

    # The fallback comes back: it delivers the waiting mail and a new one; nobody is alerted again.
    fallback = capture(port=fallback_port)
    with hold_closed_port() as primary_port:
        wp.set_settings(port=primary_port, delivery="queued", connections={"alerts": smtp(sink.port)},
                        **fallback_to(fallback))
        assert drain(wp) == {"sent": 3}
        queue(wp, subject="Order 1003 confirmed")
        assert len(fallback.messages()) == 4
        assert all(len(posts) == 1 for posts in hooks.by_channel().values())
        assert len(sink.messages()) == 1
        assert wp.php("out(array_column(RustMail_Alerts_Incident::sentences(), 'type'));") == ["error"]

    # The primary is back: the next mail goes through it, and each channel hears "resolved" once.
    primary = capture(port=primary_port)
    wp.set_settings(port=primary.port, delivery="queued", connections={"alerts": smtp(sink.port)}, **fallback_to(fallback))
    before_resolved = time.time()
    queue(wp, subject="Order 1004 confirmed")
    assert [m.message["Subject"] for m in primary.messages()] == ["Order 1004 confirmed"]
    seen = hooks.by_channel()
    assert all(len(posts) == 2 for posts in seen.values()), seen
    assert all(post["at"] >= before_resolved for post in hooks.posts[-4:])
    assert seen["webhook"][1]["event"] == "incident.resolved" and seen["webhook"][1]["incident"]["resolved_at"]
    assert "Mail goes out again (primary connection)" in seen["slack"][1]["text"]
    assert "Mail goes out again" in alert_mails(sink)[1]["Subject"]
    assert wp.php("out(array(RustMail_Alerts_Incident::all(), RustMail_Admin_Site_Health::outbox()['status']));") == [[], "good"]
    # A mail through the primary with nothing wrong says nothing.
    queue(wp, subject="Order 1005 confirmed")
    assert len(hooks.posts) == 8 and len(sink.messages()) == 2


def test_the_fallback_delivering_gives_a_notice_and_no_alert(wp, capture, hooks):
    set_constants(wp, RUST_MAIL_TEST_RETRY_DELAY=0)
    set_channels(wp, hooks, email=True)
    fallback = capture()
    with hold_closed_port() as primary_port:
        wp.set_settings(port=primary_port, delivery="queued", **fallback_to(fallback))
        queue(wp, subject="Welcome")
        queue(wp, subject="Receipt")
        assert sorted(m.message["Subject"] for m in fallback.messages()) == ["Receipt", "Welcome"]
        assert hooks.posts == []
        [notice] = wp.php("out(RustMail_Alerts_Incident::sentences());").values()
        assert notice["type"] == "warning" and "The fallback connection delivers the mail meanwhile" in notice["text"]
        assert wp.php("out(RustMail_Admin_Site_Health::outbox()['status']);") == "recommended"
    primary = capture(port=primary_port)
    queue(wp, subject="Back")
    assert [m.message["Subject"] for m in primary.messages()] == ["Back"]
    # Nobody was alerted, so nobody is told it is resolved; the notice is gone.
    assert hooks.posts == [] and len(fallback.messages()) == 2
    assert wp.php("out(RustMail_Alerts_Incident::all());") == []


def test_the_owners_test_mails_never_open_an_incident(wp, hooks, closed_port):
    set_channels(wp, hooks)
    wp.set_settings(port=closed_port)
    test = wp.php("out(RustMail_Mail_Test_Mail::send('owner@example.com'));")
    assert test["sent"] is False
    assert hooks.posts == [] and wp.php("out(RustMail_Alerts_Incident::all());") == []
    # The same failure from a plugin's mail opens one.
    wp.send_mail("From the shop")
    assert [post["json"]["incident"]["mails"][0]["subject"] for post in hooks.posts if post["path"] == CHANNEL_PATHS["webhook"]] == ["From the shop"]


def test_a_successful_send_again_closes_the_incident(wp, capture, hooks, closed_port):
    """The subject comes from a stranger: it must not notify a whole Slack channel or Discord server."""
    set_channels(wp, hooks)
    wp.set_settings(port=closed_port)
    wp.send_mail("Invoice 7 <!channel> @everyone")
    [failed] = wp.log_rows()
    assert len(hooks.posts) == 4
    first = hooks.by_channel()
    assert "Invoice 7 &lt;!channel&gt; @everyone" in first["slack"][0]["text"] and "<!channel>" not in first["slack"][0]["text"]
    assert first["discord"][0]["allowed_mentions"] == {"parse": []}
    assert [m["subject"] for m in first["webhook"][0]["incident"]["mails"]] == ["Invoice 7 <!channel> @everyone"]
    server = capture()
    wp.set_settings(port=server.port)
    assert wp.php(f"out(RustMail_Outbox_Drain::resend({failed['id']}) > 0);") is True
    assert [m.message["Subject"] for m in server.messages()] == ["Invoice 7 <!channel> @everyone"]
    assert wp.php("out(RustMail_Alerts_Incident::all());") == []
    assert [post["json"]["event"] for post in hooks.posts if post["path"] == CHANNEL_PATHS["webhook"]] == \
        ["incident.failing", "incident.resolved"]


def test_mail_failing_again_before_the_resolved_message_is_the_same_incident(wp, capture, hooks, closed_port):
    """In one request a mail goes through, then the next fails: the incident goes on; no "resolved" then a second
    "failing"."""
    server = capture()
    set_channels(wp, hooks)
    wp.set_settings(port=closed_port)
    wp.send_mail("First")
    events = lambda: [post["json"]["event"] for post in hooks.posts if post["path"] == CHANNEL_PATHS["webhook"]]
    assert events() == ["incident.failing"]
    wp.php(wp.settings_code(port=server.port) + " wp_mail('someone@example.com', 'Goes', 'x');"
           + wp.settings_code(port=closed_port) + " wp_mail('someone@example.com', 'Fails again', 'x'); out(true);")
    assert [m.message["Subject"] for m in server.messages()] == ["Goes"]
    assert events() == ["incident.failing"]
    wp.set_settings(port=server.port)
    wp.send_mail("Flows")
    assert events() == ["incident.failing", "incident.resolved"]
    assert hooks.posts[-1]["json"]["incident"]["undelivered"] == 2


def test_the_banner_is_dismissed_per_incident_and_goes_when_mail_flows(wp, capture, closed_port):
    server = capture()
    wp.set_settings(port=closed_port)
    wp.send_mail("First incident")
    seen = json.loads(run_browser(wp, "alerts.mjs", STEP="dismiss").strip().splitlines()[-1])
    assert "Mail is not going out through the primary connection" in seen["before"][0], seen
    assert "See the mail in the connection log" in seen["before"][0]
    assert "page=rust-mail-log" in seen["logLink"] and "cause=connection_refused" in seen["logLink"]
    assert seen["afterDismiss"] == [] and seen["otherPage"] == [], seen
    # Dismissed is not resolved: Site Health still says so.
    assert wp.php("out(RustMail_Admin_Site_Health::outbox()['status']);") == "critical"

    # Mail flows, then fails again: a new incident, whose banner comes back.
    wp.set_settings(port=server.port)
    wp.send_mail("Flows again")
    wp.set_settings(port=closed_port)
    wp.send_mail("Second incident")
    seen = json.loads(run_browser(wp, "alerts.mjs", STEP="look").strip().splitlines()[-1])
    assert len(seen["before"]) == 1 and "Mail is not going out" in seen["before"][0], seen

    # Resolved: the banner is gone without a click.
    wp.set_settings(port=server.port)
    wp.send_mail("Fixed")
    seen = json.loads(run_browser(wp, "alerts.mjs", STEP="look").strip().splitlines()[-1])
    assert seen["before"] == [], seen


def test_each_channel_has_a_test_button_behind_capability_and_nonce(wp, capture, hooks):
    sink = capture()
    wp.set_settings(port=sink.port)
    set_channels(wp, hooks, email=True, email_to="owner@example.com", email_via="primary")
    browser = wp.browser()
    page = browser.get("/wp-admin/admin.php?page=rust-mail-alerts")
    for path in CHANNEL_PATHS.values():
        assert path.split("/")[-1] not in page.text, "a webhook's secret path is on the page"
    for channel in ("slack", "teams", "discord", "webhook", "email"):
        fields = browser.form_fields(page, channel)
        done = browser.post("/wp-admin/admin-post.php", fields)
        assert "Test alert sent to" in html.unescape(done.text), channel
    seen = hooks.by_channel()
    assert seen["webhook"][0]["event"] == "test" and "Test alert from Rust Mail" in seen["slack"][0]["text"]
    assert all(len(posts) == 1 for posts in seen.values()), seen
    [mail] = alert_mails(sink)
    assert "Test alert from Rust Mail" in mail["Subject"] and mail["To"] == "owner@example.com"
    # Without the nonce: refused, nothing sent.
    refused = browser.post("/wp-admin/admin-post.php", {"action": "rust_mail_test_alert", "channel": "slack"})
    assert refused.status == 403 and len(hooks.posts) == 4


def test_webhook_addresses_must_be_https_except_to_this_machine(wp, hooks):
    set_channels(wp, hooks)
    problems = wp.php("""out(array_map(array('RustMail_Alerts_Channels', 'url_problem'), array(
        'http://hooks.example.com/x', 'https://hooks.example.com/x', 'http://127.0.0.1:9/x', 'http://[::1]:9/x',
        'javascript:alert(1)', 'hooks.slack.com/services/x', 'https://bad host/x')));""")
    assert [p != "" for p in problems] == [True, False, False, False, True, True, True]
    assert "must start with https://" in problems[0]
    browser = wp.browser()
    page = browser.get("/wp-admin/admin.php?page=rust-mail-alerts")
    fields = browser.form_fields(page, "rust-mail-alerts-form")
    fields.update({"rust_mail_alerts[slack]": "http://hooks.example.com/services/T/B/x",
                   "rust_mail_alerts[discord]": "https://discord.example/api/webhooks/2/new"})
    after = html.unescape(browser.post("/wp-admin/admin-post.php", fields).text)
    assert "Slack: The address must start with https://" in after
    saved = wp.php("out(RustMail_Alerts_Channels::settings());")
    assert saved["slack"] == hooks.url + CHANNEL_PATHS["slack"], "a refused address replaced the saved one"
    assert saved["discord"] == "https://discord.example/api/webhooks/2/new"
    assert "api/webhooks/2/new" not in after and "https://discord.example/…" in after


def test_the_weekly_summary_is_off_by_default_and_counts_the_week(wp, capture, hooks, closed_port):
    set_channels(wp, hooks, summary=False)
    assert wp.php("RustMail_Alerts_Summary::schedule(); out(wp_next_scheduled(RustMail_Alerts_Summary::CRON_HOOK));") is False
    server = capture()
    wp.set_settings(port=server.port)
    for n in range(3):
        wp.send_mail(f"Sent {n}")
    wp.set_settings(port=closed_port)
    wp.send_mail("Failed")
    hooks.posts.clear()
    set_channels(wp, hooks, summary=True)
    scheduled = wp.php("RustMail_Alerts_Summary::schedule(); out(wp_next_scheduled(RustMail_Alerts_Summary::CRON_HOOK) > time());")
    assert scheduled is True
    wp.php("do_action(RustMail_Alerts_Summary::CRON_HOOK); out(true);")
    summary = hooks.by_channel()["webhook"][0]
    assert summary["event"] == "summary"
    assert {k: summary["summary"][k] for k in ("sent", "failed", "queued")} == {"sent": 3, "failed": 1, "queued": 0}
    assert summary["summary"]["causes"] == {"connection_refused": 1}
    assert sum(summary["summary"]["callers"].values()) == 4
    assert "Last 7 days: 3 sent, 1 failed" in hooks.by_channel()["slack"][0]["text"]


def test_https_webhooks_are_delivered_only_to_a_certificate_the_site_trusts(wp, certs, closed_port):
    """Two local HTTPS servers: one with a certificate of the CA the site trusts, one self-signed. The first gets the
    test alert; the second is refused, and neither the page nor the stored status holds its secret path."""
    trusted, untrusted = Recorder(tls=certs.pair("good")), Recorder(tls=certs.pair("selfsigned"))
    try:
        set_constants(wp, RUST_MAIL_TEST_HTTP_CA=wp.site_ca(certs))
        channels = {"slack": trusted.url + CHANNEL_PATHS["slack"], "discord": untrusted.url + CHANNEL_PATHS["discord"],
                    "webhook": f"http://127.0.0.1:{closed_port}{CHANNEL_PATHS['webhook']}"}
        wp.php(f"RustMail_Settings_Store::update_plugin_option(RustMail_Alerts_Channels::OPTION, json_decode({php_string(json.dumps(channels))}, true)); out(true);")
        results = wp.php("out(RustMail_Alerts_Channels::send_all(RustMail_Alerts_Message::test()));")
        assert results["slack"] == "" and [p["json"]["text"].split("\n")[0] for p in trusted.posts] == ["*[Rust Mail demo] Test alert from Rust Mail*"]
        assert untrusted.posts == [] and "Not delivered" in results["discord"], results
        assert "Not delivered" in results["webhook"]
        page = html.unescape(wp.browser().get("/wp-admin/admin.php?page=rust-mail-alerts").text)
        stored = json.dumps(wp.php("out(get_option(RustMail_Alerts_Channels::STATUS_OPTION));"))
        for secret in ("SECRETdiscord", "SECRETgeneric", "SECRETslack"):
            assert secret not in page and secret not in stored and secret not in json.dumps(results)
        assert "Last alert delivered" in page and "was not delivered: Not delivered" in page
    finally:
        trusted.stop()
        untrusted.stop()
