"""The asv suite is well formed against the interpreter running the tests."""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_asv_check_passes():
    asv = shutil.which("asv", path=os.path.dirname(sys.executable)) or shutil.which("asv")
    assert asv, "asv is not installed next to this Python"
    done = subprocess.run([asv, "check", "-E", f"existing:{sys.executable}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No problems found" in done.stdout
