"""Runs the real PHP CLI with the extension under test loaded."""
import base64
import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HARNESS_DIR = Path(__file__).resolve().parent
PHPCALL = HARNESS_DIR / "phpcall.php"
PHPLIB = HARNESS_DIR / "phplib.php"


def to_php(value):
    """bytes -> {"__b64": ...}, recursively, so binary data survives JSON."""
    if isinstance(value, bytes):
        return {"__b64": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: to_php(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_php(v) for v in value]
    return value


def from_php(value):
    if isinstance(value, dict):
        if set(value) == {"__b64"}:
            return base64.b64decode(value["__b64"])
        return {k: from_php(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_php(v) for v in value]
    return value


def extension_path():
    so = os.environ.get("RUST_MAIL_SO")
    if not so:
        raise RuntimeError("RUST_MAIL_SO is not set: point it at target/release/librust_mail.so")
    if not os.path.isfile(so):
        raise RuntimeError(f"RUST_MAIL_SO={so} does not exist: build the extension first")
    return so


EXAMPLES = Path(__file__).resolve().parents[2] / "php" / "examples"


def run_example(script, *args, env=None):
    """Runs php/examples/<script> from a shell as a developer would, with the built extension."""
    return subprocess.run(["php", "-n", "-d", f"extension={extension_path()}", str(EXAMPLES / script), *args],
                          env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=60)


@dataclass
class PhpRun:
    returncode: int
    stdout: str
    stderr: str
    elapsed: float   # wall-clock seconds of the whole php process

    def json(self):
        """The value the snippet printed with harness_print() (its last stdout line)."""
        lines = self.stdout.strip().splitlines()
        if self.returncode != 0 or not lines:
            raise AssertionError(f"php failed (exit {self.returncode})\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}")
        return from_php(json.loads(lines[-1]))


class PhpRunner:
    def __init__(self, extension_so, ini=None):
        self.extension_so = extension_so
        self.ini = dict(ini or {})
        self.last_elapsed = None

    def with_ini(self, **ini):
        """The same runner with more php.ini settings (-d name=value), e.g. open_basedir."""
        return PhpRunner(self.extension_so, {**self.ini, **ini})

    def command(self, *args):
        load = ["-d", f"extension={self.extension_so}"] if self.extension_so else []
        settings = [arg for name, value in self.ini.items() for arg in ("-d", f"{name}={value}")]
        return ["php", "-n", *load, "-d", "display_errors=stderr", "-d", "error_reporting=-1", *settings, *args]

    def _execute(self, args, stdin, timeout):
        started = time.monotonic()
        completed = subprocess.run(self.command(*args), input=stdin, capture_output=True,
                                   text=True, timeout=timeout)
        self.last_elapsed = time.monotonic() - started
        return PhpRun(completed.returncode, completed.stdout, completed.stderr, self.last_elapsed)

    def call(self, fn, *args, timeout=60):
        """Calls fn(*args) in a fresh php process; returns (result, exception or None)."""
        request = json.dumps({"fn": fn, "args": to_php(list(args))})
        answer = self._execute([str(PHPCALL)], request, timeout).json()
        return answer["result"], answer["exception"]

    def call_many(self, calls, timeout=60):
        """Makes each call, (fn, args), in turn in ONE php process; returns [(result, exception or None)] in order.
        For calls that share nothing but the process's start-up cost."""
        request = json.dumps({"calls": [{"fn": fn, "args": to_php(list(args))} for fn, args in calls]})
        answers = self._execute([str(PHPCALL)], request, timeout).json()
        return [(answer["result"], answer["exception"]) for answer in answers]

    def run(self, code, timeout=120):
        """Runs a PHP snippet (without <?php); phplib.php's harness_* helpers are available."""
        with tempfile.NamedTemporaryFile("w", suffix=".php", delete=False) as script:
            script.write(f"<?php\nrequire {json.dumps(str(PHPLIB))};\n{code}\n")
        try:
            return self._execute([script.name], "", timeout)
        finally:
            os.unlink(script.name)

    def php_literal(self, value):
        """A PHP expression for a JSON-able Python value (bytes allowed), for building snippets."""
        encoded = base64.b64encode(json.dumps(to_php(value)).encode()).decode()
        return f"harness_decode(json_decode(base64_decode('{encoded}'), true))"
