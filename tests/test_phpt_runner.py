"""tests/harness/run-phpt.sh fails, never skips, when the extension does not load."""
import os
import subprocess

from harness.php import HARNESS_DIR


def test_phpt_runner_fails_when_the_extension_does_not_load(tmp_path):
    bogus = tmp_path / "librust_mail.so"
    bogus.write_bytes(b"not an ELF file\n")
    run = subprocess.run([str(HARNESS_DIR / "run-phpt.sh")], env={**os.environ, "RUST_MAIL_SO": str(bogus)},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"the rust_mail extension does not load from {bogus}" in run.stderr, run.stderr
    assert "PASS" not in run.stdout and "SKIP" not in run.stdout, run.stdout
