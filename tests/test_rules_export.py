"""The plugin's explanations without the extension (wp-plugin/src/Explain/Classifier.php, reading
wp-plugin/data/classifier.json) against the extension's own rust_mail_explain(), in one PHP process with both: every
real reply of tests/replies.tsv and every error kind without a reply, under several transports, must give exactly the
same cause, summary and advice."""
import re
import subprocess
from pathlib import Path

import pytest

from test_replies import rows

# In the soak tier (pytest -m soak): every reply of replies.tsv through both explainers.
pytestmark = pytest.mark.soak

ROOT = Path(__file__).resolve().parents[1]
AUTOLOAD = ROOT / "wp-plugin" / "src" / "autoload.php"
DATA_CLASS = ROOT / "wp-plugin" / "src" / "Explain" / "Data.php"
EXPORT = ROOT / "wp-plugin" / "data" / "classifier.json"

# The error kind a send logs for a refusal at each stage of the table, and the stage as the extension's error.stage
# names it (the table's "data" is the reply after the message).
KIND_OF_STAGE = {"auth": "auth", "mail": "sender_rejected", "rcpt": "recipient_rejected", "data": "data_rejected",
                 "starttls": "tls", "greeting": "protocol"}
ERROR_STAGE = {"auth": "auth", "mail": "mail", "rcpt": "rcpt", "data": "message", "starttls": "starttls",
               "greeting": "greeting"}
KINDS = ["dns", "connect_refused", "connect_timeout", "tls", "auth", "sender_rejected", "recipient_rejected",
         "data_rejected", "timeout", "protocol"]
SECRET = "hunter22-secret"

TRANSPORTS = [
    {"host": "smtp.example.com", "port": 25, "security": "none", "auth": "none"},
    {"host": "smtp.example.com", "security": "starttls", "auth": "login", "username": "site@example.com", "password": SECRET},
    {"host": "smtp.office365.com", "port": 587, "security": "starttls", "auth": "xoauth2", "username": "site@contoso.com",
     "password": SECRET},
    {"host": "mail.example.org", "security": "tls", "username": "site@example.org", "password": SECRET},
    {"host": "mx.example.net", "port": 2525, "security": "opportunistic"},
    {"host": "relay.example.com", "port": 465},
    {"host": "127.0.0.1"},
]


def parse_reply(line):
    """A reply line as a send result keeps it: code, enhanced code (as src/smtp/reply.rs finds it) and text."""
    code, text = int(line[:3]), line[4:]
    word = text.split(" ", 1)[0]
    if re.fullmatch(r"\d{1,3}\.\d{1,3}\.\d{1,3}", word) and word[0] == str(code)[0]:
        return code, word, text[len(word):].lstrip()
    return code, None, text


def reply_failures():
    for provider, stage, cause, line in rows():
        code, enhanced, text = parse_reply(line)
        yield {"kind": KIND_OF_STAGE[stage], "message": f"the server refused: {line}", "code": code,
               "enhanced_code": enhanced, "reply": text, "from": "support@example.com"}


def other_failures():
    """Each kind without a reply; replies no rule knows; conditional advice; fields left out; whole send results."""
    for kind in KINDS:
        yield {"kind": kind, "message": f"{kind} went wrong."}
        yield {"kind": kind, "message": ""}  # nothing to quote: no "...: ." in either
    yield {"kind": "timeout", "message": "no answer", "code": 421, "enhanced_code": "4.4.2", "reply": "timeout"}
    yield {"kind": "dns", "message": "no such host", "code": 550, "reply": "ignored"}
    for code, enhanced, text in [(550, "5.7.705", "tenant blocked"), (451, None, "later"), (554, "5.0.0", "nope."),
                                 (554, None, "no."), (550, "5.7.1", "Client host blocked using b.barracudacentral.org."),
                                 (554, None, "rejected, see spamhaus"), (550, "5.7.612", "banned"),
                                 (452, "4.3.4", "Message too big"), (538, None, "Encryption required"),
                                 (504, None, "Unrecognized authentication type"), (530, None, "Go away"),
                                 (550, "5.7.1", "Access denied"), (451, "4.7.499", "throttled"),
                                 (451, "4.7.700", "something else"), (535, "5.7.8", f"bad password {SECRET}")]:
        for kind in ["sender_rejected", "recipient_rejected", "data_rejected", "auth", "tls", "protocol"]:
            yield {"kind": kind, "message": "refused", "code": code, "enhanced_code": enhanced, "reply": text,
                   "from": "support@example.com"}
    yield {"kind": "sender_rejected", "code": 550, "enhanced_code": "5.7.60", "reply": "Send as denied"}
    yield {"kind": "sender_rejected", "code": "550", "enhanced_code": "", "reply": "not owned by user", "from": ""}
    yield {"kind": "recipient_rejected", "message": "refused", "cause": "throttled"}
    yield {"ok": False, "error": {"kind": "data_rejected", "message": "refused", "cause": "message_too_large",
                                  "stage": "message", "transient": False, "advice": []},
           "code": 552, "enhanced_code": "5.3.4", "reply": "Message size exceeds fixed limit"}
    yield {"ok": False, "error": {"kind": "recipient_rejected", "message": "refused"}, "code": 550,
           "enhanced_code": "5.1.1", "reply": "User unknown"}


COMPARE = r'''
define('ABSPATH', __DIR__);
require %s;
$out = [];
foreach (%s as $failure) {
    foreach (%s as $transport) {
        $got = [];
        foreach (['rust_mail_explain', 'RustMail_Explain_Classifier::explain'] as $explain) {
            try {
                $got[] = $explain($failure, $transport);
            } catch (Throwable $e) {
                $got[] = ['threw' => $e->getMessage()];
            }
        }
        $out[] = ['failure' => $failure, 'transport' => $transport, 'extension' => $got[0], 'plugin' => $got[1]];
    }
}
harness_print($out);
'''


def compare(php, failures, transports):
    run = php.run(COMPARE % (php.php_literal(str(AUTOLOAD)), php.php_literal(failures), php.php_literal(transports)),
                  timeout=300)
    return run.json()


def test_the_plugin_explains_every_real_reply_as_the_extension_does(php):
    failures = list(reply_failures())
    assert len(failures) >= 80
    results = compare(php, failures, TRANSPORTS)
    assert len(results) == len(failures) * len(TRANSPORTS)
    differ = [r for r in results if r["extension"] != r["plugin"]]
    assert not differ, "\n\n".join(f"{r['failure']} / {r['transport']}:\n  extension {r['extension']}\n  plugin    "
                                   f"{r['plugin']}" for r in differ[:10])
    assert not any("threw" in r["extension"] for r in results)
    # Every cause of the table's verdicts came out somewhere, with the transport's variants of the advice.
    assert {r["extension"]["cause"] for r in results} >= {cause for _, _, cause, _ in rows()} - {"starttls_required"}
    assert any("OAuth2" in a for r in results for a in r["plugin"]["advice"])
    assert any("Microsoft 365 allows" in a for r in results for a in r["plugin"]["advice"])


def test_the_plugin_explains_failures_without_a_reply_and_odd_ones_as_the_extension_does(php):
    failures = list(other_failures())
    results = compare(php, failures, TRANSPORTS)
    differ = [r for r in results if r["extension"] != r["plugin"]]
    assert not differ, "\n\n".join(f"{r['failure']} / {r['transport']}:\n  extension {r['extension']}\n  plugin    "
                                   f"{r['plugin']}" for r in differ[:10])
    explained = [r["extension"] for r in results if "threw" not in r["extension"]]
    assert len(explained) == len(results), [r for r in results if "threw" in r["extension"]][:3]
    # The transport's password, echoed in a reply, never comes back.
    with_password = [str(r["plugin"]) for r in results if r["transport"].get("password")]
    assert not any(SECRET in e for e in with_password) and any("[redacted]" in e for e in with_password)
    assert {e["cause"] for e in explained} >= {"dns_failed", "connection_refused", "port_blocked",
                                               "tls_handshake_failed", "auth_unavailable", "timeout", "unknown",
                                               "blocklisted", "message_too_large", "starttls_unavailable"}


def test_both_refuse_what_cannot_be_explained(php):
    failures = [{"message": "no kind"}, {"kind": "nonsense"}, {"kind": "auth", "code": 99},
                {"kind": "auth", "cause": "no_such_cause"}, {"ok": True, "error": None}]
    results = compare(php, failures, TRANSPORTS[:1]) + compare(php, [{"kind": "dns"}], [{"port": 25}])
    for r in results:
        assert "threw" in r["extension"] and "threw" in r["plugin"], r


CAUSES = r'''
define('ABSPATH', __DIR__);
require %s;
$replies = [];
foreach (%s as [$stage, $code, $enhanced, $text, $security]) {
    $replies[] = RustMail_Explain_Classifier::cause_of_reply($stage, $code, $enhanced, $text, $security);
}
$kinds = [];
foreach (%s as $kind) {
    $kinds[] = [RustMail_Explain_Classifier::cause_of_kind($kind), rust_mail_explain(['kind' => $kind], ['host' => 'h'])['cause']];
}
harness_print(['replies' => $replies, 'kinds' => $kinds]);
'''


def test_cause_of_reply_and_cause_of_kind_give_the_classifier_s_causes(php):
    table = list(rows())
    calls = []
    for _, stage, cause, line in table:
        code, enhanced, text = parse_reply(line)
        security = "none" if cause == "starttls_required" else "starttls"
        calls.append([ERROR_STAGE[stage], code, enhanced or "", text, security])
    run = php.run(CAUSES % (php.php_literal(str(AUTOLOAD)), php.php_literal(calls), php.php_literal(KINDS)))
    got = run.json()
    wrong = [(row, cause) for row, cause in zip(table, got["replies"]) if row[2] != cause]
    assert not wrong, wrong
    assert all(plugin == extension for plugin, extension in got["kinds"]), list(zip(KINDS, got["kinds"]))


def test_the_plugin_reads_the_export_build_sh_rules_writes():
    """./build.sh rules writes the exporter's output to the file the class reads (src/export.rs's own test fails
    when that file is stale against the Rust code)."""
    build = (ROOT / "build.sh").read_text()
    assert "--example export_rules > \"$out.tmp\"" in build and 'out="$ROOT/wp-plugin/data/classifier.json"' in build
    assert "dirname( __DIR__, 2 ) . '/data/classifier.json'" in DATA_CLASS.read_text()
    exported = subprocess.run(["cargo", "run", "--quiet", "--no-default-features", "--example", "export_rules"],
                              cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == EXPORT.read_text(), "wp-plugin/data/classifier.json is stale: run ./build.sh rules"
