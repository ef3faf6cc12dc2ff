"""rust_mail_send() inside PHP-FPM: the extension is loaded by the master before it
forks, so every worker inherits it (and whatever it set up at load time)."""
import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness import fastcgi
from harness.fpm import PhpFpm
from harness.php import extension_path

REQUESTS = 12
SEND_SCRIPT = """<?php
$result = rust_mail_send(
    ['from' => 'fpm@example.com', 'to' => 'rcpt@example.com',
     'subject' => 'from fpm ' . $_GET['n'], 'text' => 'sent by worker ' . getmypid()],
    ['host' => '127.0.0.1', 'port' => (int) $_GET['port'], 'security' => 'none', 'timeout' => 10]);
header('Content-Type: application/json');
echo json_encode(['pid' => getmypid(), 'ok' => $result['ok'], 'error' => $result['error'],
                  'reused' => $result['reused_connection']]);
"""


@pytest.fixture
def fpm(tmp_path):
    server = PhpFpm(tmp_path, extension_path(), workers=3)
    yield server
    server.stop()


def test_extension_is_loaded_by_the_master_before_fork(fpm):
    so = os.path.realpath(extension_path())
    assert so in fpm.maps_of(fpm.master_pid), "the FPM master did not load the extension"
    workers = fpm.worker_pids()
    assert len(workers) == 3
    for pid in workers:
        assert so in fpm.maps_of(pid)


def test_sends_from_several_fpm_workers(fpm, smtp_server, tmp_path):
    server = smtp_server()
    script = tmp_path / "send.php"
    script.write_text(SEND_SCRIPT)

    def one_request(n):
        response = fastcgi.request(fpm.address, str(script), f"n={n}&port={server.port}")
        assert response.status == 200, (response.body, response.stderr, fpm.log())
        return json.loads(response.body)

    # Three requests in flight at a time keep all three workers busy.
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(one_request, range(REQUESTS)))

    assert all(a["ok"] is True for a in answers), answers
    pids = {a["pid"] for a in answers}
    assert len(pids) >= 2, f"only worker(s) {pids} served the requests"
    assert pids <= set(fpm.worker_pids())
    assert sorted(m.message["Subject"] for m in server.messages) == sorted(f"from fpm {n}" for n in range(REQUESTS))
    bodies = {m.message.get_content().strip() for m in server.messages}
    assert bodies == {f"sent by worker {pid}" for pid in pids}
