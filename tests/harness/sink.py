"""Postfix's smtp-sink: a fast SMTP server that accepts and discards, for load and benchmarks."""
import os
import shutil
import socket
import subprocess
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
        # -u nobody: smtp-sink refuses to run as root; 1000: listen backlog.
        self._process = subprocess.Popen(
            [find_smtp_sink(), "-u", "nobody", "-c", f"{self.host}:{self.port}", "1000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.host, self.port, process=self._process)

    def stop(self):
        self._process.terminate()
        self._process.wait(5)
