"""Promises pinned from what the SERVER received, not from the client's own transcript (issue 12):

- Pipelining (RFC 2920): with PIPELINING offered, MAIL FROM, every RCPT TO and DATA (or `BDAT <n> LAST` with
  CHUNKING) leave in one flight: the test server holds its reply to MAIL FROM until DATA or BDAT has arrived
  behind it (ServerConfig.hold_mail_reply), so a client that waited for any reply would stall the hold until it
  times out, and the test fails. Without PIPELINING, the client waits for each reply: nothing arrives behind
  MAIL FROM before the server answers it, and every command comes after the reply to the one before.
- Pooling under PHP-FPM: N static workers serving many requests open at most N connections to the server, one
  per worker, each carrying only its worker's mail; with `pool => false`, one connection (and a QUIT) per message.
- An authenticated pooled connection belongs to one username and password: another username, or the same one
  with a changed password, gets a connection and a login of its own; the same credentials again reuse the
  connection without logging in again (in one PHP process, and across requests of a PHP-FPM worker).
"""
import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness import fastcgi
from harness.fpm import PhpFpm
from harness.mail import compose, describe, send_sequence, tls_transport, transport_for
from harness.php import extension_path
from harness.smtpserver import HeldReply

HOLD = 2.0        # seconds the server holds MAIL's reply for a pipelining client (it is released at once)
WAIT = 1.0        # ... for a client that waits for each reply (the hold must time out)
RECIPIENTS = ["a@example.com", "b@example.com", "c@example.com"]


def order_of_arrival(server):
    """The server's log as (who, verb) for the transaction commands and replies, in the order the server
    received the commands and sent the replies."""
    events = []
    for line in server.session_log:
        if line.startswith("S: "):
            events.append(("server", line[3:6]))
        elif line.startswith("C: ") and line[3:].upper().startswith(("MAIL FROM:", "RCPT TO:", "DATA", "BDAT ")):
            events.append(("client", line[3:].split(":")[0].split(" ")[0].upper()))
    return events


def answered_before_next_command(server):
    """Whether each MAIL and RCPT was answered before the server received the next command."""
    events = order_of_arrival(server)
    return all(events[i + 1][0] == "server" for i, (who, verb) in enumerate(events) if who == "client"
               and verb in ("MAIL", "RCPT"))


# ---------------------------------------------------------------- pipelining, seen by the server

@pytest.mark.parametrize("server_chunking, transport_chunking, last", [
    (False, True, "DATA"),
    (True, True, "BDAT"),
    (True, False, "DATA"),
])
def test_pipelining_server_receives_the_whole_envelope_before_it_answers_mail(php, smtp_server, server_chunking,
                                                                              transport_chunking, last):
    server = smtp_server(pipelining=True, chunking=server_chunking, hold_mail_reply=HOLD)
    transport = transport_for(server, chunking=transport_chunking)
    results = send_sequence(php, [(compose(to=RECIPIENTS, subject=f"pipelined {n}"), transport) for n in range(2)])

    assert [r["reused_connection"] for r in results] == [False, True]
    assert [m.message["Subject"] for m in server.messages] == ["pipelined 0", "pipelined 1"]
    envelope = [f"RCPT TO:<{r}>" for r in RECIPIENTS]
    expected = []
    for message in server.messages:
        assert message.rcpt_tos == RECIPIENTS and message.connection == 1
        # BDAT's size is what the server then read as the message: the chunk followed the line in the same flight.
        expected.append(HeldReply(1, envelope + ["DATA" if last == "DATA" else f"BDAT {len(message.raw)} LAST"],
                                  timed_out=False))
    # Both sends, the fresh connection's and the pooled one's: every RCPT and the DATA or BDAT line had reached
    # the server before it answered MAIL FROM.
    assert server.held == expected, "\n".join(server.session_log)
    assert not answered_before_next_command(server)
    assert server.commands().count("BDAT" if last == "BDAT" else "DATA") == 2


@pytest.mark.parametrize("chunking", [False, True])
def test_without_pipelining_the_server_answers_each_command_before_the_next_arrives(php, smtp_server, chunking):
    server = smtp_server(chunking=chunking, hold_mail_reply=WAIT)
    results = send_sequence(php, [(compose(to=RECIPIENTS, subject="one at a time"), transport_for(server))])

    assert results[0]["accepted"] == RECIPIENTS
    assert [(m.message["Subject"], m.rcpt_tos) for m in server.messages] == [("one at a time", RECIPIENTS)]
    # The client waited for MAIL's reply: nothing had arrived behind MAIL FROM when the hold ran out.
    assert server.held == [HeldReply(1, [], timed_out=True)], "\n".join(server.session_log)
    assert answered_before_next_command(server), order_of_arrival(server)
    verb = "BDAT" if chunking else "DATA"
    assert [v for who, v in order_of_arrival(server) if who == "client"] == ["MAIL", "RCPT", "RCPT", "RCPT", verb]


# ---------------------------------------------------------------- pooling under PHP-FPM, counted by the server

WORKERS = 2
REQUESTS = 20
FPM_SEND = """<?php
$result = rust_mail_send(
    ['from' => 'fpm@example.com', 'to' => 'rcpt@example.com',
     'subject' => 'request ' . $_GET['n'], 'text' => 'worker ' . getmypid()],
    ['host' => '127.0.0.1', 'port' => (int) $_GET['port'], 'security' => 'none', 'timeout' => 10,
     'pool' => $_GET['pool'] === '1']);
header('Content-Type: application/json');
echo json_encode(['pid' => getmypid(), 'ok' => $result['ok'], 'error' => $result['error'],
                  'reused' => $result['reused_connection']]);
"""


@pytest.fixture
def fpm_pool(tmp_path):
    """Factory: fpm_pool(workers) -> a started PHP-FPM master (pm=static) with the extension; stopped at teardown."""
    started = []

    def start(workers):
        directory = tmp_path / f"fpm{len(started)}"
        directory.mkdir()
        started.append(PhpFpm(directory, extension_path(), workers=workers))
        return started[-1]

    yield start
    for fpm in started:
        fpm.stop()


def fpm_get(fpm, script, query):
    response = fastcgi.request(fpm.address, str(script), query)
    assert response.status == 200, (response.body, response.stderr, fpm.log())
    return json.loads(response.body)


@pytest.mark.parametrize("pool", [True, False])
def test_fpm_workers_keep_one_pooled_connection_each(fpm_pool, smtp_server, tmp_path, pool):
    fpm = fpm_pool(WORKERS)
    server = smtp_server()
    script = tmp_path / "send.php"
    script.write_text(FPM_SEND)

    # Two requests in flight at a time keep both workers busy.
    with ThreadPoolExecutor(max_workers=WORKERS) as requests:
        answers = list(requests.map(
            lambda n: fpm_get(fpm, script, f"n={n}&port={server.port}&pool={int(pool)}"), range(REQUESTS)))

    assert all(a["ok"] for a in answers), answers
    pids = {a["pid"] for a in answers}
    assert pids <= set(fpm.worker_pids()) and len(pids) == WORKERS, f"worker(s) {pids} served the requests"
    assert sorted(m.message["Subject"] for m in server.messages) == sorted(f"request {n}" for n in range(REQUESTS))
    # Which worker's mail each connection carried, from the bodies the server received.
    workers_of = {}
    for message in server.messages:
        workers_of.setdefault(message.connection, set()).add(message.message.get_content().strip())
    assert all(len(workers) == 1 for workers in workers_of.values()), workers_of

    if pool:
        assert server.connections == len(pids) <= WORKERS, f"{server.connections} connections for {len(pids)} workers"
        assert sorted(w.pop() for w in workers_of.values()) == sorted(f"worker {pid}" for pid in pids)
        assert sum(not a["reused"] for a in answers) == server.connections
        assert server.commands().count("QUIT") == 0, "a pooled connection stays open for the next request"
    else:
        assert server.connections == REQUESTS
        assert Counter(m.connection for m in server.messages) == Counter(range(1, REQUESTS + 1))
        assert not any(a["reused"] for a in answers)
        assert server.commands().count("QUIT") == REQUESTS


# ---------------------------------------------------------------- a pooled login belongs to its credentials

ALICE, BOB = "alice@example.com", "bob@example.com"
ALICE_OLD, ALICE_NEW, BOB_PASSWORD = "alice-Old-pa55", "alice-New-pa55", "bob-Pa55-word"
# The server takes both of Alice's passwords, so nothing but the pool decides whether she logs in again, and it
# records which of them each login used.
ACCOUNTS = {"passwords": {ALICE: [ALICE_OLD, ALICE_NEW], BOB: [BOB_PASSWORD]}}
FPM_STEP = """<?php
[$message, $transport] = json_decode(file_get_contents(__DIR__ . '/steps.json'), true)[(int) $_GET['i']];
$result = rust_mail_send($message, $transport);
header('Content-Type: application/json');
echo json_encode(['pid' => getmypid(), 'ok' => $result['ok'], 'error' => $result['error'],
                  'reused_connection' => $result['reused_connection']]);
"""


@pytest.mark.parametrize("where", ["one php process", "php-fpm worker"])
def test_pooled_login_is_reused_only_with_the_same_username_and_password(php, smtp_server, certs, fpm_pool,
                                                                          tmp_path, where):
    server = smtp_server(tls="starttls", auth=ACCOUNTS)
    sends = [("1 alice", ALICE, ALICE_OLD), ("2 bob", BOB, BOB_PASSWORD), ("3 alice, new password", ALICE, ALICE_NEW),
             ("4 alice, same again", ALICE, ALICE_NEW), ("5 bob again", BOB, BOB_PASSWORD)]
    steps = [(compose(subject=subject), tls_transport(server, certs, auth="plain", username=user, password=password))
             for subject, user, password in sends]

    if where == "one php process":
        results = send_sequence(php, steps)
    else:
        fpm = fpm_pool(1)   # one worker: every request meets the pool the previous ones left
        (tmp_path / "steps.json").write_text(json.dumps(steps))
        script = tmp_path / "step.php"
        script.write_text(FPM_STEP)
        results = [fpm_get(fpm, script, f"i={i}") for i in range(len(steps))]
        assert all(r["ok"] for r in results), [describe(r) for r in results]
        assert len({r["pid"] for r in results}) == 1

    # (connection, user, which of the user's passwords) of every login the server saw.
    logins = [(a.connection, a.user, a.password_index, a.success) for a in server.auth_attempts]
    assert logins == [(1, ALICE, 0, True), (2, BOB, 0, True), (3, ALICE, 1, True)], \
        "Bob, and Alice with her new password, each log in on a connection of their own; nobody logs in twice"
    assert server.connections == 3
    assert [(m.message["Subject"], m.connection, m.auth_user) for m in server.messages] == [
        ("1 alice", 1, ALICE), ("2 bob", 2, BOB), ("3 alice, new password", 3, ALICE),
        ("4 alice, same again", 3, ALICE), ("5 bob again", 2, BOB)]
    assert [r["reused_connection"] for r in results] == [False, False, False, True, True]
