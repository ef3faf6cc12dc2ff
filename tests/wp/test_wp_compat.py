"""PHP's own verdict on the plugin and the extension: with WP_DEBUG on (./build.sh compat runs the stack so), PHP
reports E_ALL, and every deprecation, warning or notice of the session's requests and CLI runs lands in the stack's
php-errors.log. None may come from rust-mail. Run after the other tests of a session (last on the command line), so
that it reads what they made PHP do."""
import re

from test_wp_differential import parsed, png_bytes
from harness.wpstack import Browser

# What PHP writes for a diagnostic ("PHP Deprecated:  ...", "PHP Warning:  ...", "PHP Notice:  ..."), and for those
# WordPress raises itself (_doing_it_wrong, _deprecated_function: E_USER_NOTICE / E_USER_DEPRECATED).
DIAGNOSTIC = re.compile(r"PHP (Deprecated|Warning|Notice|Fatal error|Parse error)|PHP Strict Standards", re.I)
# The plugin's files, its classes and functions, the extension (by its name or its functions'); not the stack's own
# directory (/var/lib/rust-mail-test/...).
OURS = re.compile(r"/plugins/rust-mail/|rust_mail", re.I)


def test_a_page_mails_an_embedded_image_as_stock_wordpress_does(wp, capture, wp_version):
    """A visitor's request to a page (nginx, PHP-FPM) that calls wp_mail() with an embedded logo: the message the server
    receives through the plugin is stock WordPress's, apart from Message-ID, Date and boundaries."""
    logo = wp.wp / "wp-content" / "uploads" / "rust-mail-test-logo.png"
    logo.write_bytes(png_bytes())
    received = {}
    for run in ("stock", "plugin"):
        server = capture()
        if run == "stock":
            wp.set_constants({"RUST_MAIL_TEST_BASELINE_PORT": server.port})
        else:
            wp.clear_constants()
            wp.set_settings(port=server.port)
        page = Browser(wp.url).post("/", {"rust_mail_test_embed": "1"})
        assert "newsletter: sent" in page.text, (run, page.status, page.text[:500])
        [received[run]] = server.messages()
    assert parsed(received["plugin"]) == parsed(received["stock"])
    inline = [(p.get("Content-ID"), p.get_payload(decode=True)) for p in received["plugin"].message.walk()
              if p.get("Content-ID")]
    assert inline == ([("<logo>", png_bytes())] if wp_version >= (6, 9) else [])


def test_php_logged_nothing_about_the_plugin_or_the_extension(wp_session):
    log = wp_session.dir / "logs" / "php-errors.log"
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    ours = [line for line in lines if DIAGNOSTIC.search(line) and OURS.search(line)]
    assert ours == [], "\n".join(ours[:20])
