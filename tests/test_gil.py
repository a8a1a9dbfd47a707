"""The GIL state: observed, promised by the environment, and checked."""
import sys

import pytest

from gilcore import gil


def test_observed_state_matches_interpreter():
    if hasattr(sys, "_is_gil_enabled"):
        assert gil.gil_enabled() == sys._is_gil_enabled()
    else:
        assert gil.gil_enabled() is True


def test_promise_follows_python_gil_on_free_threaded_builds(monkeypatch):
    monkeypatch.setattr(gil, "free_threaded_build", lambda: True)
    monkeypatch.setenv("PYTHON_GIL", "1")
    assert gil.promised_gil_state() is True
    monkeypatch.setenv("PYTHON_GIL", "0")
    assert gil.promised_gil_state() is False
    monkeypatch.delenv("PYTHON_GIL")
    assert gil.promised_gil_state() is None  # the default a user gets: recorded, not promised


def test_mismatch_fails_loudly(monkeypatch):
    monkeypatch.setattr(gil, "free_threaded_build", lambda: True)
    monkeypatch.setenv("PYTHON_GIL", "0")
    with pytest.raises(gil.GilStateError, match="re-enables it"):
        gil.check_gil_state(observed=True)
    assert gil.check_gil_state(observed=False) is False


def test_gil_build_promises_gil(monkeypatch):
    monkeypatch.setattr(gil, "free_threaded_build", lambda: False)
    assert gil.promised_gil_state() is True
