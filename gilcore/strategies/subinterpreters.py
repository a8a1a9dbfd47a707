"""Subinterpreters: W interpreters in one process, each with its own GIL (PEP 684).

Each worker is a thread that owns one isolated interpreter and runs chunks in
it. The interpreters are created and warmed (the kernel's module imported)
before any work is timed, so their start-up cost is measured apart.

Which API: 3.14+ the public ``concurrent.interpreters``; 3.13 the private
``_interpreters``; 3.12 the private ``_xxsubinterpreters`` with
``isolated=True``. A kernel and its arguments travel pickled in the
interpreter's ``__main__``; the result (or the worker's traceback) comes back
pickled through a per-worker temporary file, so no size limit can block it.
"""
from __future__ import annotations

import os
import pickle
import queue
import sys
import tempfile
import threading
import time
from typing import Any, List, Optional, Sequence, Tuple

from gilcore.strategies import _internals
from gilcore.strategies.base import DEFAULT_TIMEOUT, WARMUP_TIMEOUT, Session, Strategy, WorkerError
from gilcore.workloads import Chunk, Workload

# Runs once in each new subinterpreter (_path is set in its __main__ first): the
# parent's import path, and one function every call goes through, so a call
# sends only the pickled kernel and arguments and compiles one short line.
_SETUP_SCRIPT = """\
import os as _os, pickle as _pickle, sys as _sys, traceback as _traceback
_sys.path[:] = _path.split("\\0")

def _gilcore_call(payload, fd):
    try:
        kernel, args = _pickle.loads(payload)
        answer = _pickle.dumps(("ok", kernel(*args)))
    except BaseException as error:
        text = "".join(_traceback.format_exception(type(error), error, error.__traceback__))
        answer = _pickle.dumps(("error", text))
    _os.pwrite(fd, len(answer).to_bytes(8, "little") + answer, 0)  # ftruncate would cost more than the task
"""
_CALL_SCRIPT = "_gilcore_call(_payload, _fd)"
_FIRST_READ = 4096  # most answers fit: one read


class Backend:
    """The one API difference between Pythons: create, run a script with globals, destroy."""

    def __init__(self) -> None:
        self.kind, self.module = _internals.subinterpreters_module()  # 3.14+ public, 3.13/3.12 private

    def create(self) -> Any:
        if self.kind == "_xxsubinterpreters":
            return self.module.create(isolated=True)
        return self.module.create()  # "isolated" is the default config: own GIL

    def owns_gil(self, interp: Any) -> Optional[bool]:
        """True when the interpreter has its own GIL; None when the API cannot tell (3.12)."""
        if self.kind == "_xxsubinterpreters":
            return None
        return _internals.interpreter_owns_gil(interp.id if self.kind == "concurrent.interpreters" else interp)

    def run(self, interp: Any, script: str, shared: dict) -> None:
        if self.kind == "concurrent.interpreters":
            interp.prepare_main(**shared)
            interp.exec(script)
        elif self.kind == "_interpreters":
            failure = self.module.exec(interp, script, shared)
            if failure is not None:
                raise WorkerError(f"subinterpreter failed: {getattr(failure, 'errdisplay', failure)}")
        else:
            self.module.run_string(interp, script, shared)

    def destroy(self, interp: Any) -> None:
        if self.kind == "concurrent.interpreters":
            interp.close()
        else:
            self.module.destroy(interp)


def _unavailable() -> Optional[str]:
    if sys.implementation.name != "cpython" or sys.version_info < (3, 12):
        return "interpreters with their own GIL need CPython 3.12 or newer"
    try:
        Backend()
    except ImportError:
        return "this CPython was built without the subinterpreters module"
    return None


class _Worker:
    """One interpreter plus the temp file its results come back through."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.interp = backend.create()
        self.result_file = tempfile.TemporaryFile(prefix="gilcore-")  # unlinked at once: cannot leak
        try:
            backend.run(self.interp, _SETUP_SCRIPT, {"_path": "\0".join(sys.path)})
        except BaseException:
            self.close()
            raise

    def call(self, kernel: Any, args: Tuple[Any, ...]) -> Any:
        payload = pickle.dumps((kernel, args))
        fd = self.result_file.fileno()
        self.backend.run(self.interp, _CALL_SCRIPT, {"_payload": payload, "_fd": fd})
        data = os.pread(fd, _FIRST_READ, 0)  # an 8-byte length, then the pickled answer
        size = int.from_bytes(data[:8], "little")
        if size > len(data) - 8:
            data += os.pread(fd, size + 8 - len(data), len(data))
        status, value = pickle.loads(data[8:8 + size])
        if status == "error":
            raise WorkerError(f"a subinterpreter raised:\n{value}")
        return value

    def close(self) -> None:
        try:
            self.backend.destroy(self.interp)
        finally:
            self.result_file.close()


class _InterpreterThread(threading.Thread):
    """A worker thread that creates, uses and destroys one interpreter.

    Creating and destroying it in the thread that runs it matters: on 3.12 an
    interpreter that imported ``threading`` in another thread hangs in destroy.
    """

    def __init__(self, backend: Backend, tasks: "queue.SimpleQueue[Any]", ready: "queue.Queue[Any]",
                 kernel: Any, prepare: Any) -> None:
        super().__init__(name="gilcore-subinterpreter")
        self.backend, self.tasks, self.ready = backend, tasks, ready
        self.kernel, self.prepare = kernel, prepare

    def run(self) -> None:
        try:
            worker = _Worker(self.backend)
        except BaseException as error:
            self.ready.put(error)
            return
        try:
            if self.backend.owns_gil(worker.interp) is False:
                raise WorkerError("a subinterpreter was created sharing the main GIL")
            # Import the kernel's module and build its caches before anything is timed.
            self.ready.put(worker.call(_import_and_prepare, (self.kernel, self.prepare)))
            self._serve(worker)
        except BaseException as error:
            self.ready.put(error)
        finally:
            worker.close()

    def _serve(self, worker: _Worker) -> None:
        while True:
            task = self.tasks.get()
            if task is None:
                return
            batch, index, args = task
            if batch.cancelled:
                continue
            try:
                value = worker.call(self.kernel, args)
            except BaseException as error:
                batch.finish(index, error=error)
            else:
                batch.finish(index, value)


class _Batch:
    """One map(): results by index, the first error, and a count of the chunks left.

    Lighter than a Future per chunk (each builds a Condition): on tiny tasks
    the hand-over is what gets measured.
    """

    def __init__(self, size: int) -> None:
        self.results: List[Any] = [None] * size
        self.error: Optional[BaseException] = None
        self.left = size
        self.cancelled = False
        self.lock = threading.Lock()
        self.done = threading.Event()
        if size == 0:
            self.done.set()

    def finish(self, index: int, value: Any = None, error: Optional[BaseException] = None) -> None:
        with self.lock:
            if error is not None and self.error is None:
                self.error = error
                self.done.set()
            self.results[index] = value
            self.left -= 1
            if self.left == 0:
                self.done.set()


class _SubinterpreterSession(Session):
    _threads: List[_InterpreterThread] = []
    _abandoned = False
    _timeout = WARMUP_TIMEOUT

    def start(self) -> None:
        backend = Backend()
        self._tasks: "queue.SimpleQueue[Any]" = queue.SimpleQueue()  # C-fast: one put and get per chunk
        self._ready: "queue.Queue[Any]" = queue.Queue()
        self._threads = [_InterpreterThread(backend, self._tasks, self._ready, self.kernel, self.workload.prepare)
                         for _ in range(self.workers)]
        for thread in self._threads:
            thread.start()

    def warm_up(self, timeout: float) -> List[Optional[bool]]:
        states = []
        for _ in self._threads:
            try:
                answer = self._ready.get(timeout=timeout)
            except queue.Empty:
                raise WorkerError(f"subinterpreters did not start within {timeout:g} s") from None
            if isinstance(answer, BaseException):
                raise answer
            states.append(answer)
        return states

    def map(self, chunks: Sequence[Chunk], timeout: float = DEFAULT_TIMEOUT) -> List[Any]:
        batch = _Batch(len(chunks))
        self._timeout = timeout
        for index, chunk in enumerate(chunks):
            self._tasks.put((batch, index, (*chunk, *self.extra)))
        try:
            finished = batch.done.wait(timeout)
        except KeyboardInterrupt:
            self._abandoned = True  # running interpreters cannot be stopped: do not wait for them
            raise
        finally:
            batch.cancelled = batch.left > 0  # chunks still queued are skipped
        if batch.error is not None:
            raise batch.error
        if not finished:
            self._abandoned = True
            raise WorkerError(f"a subinterpreter did not finish within {timeout:g} s; a running interpreter "
                              "cannot be stopped, so its thread was abandoned and runs on until its kernel returns")
        return batch.results

    def close(self) -> None:
        threads, self._threads = self._threads, []
        for thread in threads:
            if thread.is_alive() or thread.ident is None:
                self._tasks.put(None)
        if self._abandoned:
            return  # a running interpreter cannot be stopped; it ends with the process
        # After an error the other chunks in flight finish first; one that hangs
        # gets the map's timeout, then its thread is abandoned too.
        deadline = time.monotonic() + self._timeout
        for thread in threads:
            if thread.ident is not None:
                thread.join(max(0.0, deadline - time.monotonic()))


def _import_and_prepare(kernel: Any, prepare: Any) -> Optional[bool]:
    """Runs in the new interpreter: import the kernel's module, prepare, report the GIL state there."""
    from gilcore.gil import gil_enabled

    if prepare is not None:
        prepare()
    return gil_enabled()


class Subinterpreters(Strategy):
    name = "subinterpreters"
    description = "W isolated subinterpreters (own GIL each), one thread each"

    def unavailable_reason(self) -> Optional[str]:
        return _unavailable()

    def unsupported_reason(self, workload: Workload) -> Optional[str]:
        if workload.needs_main_interpreter:
            return f"workload {workload.name!r} uses extension modules that cannot load in a subinterpreter"
        if workload.name == "sha256" and sys.version_info[:2] == (3, 12):
            return "CPython 3.12 crashes at exit after hashlib is imported in a subinterpreter"
        return super().unsupported_reason(workload)

    session = _SubinterpreterSession
