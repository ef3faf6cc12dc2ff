"""PHP's own verdict on the plugin and the extension: with WP_DEBUG on (./build.sh compat runs the stack so), PHP
reports E_ALL, and every deprecation, warning or notice of the session's requests and CLI runs lands in the stack's
php-errors.log. None may come from rust-mail. Run after the other tests of a session (last on the command line), so
that it reads what they made PHP do."""
import re

# What PHP writes for a diagnostic ("PHP Deprecated:  ...", "PHP Warning:  ...", "PHP Notice:  ..."), and for those
# WordPress raises itself (_doing_it_wrong, _deprecated_function: E_USER_NOTICE / E_USER_DEPRECATED).
DIAGNOSTIC = re.compile(r"PHP (Deprecated|Warning|Notice|Fatal error|Parse error)|PHP Strict Standards", re.I)
OURS = re.compile(r"rust[-_]mail", re.I)


def test_php_logged_nothing_about_the_plugin_or_the_extension(wp_session):
    log = wp_session.dir / "logs" / "php-errors.log"
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    ours = [line for line in lines if DIAGNOSTIC.search(line) and OURS.search(line)]
    assert ours == [], "\n".join(ours[:20])
