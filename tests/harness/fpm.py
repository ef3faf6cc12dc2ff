"""A private PHP-FPM master with the extension loaded at startup (before it forks its workers).

It listens on a Unix socket (`address`, for fastcgi.request()), as a web server on the same machine often talks
to it: FPM refuses port 0, and a socket file needs no free port guessed beforehand."""
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

POOL_CONFIG = """
[global]
pid = {dir}/fpm.pid
error_log = {dir}/fpm.log
daemonize = no

[rustmail]
user = root
group = root
listen = {socket}
pm = static
pm.max_children = {workers}
catch_workers_output = yes
"""


def find_php_fpm():
    for candidate in ("php-fpm8.2", "php-fpm"):
        path = shutil.which(candidate) or shutil.which(candidate, path="/usr/sbin")
        if path:
            return path
    raise RuntimeError("php-fpm not found: install php8.2-fpm")


class PhpFpm:
    def __init__(self, directory, extension_so, workers=3):
        self.dir = Path(directory)
        # A socket path has at most 107 bytes, which pytest's tmp_path can exceed: a short directory of its own.
        self._socket_dir = tempfile.mkdtemp(prefix="fpm-")
        self.address = f"{self._socket_dir}/fpm.sock"   # for fastcgi.request()
        config = self.dir / "fpm.conf"
        config.write_text(POOL_CONFIG.format(dir=self.dir, socket=self.address, workers=workers))
        # -n: no system php.ini, so the extension comes only from -d, which the master
        # applies at startup; -R: allow running as root; -F: stay in the foreground.
        load = ["-d", f"extension={extension_so}"] if extension_so else []
        self._process = subprocess.Popen(
            [find_php_fpm(), "-n", *load, "-y", str(config), "-R", "-F"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_until_listening()
        self.master_pid = self._process.pid

    def _wait_until_listening(self, seconds=10):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"php-fpm exited with {self._process.returncode}:\n{self.log()}")
            try:
                with socket.socket(socket.AF_UNIX) as probe:
                    probe.connect(self.address)
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"php-fpm is not listening on {self.address} after {seconds}s:\n{self.log()}")

    def worker_pids(self):
        children = Path(f"/proc/{self.master_pid}/task/{self.master_pid}/children").read_text().split()
        return sorted(int(pid) for pid in children)

    def maps_of(self, pid):
        return Path(f"/proc/{pid}/maps").read_text()

    def log(self):
        path = self.dir / "fpm.log"
        return path.read_text() if path.exists() else ""

    def stop(self):
        self._process.terminate()
        self._process.wait(10)
        shutil.rmtree(self._socket_dir, ignore_errors=True)
