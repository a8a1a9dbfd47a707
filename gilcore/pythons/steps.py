"""setup-interpreters' steps: one progress line each, commands run with their output in a log.

Standard library only, Python 3.7 syntax (see provision.py).
"""
import hashlib
import shutil
import subprocess
import sys
import time


def say(text):
    print("[gilbench] " + text, flush=True)


class Step(object):
    """One progress line: "[gilbench] what ... ok (3s)" or "... FAILED: why"."""

    def __init__(self, text):
        self.started = time.time()
        sys.stdout.write("[gilbench] %s ... " % text)
        sys.stdout.flush()

    def ok(self, note=""):
        print("ok%s (%ds)" % (": " + note if note else "", time.time() - self.started), flush=True)
        return True

    def failed(self, why):
        print("FAILED: " + why, flush=True)
        return False


def run(command, log=None, cwd=None, timeout=None, env=None, append=False):
    """Runs a command with no input; its output goes to the log file (or nowhere). True when it succeeded."""
    try:
        if log is None:
            done = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, cwd=cwd, timeout=timeout, env=env)
        else:
            with open(log, "a" if append else "w") as handle:
                done = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT,
                                      cwd=cwd, timeout=timeout, env=env)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def output(command, timeout=60, env=None, log=None):
    """A command's standard output, stripped; None when it failed or timed out."""
    try:
        errors = open(log, "a") if log else subprocess.DEVNULL
        try:
            done = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors,
                                  universal_newlines=True, timeout=timeout, env=env)
        finally:
            if log:
                errors.close()
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def have(command):
    return shutil.which(command) is not None


def sha256_of(path):
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()


def last_line(path, width=120):
    try:
        with open(path, errors="replace") as handle:
            lines = handle.read().strip().splitlines()
    except OSError:
        return ""
    return (lines[-1] if lines else "")[:width]




def read_lines(path):
    """A text file's lines; none when it cannot be read."""
    try:
        with open(path, errors="replace") as handle:
            return handle.read().splitlines()
    except OSError:
        return []
