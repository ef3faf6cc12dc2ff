"""Headless Chromium (Debian's, driven by playwright-core from npm) through the real wp-admin pages."""
import os
import subprocess
from pathlib import Path

from wpstack import REPO, WP_TESTS

E2E = WP_TESTS / "e2e"
ARTIFACTS = REPO / "tests" / "artifacts"
XSS_SUBJECT = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def test_login_preset_test_mail_log_transcript_diagnosis(wp, capture):
    if not (E2E / "node_modules" / "playwright-core").exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=E2E, check=True,
                       env=dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1"))
    server = capture()
    wp.set_settings(port=server.port)
    # A row whose every field came from a hostile sender or server (older than the
    # contact form mail below, which the search for 'alert' must list first): names, addresses, reply, transcript.
    hostile_entry = wp.php("""
        $x = "<script>alert(3)</script><img src=x onerror=alert(4)>";
        out(Rust_Mail_Log::add(array(
            'status' => 'failed', 'from_address' => '"' . $x . '" <a@example.com>', 'recipients' => "$x@example.com",
            'subject' => $x, 'reply' => "550 $x", 'error_kind' => 'recipient_rejected', 'error_message' => "refused: $x",
            'caller' => "plugin:$x", 'transcript' => array(array(1, 'server', "220 $x"), array(2, 'client', "EHLO $x")),
        )));
    """)
    # A stranger's contact form mail with a script in the subject, already in the log.
    wp.browser().post("/", {"rust_mail_test_contact": "1", "contact_subject": XSS_SUBJECT, "contact_message": "x",
                            "contact_email": "visitor@example.com"})
    run = subprocess.run(
        ["node", "e2e.mjs"], cwd=E2E, capture_output=True, text=True, timeout=240,
        env=dict(os.environ, WP_URL=wp.url, WP_USER="admin", WP_PASS=wp.admin_password,
                 SMTP_PORT=str(server.port), ARTIFACTS=str(ARTIFACTS), XSS_SUBJECT=XSS_SUBJECT,
                 HOSTILE_ENTRY=str(hostile_entry)),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "e2e: ok" in run.stdout
    assert [m.rcpt_tos for m in server.messages()][-1] == ["e2e-inbox@example.com"]
    for shot in ["settings-preset-m365.png", "settings-saved.png", "log-list.png", "log-entry-transcript.png", "log-entry-xss-subject.png",
                 "log-entry-hostile.png"]:
        assert (ARTIFACTS / shot).stat().st_size > 0
