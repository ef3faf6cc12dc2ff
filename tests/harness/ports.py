"""Ports for the test servers, with no window in which another process can take one.

A server the tests write in Python binds port 0 and reports the port the kernel gave it (`.port`). A daemon that
must be told its port (on its command line or in its config) and cannot report one is started by
`start_on_a_port`: on a candidate port first and, if it does not come up because another process holds that port
(tests run in parallel processes, each starting servers), on another one. `closed_port` is a port where nothing
listens, kept so for as long as a test needs it.
"""
import contextlib
import errno
import glob
import os
import random
import socket
import subprocess
import time
from pathlib import Path

ATTEMPTS = 5


def start_on_a_port(start, host="127.0.0.1", first=None, attempts=ATTEMPTS):
    """Calls `start(port)`, which starts a daemon on host:`port` and returns once the daemon listens there, or raises
    with nothing of its own left on the port. When it raised and another process holds the port, it is called again
    with another port, `attempts` times in all; any other failure is raised at once. `first`: the port to try first
    (by default one chosen at random). Returns (port, what `start` returned)."""
    port = first or _candidate()
    for attempt in range(1, attempts + 1):
        try:
            return port, start(port)
        except Exception:
            if attempt == attempts or not held_by_another_process(host, port):
                raise
        port = _candidate()


def _candidate():
    """A random port below the kernel's ephemeral range: the kernel hands none of those out (to bind() on port 0 or
    to an outgoing connection), so only a daemon told such a port can hold it."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as ranges:
        ephemeral_low = int(ranges.read().split()[0])
    return random.randrange(10000, max(ephemeral_low, 20000))


def held_by_another_process(host, port):
    """Whether a socket holds host:`port`, in TCP or in UDP (dnsmasq needs both). Asked once the daemon that was to
    listen there has gone, so the holder is another process."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            if kind == socket.SOCK_STREAM:
                # As the daemons bind: a connection left in TIME_WAIT on the port does not count.
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    return True
    return False


def spawn_listening(command, host, port, seconds=10, **popen):
    """Runs `command`, a daemon in the foreground told to listen on host:`port`, and returns its Popen once it (or a
    process it started) listens there. If it exits first, or does not listen within `seconds`, it is stopped and
    RuntimeError raised. Not a connect: that succeeds too when another process listens on the port."""
    process = subprocess.Popen(command, **popen)
    deadline = time.monotonic() + seconds
    while not _listens(process.pid, port):
        if process.poll() is not None:
            raise RuntimeError(f"{command[0]} exited with {process.returncode} before listening on {host}:{port}")
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise RuntimeError(f"{command[0]} does not listen on {host}:{port} after {seconds}s")
        time.sleep(0.05)
    return process


def _listens(pid, port):
    """Whether process `pid` or one of its descendants has a TCP socket listening on `port`."""
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()  # sl local_address rem_address st ... inode
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    listening.add(f"socket:[{fields[9]}]")
    if not listening:
        return False
    tree = [pid]
    for member in tree:
        for children in glob.glob(f"/proc/{member}/task/*/children"):
            with contextlib.suppress(OSError):
                tree += [int(child) for child in Path(children).read_text().split()]
    for member in tree:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{member}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{member}/fd/{fd}") in listening:
                        return True
    return False


@contextlib.contextmanager
def closed_port(host="127.0.0.1"):
    """A port on `host` where nothing listens, so a connect there is refused, for the `with` block: a socket keeps
    it bound and never listens, so no other process can take it and listen there meanwhile."""
    with socket.socket() as holder:
        holder.bind((host, 0))
        yield holder.getsockname()[1]

