"""A private PHP-FPM master with the extension loaded at startup (before it forks its workers)."""
import os
import shutil
import subprocess
from pathlib import Path

from .ports import spawn_listening, start_on_a_port

POOL_CONFIG = """
[global]
pid = {dir}/fpm.pid
error_log = {dir}/fpm.log
daemonize = no

[rustmail]
user = root
group = root
listen = 127.0.0.1:{port}
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
        self.host = "127.0.0.1"
        config = self.dir / "fpm.conf"
        # -n: no system php.ini, so the extension comes only from -d, which the master
        # applies at startup; -R: allow running as root; -F: stay in the foreground.
        load = ["-d", f"extension={extension_so}"] if extension_so else []

        def start(port):
            config.write_text(POOL_CONFIG.format(dir=self.dir, port=port, workers=workers))
            return spawn_listening([find_php_fpm(), "-n", *load, "-y", str(config), "-R", "-F"], self.host, port,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        self.port, self._process = start_on_a_port(start, self.host)
        self.master_pid = self._process.pid

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
