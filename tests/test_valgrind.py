"""The PHP binding under valgrind's memcheck: the PHP API tests (php/tests/*.phpt through PHP's run-tests.php), real
sends to a loopback SMTP server and a diagnose of it, with no invalid memory access reported.

Zend's allocator is switched off (USE_ZEND_ALLOC=0) so that memcheck sees every allocation PHP makes, and modules stay
mapped at shutdown (ZEND_DONT_UNLOAD_MODULES=1) so that a report can still name the extension's functions. PCRE's JIT
is off (pcre.jit=0): memcheck cannot follow the machine code it generates and reports its reads of PHP's strings as
uninitialised. Leaks are not checked: the runtime and the connection pool are meant to live as long as the process.

TLS is left out: memcheck cannot follow ring's hand-written SHA-2 assembly, so every digest rustls computes (and the
keys and records derived from it) is reported as uninitialised, origin a stack buffer in rustls's
hash::Context::fork_finish, although the server accepts those records. That code is linked into rust_mail, and nothing
in rust_mail is suppressed; README.md's "Hardening runs" says how to see it."""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from harness.php import PHPLIB, extension_path

# In the soak tier (pytest -m soak): everything under valgrind, slow by tens.
pytestmark = pytest.mark.soak

REPO = Path(__file__).resolve().parent.parent
PHPT_DIR = REPO / "php" / "tests"
MEMCHECK_ENV = {"USE_ZEND_ALLOC": "0", "ZEND_DONT_UNLOAD_MODULES": "1"}
NO_PCRE_JIT = ["-d", "pcre.jit=0"]


def memcheck(log_file):
    return ["valgrind", "--tool=memcheck", "--error-exitcode=99", "--leak-check=no",
            f"--log-file={log_file}"]


def assert_no_errors(log_files):
    assert log_files, "valgrind wrote no log: nothing ran under it"
    for log in log_files:
        text = Path(log).read_text()
        assert "ERROR SUMMARY: 0 errors" in text, f"{log}:\n{text}"


def test_php_api_tests_under_memcheck(tmp_path):
    # run-tests.php runs every PHP it starts (the tests and its own probes) through this wrapper. Its probe of the
    # loadable extensions would dl() each one in the system's extension_dir, and PHP 8.2 reads a dl()-loaded
    # module's classes after freeing them at shutdown (destroy_zend_class): an empty extension_dir leaves nothing to
    # dl(), and rust_mail, given by its full path, loads as before.
    wrapper = tmp_path / "php-under-memcheck"
    empty_extension_dir = tmp_path / "no-extensions"
    empty_extension_dir.mkdir()
    command = " ".join(memcheck(tmp_path / "memcheck.%p.log"))
    env_assignments = " ".join(f"{k}={v}" for k, v in MEMCHECK_ENV.items())
    php_options = " ".join([*NO_PCRE_JIT, "-d", f"extension_dir={empty_extension_dir}"])
    wrapper.write_text(f'#!/bin/sh\n{env_assignments} exec {command} /usr/bin/php {php_options} "$@"\n')
    wrapper.chmod(0o755)
    runner = sorted(Path("/usr/lib/php").glob("*/build/run-tests.php"))[0]
    run = subprocess.run(
        ["php", "-n", str(runner), "-n", "-q", "--show-diff", "-d", f"extension={extension_path()}", str(PHPT_DIR)],
        env={**os.environ, "TEST_PHP_EXECUTABLE": str(wrapper), "NO_INTERACTION": "1", "REPORT_EXIT_STATUS": "1"},
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    passed = re.search(r"Tests passed\s*:\s*(\d+)", run.stdout)
    assert passed and int(passed.group(1)) == len(list(PHPT_DIR.glob("*.phpt"))), run.stdout
    assert_no_errors(list(tmp_path.glob("memcheck.*.log")))


SEND_AND_DIAGNOSE = """
$message = ['from' => 'valgrind@example.com', 'to' => 'rcpt@example.com', 'subject' => 'under memcheck',
            'text' => "checked by valgrind\\n", 'attachments' => [['content' => 'a,b', 'name' => 'x.csv']]];
$transport = ['host' => '127.0.0.1', 'port' => %(port)d, 'security' => 'none', 'timeout' => 60];
$sends = [rust_mail_send($message, $transport), rust_mail_send($message, $transport)];
$diagnosis = rust_mail_diagnose($transport, ['from' => 'valgrind@example.com', 'to' => 'rcpt@example.com']);
harness_print(['sends' => array_map(fn ($r) => [$r['ok'], $r['error'], $r['reused_connection']], $sends),
               'cause' => $diagnosis['verdict']['cause']]);
"""


def test_real_send_and_diagnose_under_memcheck(php, smtp_server, tmp_path):
    server = smtp_server(pipelining=True)
    script = tmp_path / "send.php"
    script.write_text(f"<?php\nrequire {json.dumps(str(PHPLIB))};\n" + SEND_AND_DIAGNOSE % {"port": server.port})
    log = tmp_path / "memcheck.log"
    run = subprocess.run([*memcheck(log), *php.command(*NO_PCRE_JIT, str(script))], env={**os.environ, **MEMCHECK_ENV},
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr + log.read_text()
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    # The second send went over the pooled connection of the first.
    assert answer == {"sends": [[True, None, False], [True, None, True]], "cause": "ok"}
    assert [m.message["Subject"] for m in server.messages] == ["under memcheck", "under memcheck"]
    assert server.messages[0].message.get_payload(1).get_content() == "a,b"
    assert_no_errors([log])
