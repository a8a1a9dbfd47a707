"""Sessions that overlap in one process: closing one must not stop helpers another still uses."""
import pytest

import gilcore


@pytest.mark.parametrize("first, second", [("pool-spawn", "pool-forkserver"), ("process-executor", "pool-spawn")])
def test_overlapping_sessions_share_multiprocessing_helpers(first, second, no_leaks):
    a = gilcore.Cell("countdown", first, 2, 10_000).open()
    b = gilcore.Cell("countdown", second, 2, 10_000).open()
    a.close()  # must not stop the resource tracker b uses (that hung b's close before)
    assert b.run_once() > 0
    b.close()  # the last session stops the helpers the sessions started: no_leaks checks


def test_warm_chunk_is_called_before_timing_on_311(monkeypatch):
    from gilcore.strategies import _warmup

    calls = []
    monkeypatch.setattr(_warmup.sys, "version_info", (3, 11, 0))

    def kernel(n):
        calls.append(n)
        return n

    _warmup.specialise(kernel, (0,))
    assert calls == [0] * 8
    calls.clear()
    _warmup.specialise(kernel, None)  # a workload without a warm chunk: its kernel is never called early
    assert calls == []
