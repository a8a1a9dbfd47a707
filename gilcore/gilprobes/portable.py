"""GIL probes that run unchanged on CPython 2.7 and 3.x: when workers ran, and the convoy effect.

    python portable.py timeline '{"strategy": "threads", "workers": 2, "duration_ms": 150, "gap_us": 20}'
    python portable.py convoy '{"loads": [["idle", 0], ["threads", 1]], "kinds": ["event"]}'

Prints ONE JSON line. gilcore.gilprobes runs this file with other interpreters
(CPython 2.7's old GIL above all) and imports it as a module on its own
Python, so the probes' loops are written once: no f-strings, no type hints, no
gilcore import, nothing newer than the 2.7 standard library.

Clocks: ``now_ns`` is time.monotonic_ns where it exists (CLOCK_MONOTONIC on
Linux, the same clock in every process and in gilcore._nogil's C kernel), and
time.time on 2.7, which is also shared by every process of the machine.
"""
from __future__ import division, print_function

import os
import sys

if __name__ == "__main__":
    # Run as a file by another interpreter: this file's folder, first on sys.path, leaves it (gilcore's
    # modules, 3.9+, must shadow nothing an older interpreter imports); the one identity probe,
    # gilcore/pythons/identity.py, is imported from its own folder, which leaves sys.path again.
    if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pythons"))
    import identity
    del sys.path[0]
else:
    from gilcore.pythons import identity

import json  # noqa: E402
import math  # noqa: E402
import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

try:
    import multiprocessing
except ImportError:  # Jython
    multiprocessing = None

if hasattr(time, "monotonic_ns"):
    now_ns = time.monotonic_ns
else:
    def now_ns():
        return int(time.time() * 1e9)

# Per-thread CPU time (3.7+); None where the interpreter cannot tell.
thread_cpu = getattr(time, "thread_time", None)

UNIT = 40  # countdown steps between two clock reads: a few microseconds of bytecode
PAYLOAD = b"x" * 64  # one request of the I/O thread
DEFAULT_GAP_NS = 20000  # a pause longer than this between two clock reads: the worker was not running


def countdown(n):
    """The reference article's loop: pure bytecode that holds the GIL."""
    while n > 0:
        n -= 1
    return n


def wait_until(when_ns):
    """Sleep (GIL released) until now_ns() reaches when_ns, so all workers start together."""
    while True:
        left = when_ns - now_ns()
        if left <= 0:
            return
        time.sleep(min(left / 1e9, 0.05))


def worker_identity():
    return {"pid": os.getpid(), "thread": threading.current_thread().ident}


def record_slices(start_ns, stop_ns, gap_ns=DEFAULT_GAP_NS):
    """From start_ns to stop_ns, run small units of bytecode and note when this worker ran.

    Two clock reads more than gap_ns apart mean the worker was not running in
    between (waiting for the GIL, or for a CPU). Returns the worker's identity,
    its running stretches [(start_ns, end_ns), ...] and its CPU time.
    """
    wait_until(start_ns)
    cpu_before = thread_cpu() if thread_cpu else None
    slices = []
    first = last = now_ns()
    while last < stop_ns:
        n = UNIT
        while n:
            n -= 1
        now = now_ns()
        if now - last > gap_ns:
            slices.append((first, last))
            first = now
        last = now
    slices.append((first, last))
    result = worker_identity()
    result["slices"] = slices
    result["cpu_seconds"] = (thread_cpu() - cpu_before) if thread_cpu else None
    return result


def _record_star(args):
    return record_slices(*args)


def _noop(_):
    return os.getpid()


def timeline(strategy, workers, duration_ms, gap_us, lead_ms=60):
    """Every worker's running stretches over one short run of ``strategy``.

    threads: plain threading.Thread workers; processes: a multiprocessing.Pool,
    warmed before the clock starts. All workers start at the same instant, a
    little after the call, and stop at the same instant.
    """
    gap_ns = int(gap_us * 1000)
    if strategy == "threads":
        results = [None] * workers
        start_ns = now_ns() + int(lead_ms * 1e6)
        stop_ns = start_ns + int(duration_ms * 1e6)

        def run(index):
            results[index] = record_slices(start_ns, stop_ns, gap_ns)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    elif strategy == "processes":
        if multiprocessing is None:
            raise RuntimeError("no multiprocessing module on this interpreter")
        pool = multiprocessing.Pool(workers)
        try:
            pool.map(_noop, range(workers), 1)  # every worker up before the clock starts
            start_ns = now_ns() + int(lead_ms * 1e6)
            stop_ns = start_ns + int(duration_ms * 1e6)
            results = pool.map(_record_star, [(start_ns, stop_ns, gap_ns)] * workers, 1)
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
    else:
        raise ValueError("strategy must be threads or processes, not %r" % (strategy,))
    return {"start_ns": start_ns, "stop_ns": stop_ns, "workers": results}


# --------------------------------------------------------------------------- the convoy effect

def percentile(sorted_values, fraction):
    """Nearest-rank percentile of an already sorted list; None when empty."""
    if not sorted_values:
        return None
    rank = int(math.ceil(fraction * len(sorted_values) - 1e-9))  # the tolerance absorbs 0.99 * 100 = 99.00...01
    return sorted_values[max(0, min(len(sorted_values), rank) - 1)]


def summarize(latencies_ns, seconds):
    ordered = sorted(latencies_ns)
    p50, p99 = percentile(ordered, 0.50), percentile(ordered, 0.99)
    return {
        "ops": len(ordered),
        "seconds": seconds,
        "ops_per_second": len(ordered) / seconds if seconds > 0 else None,
        "p50_ms": p50 / 1e6 if p50 is not None else None,
        "p99_ms": p99 / 1e6 if p99 is not None else None,
        "max_ms": ordered[-1] / 1e6 if ordered else None,
    }


def _recv_exactly(sock, size):
    chunks, got = [], 0
    while got < size:
        data = sock.recv(size - got)
        if not data:
            raise EOFError("the echo server closed the connection")
        chunks.append(data)
        got += len(data)
    return b"".join(chunks)


def _echo(listener):
    """Serve one connection: send every byte back until the client closes."""
    conn, _ = listener.accept()
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            conn.sendall(data)
    finally:
        conn.close()
        listener.close()


def _listener():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    return listener


def _connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle delay in a latency probe
    return sock


def _hang_up(sock):
    """EOF for the server even when a forked child still holds a copy of this socket."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except (OSError, socket.error):
        pass
    sock.close()


def _echo_process_main(conn):
    listener = _listener()
    conn.send(listener.getsockname()[1])
    conn.close()
    _echo(listener)


class EchoThread(object):
    """An echo server on a loopback port, served by a thread of this process (it needs the GIL too)."""

    def __init__(self):
        listener = _listener()
        self.thread = threading.Thread(target=_echo, args=(listener,), name="gilprobes-echo")
        self.thread.daemon = True  # joined in close(); daemon only so a crash cannot hang exit
        self.thread.start()
        try:
            self.sock = _connect(listener.getsockname()[1])
        except BaseException:
            listener.close()
            self.thread.join(5)
            raise

    def close(self):
        _hang_up(self.sock)  # EOF: the server thread returns
        self.thread.join(10)


class EchoProcess(object):
    """The same echo server in a child process: the round trip needs only this process's GIL once."""

    def __init__(self):
        if multiprocessing is None:
            raise RuntimeError("no multiprocessing module on this interpreter")
        parent, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(target=_echo_process_main, args=(child,))
        self.process.daemon = True
        self.process.start()
        child.close()
        try:
            if not parent.poll(60):
                raise RuntimeError("the echo server process did not start within 60 s")
            self.sock = _connect(parent.recv())
        except BaseException:
            self.process.terminate()
            self.process.join()
            raise
        finally:
            parent.close()

    def close(self):
        _hang_up(self.sock)
        self.process.join(10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()


def round_trips(sock, budget_s, max_ops):
    """The I/O thread's loop: send a request, wait for the answer, note how long it took."""
    latencies = []
    start = now_ns()
    deadline = start + int(budget_s * 1e9)
    while len(latencies) < max_ops:
        before = now_ns()
        if before >= deadline:
            break
        sock.sendall(PAYLOAD)
        _recv_exactly(sock, len(PAYLOAD))
        latencies.append(now_ns() - before)
    return latencies, (now_ns() - start) / 1e9


def event_wakeups(budget_s, max_ops, pause_s=0.001):
    """A waker thread sets a threading.Event every pause_s; the I/O thread notes how late it woke.

    Blocking waits without a timeout on purpose: 2.7's Event.wait(timeout) polls
    with sleeps of up to 50 ms and would measure its own polling. Each side
    always wakes the other before leaving, so neither can hang.
    """
    wake, ack = threading.Event(), threading.Event()
    stamp = [0]
    done = [False]
    latencies = []

    def waker():
        try:
            while not done[0]:
                time.sleep(pause_s)
                stamp[0] = now_ns()
                wake.set()
                ack.wait()
                ack.clear()
        finally:
            done[0] = True
            wake.set()

    thread = threading.Thread(target=waker, name="gilprobes-waker")
    start = now_ns()
    deadline = start + int(budget_s * 1e9)
    thread.start()
    try:
        while True:
            wake.wait()
            woke = now_ns()
            wake.clear()
            if done[0]:
                break
            latencies.append(woke - stamp[0])
            if len(latencies) >= max_ops or woke >= deadline:
                done[0] = True
            ack.set()
    finally:
        done[0] = True
        ack.set()
        thread.join()
    return latencies, (now_ns() - start) / 1e9


class ThreadLoad(object):
    """N threads running pure-Python bytecode until stopped: the GIL's competitors."""

    def __init__(self, count):
        self.count = count
        self.running = [False]
        self.threads = []

    def start(self):
        self.running[0] = True
        self.threads = [threading.Thread(target=self._spin, name="gilprobes-cpu") for _ in range(self.count)]
        for thread in self.threads:
            thread.start()

    def _spin(self):
        while self.running[0]:
            countdown(2000)

    def stop(self):
        self.running[0] = False
        for thread in self.threads:
            thread.join()
        self.threads = []

    def close(self):
        self.stop()


_STOP = None  # a multiprocessing.Event, set in each pool worker by its initializer


def _set_stop_event(event):
    global _STOP
    _STOP = event


def _spin_until_stopped(_):
    while not _STOP.is_set():
        countdown(20000)
    return 0


class ProcessLoad(object):
    """The same CPU work in a process pool: each worker has its own GIL."""

    def __init__(self, count):
        if multiprocessing is None:
            raise RuntimeError("no multiprocessing module on this interpreter")
        self.count = count
        self.stop_event = multiprocessing.Event()
        self.pool = multiprocessing.Pool(count, _set_stop_event, (self.stop_event,))
        self.pending = None
        try:
            self.pool.map(_noop, range(count), 1)  # workers up before anything is timed
        except BaseException:
            self.close()
            raise

    def start(self):
        self.stop_event.clear()
        self.pending = self.pool.map_async(_spin_until_stopped, range(self.count), 1)

    def stop(self):
        self.stop_event.set()
        if self.pending is not None:
            self.pending.get(60)
            self.pending = None

    def close(self):
        self.stop_event.set()
        self.pool.terminate()
        self.pool.join()


class NoLoad(object):
    count = 0

    def start(self):
        pass

    def stop(self):
        pass

    def close(self):
        pass


KINDS = ("socket-thread", "socket-process", "event")


def _in_io_thread(function, *args):
    """Runs the measurement in a thread of its own, as an I/O thread of a real program would."""
    box = {}

    def run():
        try:
            box["value"] = function(*args)
        except BaseException as error:  # handed to the caller below
            box["error"] = error

    thread = threading.Thread(target=run, name="gilprobes-io")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def convoy(loads, kinds=KINDS, budget_s=0.5, max_ops=2000, make_load=None):
    """p50/p99 latency and throughput of an I/O thread under each load, for each kind of wait.

    ``loads`` is a list of (name, count): ("idle", 0), ("threads", N),
    ("processes", N), or any name ``make_load(name, count)`` knows (an object
    with start, stop and close). Processes are created before any thread
    starts, so no fork happens in a multi-threaded process.
    """
    built = []
    servers = {}
    rows = []
    try:
        if "socket-process" in kinds:
            servers["socket-process"] = EchoProcess()
        for name, count in loads:
            built.append((name, count, _make_load(name, count, make_load)))
        if "socket-thread" in kinds:
            servers["socket-thread"] = EchoThread()
        for name, count, load in built:
            load.start()
            try:
                for kind in kinds:
                    if kind == "event":
                        latencies, seconds = _in_io_thread(event_wakeups, budget_s, max_ops)
                    else:
                        latencies, seconds = _in_io_thread(round_trips, servers[kind].sock, budget_s, max_ops)
                    row = {"kind": kind, "load": name, "workers": count}
                    row.update(summarize(latencies, seconds))
                    rows.append(row)
            finally:
                load.stop()
    finally:
        for server in servers.values():
            server.close()
        for _, _, load in built:
            load.close()
    return rows


def _make_load(name, count, make_load):
    if make_load is not None:
        load = make_load(name, count)
        if load is not None:
            return load
    if name == "idle" or count == 0:
        return NoLoad()
    if name == "threads":
        return ThreadLoad(count)
    if name == "processes":
        return ProcessLoad(count)
    raise ValueError("unknown load %r: idle, threads or processes" % (name,))


# --------------------------------------------------------------------------- the script

def describe():
    """The interpreter and its GIL, as the JSON line reports them."""
    me = identity.facts()
    described = dict((key, me[key]) for key in ("implementation", "version", "free_threaded", "gil"))
    described.update(executable=sys.executable, cpus=multiprocessing.cpu_count() if multiprocessing else None)
    return described


def main(argv):
    if len(argv) != 2 or argv[0] not in ("timeline", "convoy"):
        print("usage: portable.py timeline|convoy JSON", file=sys.stderr)
        return 2
    options = json.loads(argv[1])
    if argv[0] == "timeline":
        result = timeline(options.get("strategy", "threads"), int(options.get("workers", 2)),
                          float(options.get("duration_ms", 150)), float(options.get("gap_us", 20)))
    else:
        loads = [(str(name), int(count)) for name, count in options.get("loads", [["idle", 0], ["threads", 1]])]
        result = {"rows": convoy(loads, tuple(options.get("kinds", KINDS)), float(options.get("budget_s", 0.5)),
                                 int(options.get("max_ops", 2000)))}
    result["probe"] = argv[0]
    result.update(describe())  # after the work: the GIL state it ran under
    print(json.dumps(result, sort_keys=True))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
