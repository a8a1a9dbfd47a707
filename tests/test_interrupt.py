"""Ctrl-C: a shutdown that hangs is forced after the grace period, and a second Ctrl-C forces it at once."""
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A program whose clean-up after Ctrl-C hangs, with a child process that would outlive it.
HANGING_SHUTDOWN = textwrap.dedent("""
    import subprocess, sys, time
    from gilcore.cli.interrupt import BoundedInterrupt
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    print(child.pid, flush=True)
    with BoundedInterrupt(grace={grace}):
        try:
            time.sleep(600)
        except KeyboardInterrupt:
            time.sleep(600)  # a clean-up that never ends
""")


@contextlib.contextmanager
def hanging_program(grace):
    """The program above, running inside its with block; killed with its child afterwards."""
    process = subprocess.Popen([sys.executable, "-c", HANGING_SHUTDOWN.format(grace=grace)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    child = int(process.stdout.readline())
    time.sleep(0.3)  # into the with block
    try:
        yield process, child
    finally:
        process.kill()
        process.communicate()
        if not gone(child):
            psutil.Process(child).kill()


def gone(pid):
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_hanging_shutdown_is_forced_after_the_grace_period():
    with hanging_program(grace=1.5) as (process, child):
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
        assert process.returncode == 130
        assert 1.4 < time.monotonic() - started < 15
        assert "gilcore: interrupted; shutting down took over 1.5 s: every worker was killed" in err
        assert gone(child)


def test_a_second_ctrl_c_forces_the_exit_at_once():
    with hanging_program(grace=600) as (process, child):
        process.send_signal(signal.SIGINT)
        time.sleep(0.5)
        assert process.poll() is None  # the clean shutdown is under way
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
        assert process.returncode == 130
        assert "gilcore: interrupted; interrupted a second time: every worker was killed" in err
        assert gone(child)


def test_an_ignored_sigint_stays_ignored():
    """Started with SIGINT ignored (nohup, `cmd &` in a script), the CLI does not take it back."""
    script = ("import signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
              "from gilcore.cli.interrupt import BoundedInterrupt\n"
              "with BoundedInterrupt(grace=1):\n"
              "    print(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "True", done.stderr
