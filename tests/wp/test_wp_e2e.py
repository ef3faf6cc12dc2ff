"""Headless Chromium (Debian's, driven by playwright-core from npm) through the real wp-admin pages."""
import pytest

from harness.wpstack import ARTIFACTS, run_browser

# In the soak tier (pytest -m soak): headless Chromium.
pytestmark = pytest.mark.soak

XSS_SUBJECT = "<script>alert(1)</script><img src=x onerror=alert(2)>"
SCREENSHOTS = ["settings-preset-m365.png", "settings-saved.png", "log-list.png", "log-entry-transcript.png",
               "log-entry-xss-subject.png", "log-entry-hostile.png", "diagnosis.png"]


def test_login_preset_test_mail_log_transcript_diagnosis(wp, capture):
    server = capture()
    wp.set_settings(port=server.port)
    # A row whose every field came from a hostile sender or server (older than the
    # contact form mail below, which the search for 'alert' must list first): names, addresses, reply, transcript.
    hostile_entry = wp.php("""
        $x = "<script>alert(3)</script><img src=x onerror=alert(4)>";
        out(RustMail_Log_Store::add(array(
            'status' => 'failed', 'from_address' => '"' . $x . '" <a@example.com>', 'recipients' => "$x@example.com",
            'subject' => $x, 'reply' => "550 $x", 'error_kind' => 'recipient_rejected', 'error_message' => "refused: $x",
            'caller' => "plugin:$x", 'transcript' => array(array(1, 'server', "220 $x"), array(2, 'client', "EHLO $x")),
        )));
    """)
    # A stranger's contact form mail with a script in the subject, already in the log.
    wp.browser().post("/", {"rust_mail_test_contact": "1", "contact_subject": XSS_SUBJECT, "contact_message": "x",
                            "contact_email": "visitor@example.com"})
    for shot in SCREENSHOTS:
        (ARTIFACTS / shot).unlink(missing_ok=True)
    output = run_browser(wp, "e2e.mjs", SMTP_PORT=str(server.port), XSS_SUBJECT=XSS_SUBJECT,
                         HOSTILE_ENTRY=str(hostile_entry))
    assert "e2e: ok" in output
    assert [m.rcpt_tos for m in server.messages()][-1] == ["e2e-inbox@example.com"]
    for shot in SCREENSHOTS:
        assert (ARTIFACTS / shot).stat().st_size > 0, f"{shot} was not taken"
