"""Sweeps: run `mmusim sweep` and load its results into pandas.

The mmusim program owns a sweep -- its worker processes, its resumable
output folder (runs/ID.json, results.csv, results.jsonl), Ctrl-C -- so a
sweep from Python is exactly the one the command line runs, and its folder
can be finished, collected or plotted by either (experiments/README.md).
"""

import csv
import json
import os
import subprocess
import tempfile
import warnings
from collections.abc import Mapping

import numpy as np

from .locate import program
from .replay import _typed, counter_column, presets


class SweepWarning(UserWarning):
    """A warning of the sweep program, e.g. a damaged run file moved aside and
    run again (the sweep still finished)."""


# results.csv: the columns that are neither counters, params nor config keys.
_TEXT_COLUMNS = ("id", "trace", "status", "method")


def default_out(spec):
    """The folder `mmusim sweep SPEC` writes to: SPEC without .yaml (or
    .yml), plus -results."""
    spec = os.fspath(spec)
    for ext in (".yaml", ".yml"):
        if spec.endswith(ext) and len(spec) > len(ext):
            return spec[:-len(ext)] + "-results"
    return spec + "-results"


def _spec_file(spec):
    """A spec given as a dict -> a temporary YAML file (JSON is YAML), with
    trace and config paths made absolute, since the program resolves them
    against the spec's folder."""
    spec = dict(spec)
    if "traces" in spec:
        traces = spec["traces"]
        if isinstance(traces, (str, os.PathLike)):
            traces = [traces]
        spec["traces"] = [os.path.abspath(os.fspath(t)) for t in traces]
    base = spec.get("config")
    if base is not None:
        base = os.fspath(base)
        spec["config"] = base if base in presets() else os.path.abspath(base)
    fd, path = tempfile.mkstemp(prefix="mmusim-spec-", suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        json.dump(spec, f, indent=1)
        f.write("\n")
    return path


def sweep(spec, out=None, jobs=None, *, program_path=None):
    """Run a sweep with the mmusim program (`mmusim sweep SPEC --out OUT --jobs
    JOBS`) and return its results as load_sweep() does.

    spec: a spec file (experiments/README.md), or a dict of the same keys
    (traces, config, set, params, zip, onepass), which needs out.  out:
    the results folder (default: SPEC without .yaml, plus -results); runs
    already there are kept, so calling again finishes an interrupted sweep.
    jobs: worker processes (default: the program's, one per CPU).

    A bad spec raises ValueError with the program's one line ("SPEC:LINE:
    problem"); Ctrl-C stops the workers (finished runs are kept) and
    raises KeyboardInterrupt."""
    tmp = None
    if isinstance(spec, Mapping):
        if out is None:
            raise ValueError("sweep: a spec given as a dict needs out= (the results folder)")
        tmp = spec = _spec_file(spec)
    spec = os.fspath(spec)
    if out is None:
        out = default_out(spec)
    out = os.fspath(out)
    argv = [program_path or program(), "sweep", spec, "--out", out]
    if jobs is not None:
        argv += ["--jobs", str(int(jobs))]
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, errors="replace")
    finally:
        if tmp:
            os.unlink(tmp)
    lines = [l[len("mmusim: "):] if l.startswith("mmusim: ") else l for l in p.stderr.splitlines() if l]
    if p.returncode == 130:
        raise KeyboardInterrupt
    if p.returncode != 0:
        msg = lines[-1] if lines else "mmusim sweep ended with status %d" % p.returncode
        raise (ValueError if p.returncode == 2 else RuntimeError)(msg)
    for l in lines:
        warnings.warn(SweepWarning(l[len("warning: "):] if l.startswith("warning: ") else l), stacklevel=2)
    return load_sweep(out)


def load_sweep(out):
    """A sweep's results (OUT/results.csv) as a pandas DataFrame, one row per
    finished run in run order, with the CSV's columns and these types:

        id, trace, status, method  str
        param.KEY, config.KEY      int, bool, list or str, as the JSON report
                                   writes the value (int64, bool or object
                                   columns)
        every other column         a counter: int64 (uint64 if a value exceeds
                                   2**63 - 1); nullable Int64 when some run
                                   lacks it (one-pass runs lack the counters
                                   their method does not give)
    """
    import pandas as pd
    path = os.path.join(os.fspath(out), "results.csv")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise ValueError("%s: empty (no header)" % path)
    header, rows = rows[0], rows[1:]
    for i, r in enumerate(rows):
        if len(r) != len(header):
            raise ValueError("%s:%d: %d fields, the header has %d" % (path, i + 2, len(r), len(header)))
    cols = {}
    for j, name in enumerate(header):
        cells = [r[j] for r in rows]
        if name in _TEXT_COLUMNS:
            cols[name] = pd.Series(cells, dtype=object)
        elif name.startswith("param.") or name.startswith("config."):
            cols[name] = _value_column(cells, name.split(".", 1)[1])
        else:
            try:
                cols[name] = counter_column([int(c) if c else None for c in cells])
            except ValueError:
                raise ValueError("%s: column %s: a counter that is not a whole number" % (path, name)) from None
    return pd.DataFrame(cols)


def _value_column(cells, key):
    values = [_typed(c, key) for c in cells]
    if any(type(v) is list for v in values):
        column = np.empty(len(values), dtype=object)   # one list per cell, not a 2-D array
        column[:] = values
        return column
    if values and all(type(v) is bool for v in values):
        return np.array(values, dtype=bool)
    if values and all(type(v) is int for v in values):
        return counter_column(values)
    return np.array(cells, dtype=object)
