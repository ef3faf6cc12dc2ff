"""The plugin's words can be translated: every call of WordPress's translation functions names the text domain
'rust-mail' (a call without it, or with another, stays English whatever the site's language), and ./build.sh pot
writes a template holding every such string with its translators' comment."""
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOMAINS = REPO / "tests" / "i18n" / "text_domains.php"


def wrong_domains(files):
    run = subprocess.run(["php", str(DOMAINS), *map(str, files)], capture_output=True, text=True, check=True)
    return run.stdout.splitlines()


def test_every_translation_call_of_the_plugin_names_the_rust_mail_domain():
    files = sorted((REPO / "wp-plugin").rglob("*.php"))
    assert len(files) > 40
    assert wrong_domains(files) == []


def test_the_domain_check_finds_a_missing_or_foreign_domain(tmp_path):
    sample = tmp_path / "sample.php"
    sample.write_text(
        "<?php\n"
        "__( 'Fine', 'rust-mail' );\n"
        "echo esc_html( sprintf( _n( '%d mail', '%d mails', $n, 'rust-mail' ), $n ) );\n"
        "_x( 'Post', 'verb', 'rust-mail' );\n"
        "__( 'No domain' );\n"                       # line 5
        "esc_html_e( 'Elsewhere', 'default' );\n"    # line 6
        "_n( 'a', 'b', count( array( 1, 2 ) ) );\n"  # line 7: the count's nested commas are not the domain
        "$x->__( 'a method', 'other' );\n"
        "function __( $text, $domain = 'x' ) {}\n")
    assert [line.split(": ", 1)[0].rsplit(":", 1)[1] for line in wrong_domains([sample])] == ["5", "6", "7"]


def test_build_sh_pot_writes_every_string_with_its_translators_comment(tmp_path):
    out = tmp_path / "rust-mail.pot"
    subprocess.run([str(REPO / "build.sh"), "pot", str(out)], check=True, capture_output=True, cwd=REPO)
    pot = out.read_text(encoding="utf-8")
    subprocess.run(["msgfmt", "--check-format", "-o", "/dev/null", str(out)], check=True)
    # Each message as one string: xgettext wraps long ones over several quoted lines.
    msgids = [re.sub(r'"\n"', "", m) for m in re.findall(r'^msgid "(.*(?:\n".*)*)"$', pot, re.M)]
    assert len(msgids) > 300
    assert '"Project-Id-Version: Rust Mail 0.1.0\\n"' in pot
    # A label made in a closure, a plural, and a string whose placeholders the comment explains.
    assert "Keep at most (entries)" in msgids
    assert "%d message still waits: the connection log says why." in msgids
    assert "msgid_plural" in pot[pot.index("%d message still waits"):][:200]
    entry = pot[pot.index("Send these %d messages again") - 300:pot.index("Send these %d messages again")]
    assert "#. translators: %d: number of messages" in entry
