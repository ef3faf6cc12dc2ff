"""Postfix's smtp-sink: a fast SMTP server that accepts and discards, for load and benchmarks."""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

from .smtpserver import free_port


def wait_for_port(host, port, seconds=10, process=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        try:
            socket.create_connection((host, port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port} after {seconds}s")


def find_smtp_sink():
    for candidate in (shutil.which("smtp-sink"), "/usr/sbin/smtp-sink", "/usr/lib/postfix/sbin/smtp-sink"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("smtp-sink not found: install the postfix package")


class SmtpSink:
    def __init__(self):
        self.host = "127.0.0.1"
        self.port = free_port()
        # -c writes running counters ("sess=N quit=N mesg=N", CR-separated) to stdout.
        self._counters = tempfile.TemporaryFile()
        # -u nobody: smtp-sink refuses to run as root; 1000: listen backlog.
        self._process = subprocess.Popen(
            [find_smtp_sink(), "-u", "nobody", "-c", f"{self.host}:{self.port}", "1000"],
            stdout=self._counters, stderr=subprocess.DEVNULL)
        wait_for_port(self.host, self.port, process=self._process)
        # The readiness probe above was a session too: count from after it.
        self._probe = {"sess": 0, "quit": 0, "mesg": 0}
        deadline = time.monotonic() + 10
        while self.counts()["sess"] < 1 and time.monotonic() < deadline:  # the probe sends no QUIT
            time.sleep(0.02)
        self._probe = self.counts()

    def counts(self):
        """{"sess": connections, "quit": QUITs, "mesg": messages accepted} since start."""
        self._counters.seek(0)
        found = re.findall(rb"sess=(\d+) quit=(\d+) mesg=(\d+)", self._counters.read())
        totals = dict(zip(("sess", "quit", "mesg"), map(int, found[-1]))) if found else {"sess": 0, "quit": 0, "mesg": 0}
        return {key: totals[key] - self._probe[key] for key in totals}

    def stop(self):
        self._process.terminate()
        self._process.wait(5)
        self._counters.close()
