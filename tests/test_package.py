"""`./build.sh package`: the plugin zip a site owner uploads, with the extension built for this PHP inside."""
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

# In the soak tier (pytest -m soak): it builds the package.
pytestmark = pytest.mark.soak

REPO = Path(__file__).resolve().parent.parent


def test_package_holds_the_plugin_its_rules_and_a_loadable_extension(tmp_path):
    run = subprocess.run([str(REPO / "build.sh"), "package"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    # One zip per PHP; this machine's is the one checked here.
    archives = [Path(line.split(" ", 2)[2]) for line in run.stdout.splitlines() if line.startswith("== packaged ")]
    [archive] = [path for path in archives if path.name.endswith("-php8.2.zip")]
    with zipfile.ZipFile(archive) as z:
        names = set(z.namelist())
        z.extractall(tmp_path)
    # One top folder, as WordPress's "Upload Plugin" expects; nothing from the tests.
    assert {name.split("/", 1)[0] for name in names} == {"rust-mail"}
    for needed in ["rust-mail/rust-mail.php", "rust-mail/readme.txt", "rust-mail/uninstall.php",
                   "rust-mail/data/classifier.json", "rust-mail/src/Transport/PhpMailer.php",
                   "rust-mail/extension/rust_mail.so", "rust-mail/extension/README.txt"]:
        assert needed in names, needed
    assert not [name for name in names if "mu-plugins" in name or name.endswith(".py")]
    packaged = tmp_path / "rust-mail" / "extension" / "rust_mail.so"
    assert packaged.read_bytes() == (REPO / "target" / "release" / "librust_mail.so").read_bytes()
    assert "extension=" in (tmp_path / "rust-mail" / "extension" / "README.txt").read_text()
    # The documented check: PHP loads it and lists it.
    modules = subprocess.run(["/usr/bin/php8.2", "-n", "-d", f"extension={packaged}", "-m"], capture_output=True,
                             text=True, env=dict(os.environ, PHP_INI_SCAN_DIR=""), timeout=60)
    assert "rust_mail" in modules.stdout.split(), modules.stdout + modules.stderr
