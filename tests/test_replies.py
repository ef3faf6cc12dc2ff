"""Real reply lines of the providers WordPress sites send through (tests/replies.tsv, shared with the Rust unit test
of src/classify.rs), each scripted into a loopback server at the stage it answers, then sent through
rust_mail_send(), explained from the result's error with rust_mail_explain() (as from an old log row, without the
cause), and walked with rust_mail_diagnose(): all three must name the table's cause."""
import json
from pathlib import Path

import pytest

from harness.mail import CREDENTIALS, PASSWORD

TABLE = Path(__file__).resolve().parent / "replies.tsv"
SCRIPTED_STAGES = {"auth", "mail", "rcpt", "data"}


def rows():
    for line in TABLE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            provider, stage, cause, reply = line.split("\t", 3)
            yield provider, stage, cause, reply


def scripted(rows):
    """(row, replies for the server, message, transport fields, diagnose options), one address per row."""
    for i, (provider, stage, cause, reply) in enumerate(rows):
        sender, rcpt, user = f"s{i}@example.com", f"r{i}@example.com", f"u{i}@example.com"
        key = {"mail": f"mail:{sender}", "rcpt": f"rcpt:{rcpt}", "data": f"data:{rcpt}", "auth": f"auth:{user}"}[stage]
        transport = {"auth": "plain", "username": user, "password": PASSWORD} if stage == "auth" else {"auth": "none"}
        yield (provider, stage, cause, reply), {key: reply}, {"from": sender, "to": rcpt, "subject": "t", "text": "t"}, \
            transport, {"from": sender, "to": rcpt, "send_test": stage == "data"}


PHP = r'''
$cases = %s;
$out = [];
foreach ($cases as $case) {
    $transport = $case['transport'] + $case['base'];
    $sent = rust_mail_send($case['message'], $transport);
    $e = $sent['error'];
    $explained = rust_mail_explain(['kind' => $e['kind'], 'message' => $e['message'], 'code' => $sent['code'],
        'enhanced_code' => $sent['enhanced_code'], 'reply' => $sent['reply'], 'from' => $case['message']['from']], $transport);
    $walk = rust_mail_diagnose($transport, $case['options'] + ['timeout' => 10]);
    $out[] = ['send' => $e['cause'] ?? null, 'advice' => $e['advice'] ?? null, 'explain' => $explained['cause'],
              'walk' => $walk['verdict']['cause'], 'error' => $e, 'steps' => array_column($walk['steps'], 'status', 'name')];
}
harness_print($out);
'''


def test_every_reply_line_gets_the_same_cause_from_send_explain_and_walk(php, smtp_server):
    table = [row for row in rows() if row[1] in SCRIPTED_STAGES]
    assert len(table) >= 60, len(table)
    cases = list(scripted(table))
    replies = {k: v for _, r, _, _, _ in cases for k, v in r.items()}
    server = smtp_server(auth=CREDENTIALS, replies=replies)
    base = {"host": server.host, "port": server.port, "security": "none", "allow_insecure_auth": True,
            "pool": False, "timeout": 10}
    payload = [{"message": m, "transport": t, "options": o, "base": base} for _, _, m, t, o in cases]
    run = php.run(PHP % php.php_literal(payload), timeout=600)
    results = run.json()
    assert len(results) == len(cases), run.stdout[-2000:]
    failures = []
    for (row, *_), got in zip(cases, results):
        provider, stage, cause, reply = row
        seen = {"send": got["send"], "explain": got["explain"], "walk": got["walk"]}
        if set(seen.values()) != {cause}:
            failures.append(f"{provider} {stage} {reply!r}: expected {cause}, got {seen}; error {got['error']}")
        elif not (isinstance(got["advice"], list) and got["advice"] and all(isinstance(a, str) and a for a in got["advice"])):
            failures.append(f"{provider} {stage} {reply!r}: no advice in {got['error']}")
        failed = [name for name, status in got["steps"].items() if status == "fail"]
        expected_step = {"auth": "auth", "mail": "envelope", "rcpt": "envelope", "data": "send"}[stage]
        if failed != [expected_step]:
            failures.append(f"{provider} {stage} {reply!r}: the walk failed at {failed}, not {expected_step}")
    assert not failures, "\n".join(failures)
    assert server.messages == [], "a refused reply must deliver nothing"


def test_message_too_large_names_the_size_the_server_offered(php, smtp_server):
    server = smtp_server(replies={"data": "552 5.3.4 Message size exceeds fixed limit"})
    transport = {"host": server.host, "port": server.port, "security": "none", "pool": False, "timeout": 10}
    result, exception = php.call("rust_mail_send", {"from": "a@example.com", "to": "b@example.com", "text": "x"}, transport)
    assert exception is None
    error = result["error"]
    assert error["cause"] == "message_too_large", error
    # The harness server offers SIZE 52428800 in its EHLO reply.
    assert any("52428800 bytes" in a for a in error["advice"]), error


def test_blocklisted_names_the_list(php, smtp_server):
    reply = "554 5.7.1 Service unavailable; Client host [203.0.113.5] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/203.0.113.5"
    server = smtp_server(replies={"rcpt": reply})
    transport = {"host": server.host, "port": server.port, "security": "none", "pool": False, "timeout": 10}
    result, _ = php.call("rust_mail_send", {"from": "a@example.com", "to": "b@example.com", "text": "x"}, transport)
    assert result["error"]["cause"] == "blocklisted", result["error"]
    assert any("zen.spamhaus.org" in a for a in result["error"]["advice"]), result["error"]
    explained, _ = php.call("rust_mail_explain", {"kind": "recipient_rejected", "code": 554, "enhanced_code": "5.7.1",
                                                  "reply": reply[10:]}, transport)
    assert explained["cause"] == "blocklisted" and "zen.spamhaus.org" in explained["summary"], explained


def test_explain_takes_a_send_result_as_it_came_back(php, smtp_server, closed_port):
    """rust_mail_explain() is given what rust_mail_send() returned, whole; a result without an error is refused."""
    server = smtp_server(replies={"data": "554 5.7.1 Message rejected as spam"})
    transport = {"host": server.host, "port": server.port, "security": "none", "pool": False, "timeout": 10}
    refused = php.run(f"""
        $transport = {php.php_literal(transport)};
        $sent = rust_mail_send(['from' => 'a@example.com', 'to' => 'b@example.com', 'text' => 'x'], $transport);
        $down = rust_mail_send(['from' => 'a@example.com', 'to' => 'b@example.com', 'text' => 'x'],
                               ['port' => {closed_port}] + $transport);
        harness_print([$sent['error']['cause'], rust_mail_explain($sent, $transport)['cause'],
                       $down['error']['cause'], rust_mail_explain($down, $transport)['cause']]);
    """).json()
    assert refused[0] == refused[1] and refused[2] == refused[3] and refused[0] != refused[2], refused
    ok_server = smtp_server()
    ok_transport = {**transport, "port": ok_server.port}
    sent, _ = php.call("rust_mail_send", {"from": "a@example.com", "to": "b@example.com", "text": "x"}, ok_transport)
    assert sent["ok"] is True
    _, error = php.call("rust_mail_explain", sent, ok_transport)
    assert "the send succeeded, there is nothing to explain" in json.dumps(error), error
