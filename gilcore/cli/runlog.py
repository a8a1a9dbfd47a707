"""A run as JSON lines: written cell by cell, read back by ``python -m gilcore show FILE``.

Every line is one record, ``{"record": KIND, ...}``:

    header          the interpreter, CPUs, GIL state, the A/A control, the planned cells
    unavailable     a strategy or workload this interpreter cannot run, and why
    not_applicable  a workload x strategy pair that means nothing (no such kernel); ``requested``:
                    its strategy was named by the user
    aa              one run's A/A control (each measuring round is a run: gilcore.cli.rounds)
    cell_run        one cell measured in one run (``Result.to_dict()`` and its run): written at once
    cell            one cell over its runs (gilcore.cli.rounds.aggregate): written when the rounds end
    failure         a cell that failed (checksum, worker crash, timeout)
    footer          the run ended: wall seconds, and whether it was interrupted

Each line is written whole and flushed to disk at once, so a run that is
interrupted or dies keeps every cell measured before. A file may hold several
runs (one header each): a comparison of interpreters writes one per
interpreter.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import IO, Any, Dict, Iterable, List, Optional

from gilcore.errors import UsageError

KINDS = ("header", "unavailable", "not_applicable", "aa", "cell_run", "cell", "failure", "footer")


@dataclass
class Run:
    """One interpreter's run: what the table and ``--json`` are made from."""

    header: Dict[str, Any]
    cells: List[Dict[str, Any]] = field(default_factory=list)
    unavailable: Dict[str, str] = field(default_factory=dict)
    not_applicable: List[str] = field(default_factory=list)
    requested_not_applicable: List[str] = field(default_factory=list)  # of those, the ones the user asked for
    failures: List[str] = field(default_factory=list)
    footer: Optional[Dict[str, Any]] = None
    measurements: List[Dict[str, Any]] = field(default_factory=list)  # "aa" and "cell_run" records, as written

    @property
    def label(self) -> str:
        return str(self.header.get("python") or "?")

    @property
    def planned(self) -> int:
        return len(self.header.get("plan") or [])

    @property
    def complete(self) -> bool:
        return bool(self.footer) and not self.footer.get("interrupted")

    @property
    def seconds(self) -> Optional[float]:
        return self.footer.get("seconds") if self.footer else None

    def add(self, record: Dict[str, Any]) -> None:
        kind = record.get("record")
        body = {k: v for k, v in record.items() if k != "record"}
        if kind == "cell":
            self.cells.append(body)
        elif kind in ("aa", "cell_run"):
            self.measurements.append(record)
        elif kind == "unavailable":
            self.unavailable[str(body.get("name"))] = str(body.get("reason"))
        elif kind == "not_applicable":
            self.not_applicable.append(str(body.get("text")))
            if body.get("requested"):
                self.requested_not_applicable.append(self.not_applicable[-1])
        elif kind == "failure":
            self.failures.append(str(body.get("text")))
        elif kind == "footer":
            self.footer = body

    def settle(self) -> None:
        """Cells over runs from the runs' records, where no "cell" line says them (an interrupted run),
        and the header's A/A line from each run's control."""
        from gilcore.cli.rounds import aggregate

        if self.measurements and not self.cells:
            self.cells = aggregate(self.measurements)
        controls = [m["aa"] for m in self.measurements if m.get("record") == "aa" and m.get("aa")]
        if controls:
            self.header["aa_control"] = aa_summary(controls)

    def to_json(self) -> Dict[str, Any]:
        """The ``--json`` document of one run."""
        data = {key: self.header.get(key) for key in
                ("python", "executable", "cpus", "gil_enabled", "free_threaded", "aa_control")}
        data.update(cells=self.cells, unavailable=self.unavailable, not_applicable=self.not_applicable,
                    requested_not_applicable=self.requested_not_applicable,
                    failures=self.failures, seconds=self.seconds, complete=self.complete,
                    planned=self.planned, interrupted=bool(self.footer and self.footer.get("interrupted")))
        return data


class RunLog:
    """Appends records to a file, one flushed and fsynced line each; ``None`` path: writes nothing."""

    def __init__(self, path: Optional[str]) -> None:
        self.path = path
        self._file: Optional[IO[str]] = None
        if path is not None:
            try:
                self._file = open(path, "w", encoding="utf-8")
            except OSError as error:
                raise UsageError(f"cannot write --output {path}: {error.strerror or error}") from None

    def write(self, kind: str, **body: Any) -> None:
        if self._file is None:
            return
        line = json.dumps({"record": kind, **body}, default=repr, allow_nan=True)
        self._file.write(line + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def write_line(self, line: str) -> None:
        """Copy one record line verbatim (a child interpreter's)."""
        if self._file is None:
            return
        self._file.write(line.rstrip("\n") + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.close()

    def __enter__(self) -> "RunLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RunFileError(UsageError):
    """A file that is not a gilcore run: one line says where and why."""


def parse_lines(lines: Iterable[str], source: str, *, partial_last: bool = True) -> List[Run]:
    """The runs in JSON lines; raises RunFileError naming the first bad line.

    A last line without its newline that does not parse is a write cut off by
    a kill: ignored when ``partial_last``, like a run without a footer.
    """
    runs: List[Run] = []
    lines = list(lines)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            if partial_last and number == len(lines) and not line.endswith("\n"):
                break
            raise RunFileError(f"{source}: line {number} is not JSON: {_clip(line)}") from None
        if not isinstance(record, dict) or record.get("record") not in KINDS:
            raise RunFileError(f"{source}: line {number} is not a gilcore run record: {_clip(line)}")
        if record["record"] == "header":
            runs.append(Run(header={k: v for k, v in record.items() if k != "record"}))
        elif not runs:
            raise RunFileError(f"{source}: line {number} comes before any header line")
        else:
            runs[-1].add(record)
    if not runs:
        raise RunFileError(f"{source}: no gilcore run in it (no header line)")
    for run in runs:
        run.settle()
    return runs


def aa_summary(controls: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The A/A line of a run measured in several runs: each run's ratio and spread, and how many were
    out of bounds (their cells' runs are left out: gilcore.rules 'aa-out-of-bounds')."""
    from gilcore.rules import aa_in_bounds

    out = sum(aa_in_bounds(control) is False for control in controls)
    each = ", ".join(f"x{c.get('ratio', 0):.3f} +-{100 * c.get('spread', 0):.0f}%" for c in controls)
    describe = (f"A/A control per run (serial countdown against itself), {len(controls)} runs: {each}"
                + (f" -- {out} OUT OF BOUNDS: their cells' runs are left out" if out else ""))
    return {"runs": controls, "out_of_bounds": out, "in_bounds": out == 0, "describe": describe}


def read_runs(path: str) -> List[Run]:
    try:
        with open(path, encoding="utf-8", newline="") as file:
            lines = file.readlines()
    except OSError as error:
        raise RunFileError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise RunFileError(f"{path}: not a text file") from None
    return parse_lines(lines, path)


def _clip(text: str, width: int = 60) -> str:
    text = text.strip()
    return text if len(text) <= width else text[: width - 3] + "..."
