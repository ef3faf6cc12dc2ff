"""Postfix's smtp-sink: a fast SMTP server that accepts and discards, for load and benchmarks."""
import os
import re
import shutil
import subprocess
import tempfile

from .ports import spawn_listening, start_on_a_port


def find_smtp_sink():
    for candidate in (shutil.which("smtp-sink"), "/usr/sbin/smtp-sink", "/usr/lib/postfix/sbin/smtp-sink"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("smtp-sink not found: install the postfix package")


class SmtpSink:
    def __init__(self):
        self.host = "127.0.0.1"
        # -c writes running counters ("sess=N quit=N mesg=N", CR-separated) to stdout.
        self._counters = tempfile.TemporaryFile()
        # -u nobody: smtp-sink refuses to run as root; 1000: listen backlog.
        self.port, self._process = start_on_a_port(lambda port: spawn_listening(
            [find_smtp_sink(), "-u", "nobody", "-c", f"{self.host}:{port}", "1000"], self.host, port,
            stdout=self._counters, stderr=subprocess.DEVNULL))

    def counts(self):
        """{"sess": connections, "quit": QUITs, "mesg": messages accepted} since start."""
        self._counters.seek(0)
        found = re.findall(rb"sess=(\d+) quit=(\d+) mesg=(\d+)", self._counters.read())
        return dict(zip(("sess", "quit", "mesg"), map(int, found[-1]))) if found else {"sess": 0, "quit": 0, "mesg": 0}

    def stop(self):
        self._process.terminate()
        self._process.wait(5)
        self._counters.close()
