"""DKIM on the plugin's path: with the key in wp-config.php (RUST_MAIL_DKIM_*), a mail wp_mail() queued in the outbox
and sent on either engine arrives signed, as dkimpy verifies it against the key published on a real DNS server
(tests/test_dkim.py's dnsmasq); a key file inside the WordPress directory is refused, naming the constant only."""
import html
import re

import pytest

from harness.wpstack import SETTINGS

from test_dkim import DOMAIN, SELECTORS, dns_server, key_lines, keys, lookup, verifies  # noqa: F401 (fixtures)
from test_wp_outbox import outbox, queue, set_constants  # noqa: F401 (fixture)


@pytest.mark.parametrize("key_given_as", ["path", "pem"])
def test_a_mail_through_the_outbox_is_signed_on_each_engine(outbox, capture, keys, lookup, key_given_as):
    pem, path, _ = keys["rsa"]
    server = capture()
    set_constants(outbox, RUST_MAIL_TEST_RETRY_DELAY=0, RUST_MAIL_DKIM_DOMAIN=DOMAIN,
                  RUST_MAIL_DKIM_SELECTOR=SELECTORS["rsa"], RUST_MAIL_DKIM_PRIVATE_KEY=path if key_given_as == "path" else pem)
    outbox.set_settings(port=server.port, delivery="queued")
    sent, status_at_return = queue(outbox, subject="Signed order")
    assert sent is True and status_at_return == "queued"
    [message] = server.messages()
    assert message.message["Subject"] == "Signed order"
    assert verifies(message.raw, lookup), message.raw.decode(errors="replace")
    assert not verifies(message.raw.replace(b"Signed order", b"Signed ordeR"), lookup)
    logged = repr(outbox.log_rows())
    assert not any(line in logged for line in key_lines(pem))


def test_a_key_file_inside_wordpress_is_refused_naming_the_constant(wp, capture, keys):
    pem, _, _ = keys["rsa"]
    server = capture()
    inside = wp.wp / "wp-content" / "dkim-test.pem"
    inside.write_text(pem)
    try:
        wp.set_constants({"RUST_MAIL_DKIM_DOMAIN": DOMAIN, "RUST_MAIL_DKIM_SELECTOR": SELECTORS["rsa"],
                          "RUST_MAIL_DKIM_PRIVATE_KEY": str(inside)})
        wp.set_settings(port=server.port)
        sent = wp.send_mail()
    finally:
        inside.unlink()
    assert sent["result"] is False and server.messages() == []
    assert any("RUST_MAIL_DKIM_PRIVATE_KEY names a file inside the WordPress directory" in f for f in sent["failed"]), sent
    assert not any(line in repr(sent) for line in key_lines(pem))


def test_the_settings_page_shows_the_txt_record_to_publish_escaped_and_without_the_key(wp, keys, lookup):
    pem, _, p = keys["rsa"]
    # Beside the WordPress directory, not in it, and readable by PHP-FPM's user.
    path = wp.dir / "dkim-test.pem"
    path.write_text(pem)
    path.chmod(0o644)
    wp.set_constants({"RUST_MAIL_DKIM_DOMAIN": DOMAIN, "RUST_MAIL_DKIM_SELECTOR": SELECTORS["rsa"],
                      "RUST_MAIL_DKIM_PRIVATE_KEY": str(path)})
    page = wp.browser().get(SETTINGS)
    assert page.status == 200
    record = re.search(r'id="rust-mail-dkim-record".*?<code>(.*?)</code>.*?<code[^>]*>(.*?)</code>', page.text, re.S)
    assert record, page.text
    name, value = html.unescape(record.group(1)), html.unescape(record.group(2))
    assert name == f"{SELECTORS['rsa']}._domainkey.{DOMAIN}"
    assert value == f"v=DKIM1; k=rsa; p={p}"
    # What the page says to publish is what the test DNS serves for the key that signs.
    assert lookup(name).decode() == value
    assert not any(line in page.text for line in key_lines(pem))
    # Shown escaped: a selector with markup in it comes out as text.
    wp.set_constants({"RUST_MAIL_DKIM_DOMAIN": DOMAIN, "RUST_MAIL_DKIM_SELECTOR": "<b>x</b>",
                      "RUST_MAIL_DKIM_PRIVATE_KEY": pem})
    page = wp.browser().get(SETTINGS)
    path.unlink()
    assert "<code>&lt;b&gt;x&lt;/b&gt;._domainkey.mail.example</code>" in page.text
    assert not any(line in page.text for line in key_lines(pem))
