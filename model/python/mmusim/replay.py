"""Configurations and replays, in-process through the library.

A configuration is named as `mmusim run` names it: a base (a preset such as
"skylake", or a YAML file; None is the default preset) and overrides, each
a `--set KEY=VALUE`.  Here the overrides are a dict {KEY: VALUE} (or a list
of "KEY=VALUE" strings); values are written as the CLI takes them: True ->
true, 8 -> 8, ["4k", "2m"] -> [4k, 2m].  A base may also be a dict of
every key, as config() returns it.

Every configuration is validated as `mmusim run` validates it; a problem
raises ValueError with the library's message ("--set dtlb.4k.sets=3: ...",
"FILE:LINE: KEY: problem"), a file that cannot be read an OSError.
"""

import numbers
import os
import signal
import threading
import warnings
from collections.abc import Mapping

import numpy as np

from . import _core
from .locate import bundled_trace


class OutOfMemoryWarning(RuntimeWarning):
    """A machine ran out of physical memory (os.exhaustion=stop, or nothing left
    to reclaim): its replay stopped there, and its counters are those up to
    that access (`mmusim run` exits with status 3)."""


class Counters(dict):
    """run()'s result: {counter: value} in the report's order, and
    .status: "done", or "oom" when physical memory ran out (see
    OutOfMemoryWarning)."""

    __slots__ = ("status",)

    def __init__(self, pairs, status):
        super().__init__(pairs)
        self.status = status


def _text(v):
    """A Python value as --set takes it."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_text(x) for x in v) + "]"
    return str(v)


def _sets(sets):
    """Overrides -> a list of "KEY=VALUE" strings, in order."""
    if sets is None:
        return []
    if isinstance(sets, Mapping):
        return ["%s=%s" % (k, _text(v)) for k, v in sets.items()]
    if isinstance(sets, str):
        return [sets]
    out = []
    for s in sets:
        if isinstance(s, str):
            out.append(s)
        else:
            k, v = s
            out.append("%s=%s" % (k, _text(v)))
    return out


def _base(config):
    """A base -> (preset or file for the library, overrides it implies)."""
    if config is None:
        return None, []
    if isinstance(config, Mapping):
        return None, _sets(config)
    return os.fspath(config), []


def _typed(text, key=None):
    """A configuration value's text -> int, bool, list or str: the types the
    JSON report gives it (a number or a boolean bare, the value of a list key
    -- KEY.holds, "[4k, 2m]" -- a list of str, anything else a string)."""
    if key is not None and key.endswith(".holds") and text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        return [x.strip() for x in inner.split(",")] if inner else []
    if text == "true":
        return True
    if text == "false":
        return False
    if text.isdigit() and text.isascii():
        return int(text)
    return text


def presets():
    """The names of the presets compiled into the library ("skylake", ...)."""
    return _core.presets()


def config(config=None, set=None):
    """The effective configuration as a dict of every key, in the order of
    `mmusim config show` (values int, bool, list or str, as in the JSON
    report)."""
    base, pre = _base(config)
    return {k: _typed(v, k) for k, v in _core.config(base, pre + _sets(set))}


def _trace_list(traces):
    if traces is None:
        return [bundled_trace()]
    if isinstance(traces, (str, bytes, os.PathLike)):
        return [os.fspath(traces)]
    return [os.fspath(t) for t in traces]


def _catch_sigint():
    """Whether the library may take SIGINT over during a replay (Ctrl-C then
    stops it at its next check and raises KeyboardInterrupt): in the main
    thread, from Python's default handler.  Elsewhere Python keeps it."""
    return (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler)


def _count(name, v):
    """A phase length: an int >= 0, or a string as `mmusim run --skip` takes
    it ("50M": K, M, G are 10^3, 10^6, 10^9)."""
    if isinstance(v, str):
        try:
            return _core.parse_count(v)
        except ValueError as e:
            raise ValueError("%s: %s" % (name, e)) from None
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) or not 0 <= int(v) < 2**64:
        raise ValueError("%s: expected a count (an int >= 0, or a string such as '50M'), got %r" % (name, v))
    return int(v)


def _phases(skip, warmup, max, roi):
    """The phases as the library takes them (replay.h, "Phases"; `mmusim run
    --skip/--warmup/--max/--roi`)."""
    return (_count("skip", skip), _count("warmup", warmup), _count("max", max), bool(roi))


def _replay(traces, configs, progress, phases=(0, 0, 0, False)):
    return _core.run(_trace_list(traces), configs, bool(progress), _catch_sigint(), phases)


def _oom_warning(base, sets, what):
    c = _core.config(base, sets)
    c = dict(c)
    warnings.warn(OutOfMemoryWarning(
        "%sout of physical memory (os.phys_mem_mib=%s, os.exhaustion=%s): the replay stopped; the counters are "
        "those up to that access" % (what, c["os.phys_mem_mib"], c["os.exhaustion"])), stacklevel=3)


def run(traces=None, config=None, set=None, *, skip=0, warmup=0, max=0, roi=False, progress=False):
    """Replay traces (a path or a list of paths: one workload, as `mmusim run
    TRACE...`; default: the bundled sqlite3 trace) on one configuration and
    return its counters: a dict {name: int}, the names and values of
    `mmusim run --json`'s counters (the totals, then per CPU, cpuN.NAME, and
    per process, pidN.NAME; without its header -- schema, mmusim, title,
    trace_hash --, its metrics and its config.* members).

    skip, warmup, max, roi: as `mmusim run --skip/--warmup/--max/--roi`
    (ints, or strings such as "50M"; max 0 = no limit): the counters are
    those of the measured part only.
    progress=True draws a progress line on stderr.  Ctrl-C
    stops the replay and raises KeyboardInterrupt."""
    base, pre = _base(config)
    sets = pre + _sets(set)
    [(status, _, pairs)] = _replay(traces, [(base, sets)], progress, _phases(skip, warmup, max, roi))
    if status == "oom":
        _oom_warning(base, sets, "")
    return Counters(pairs, status)


def intervals(traces=None, config=None, set=None, *, interval=1_000_000, skip=0, warmup=0, max=0, roi=False,
              progress=False):
    """Replay as run() does, and return the counters of every `interval`
    accesses instead of the totals: `mmusim run -I INTERVAL` as a pandas
    DataFrame, one row per interval, the last for the remainder.

    Columns (int64): interval, accesses and cycles (running totals), then
    every counter's change during the interval, in the report's order (the
    counter "cycles" as "cycles.delta"; gauges such as rss.pages can go
    down).  df.attrs["status"] is "done" or "oom" (OutOfMemoryWarning).
    skip, warmup, max, roi: as run()'s; the rows start after the warm-up."""
    import io
    import pandas as pd
    if int(interval) < 1:
        raise ValueError("interval: expected a number of accesses, at least 1")
    base, pre = _base(config)
    sets = pre + _sets(set)
    status, text = _core.intervals(_trace_list(traces), base, sets, int(interval), bool(progress), _catch_sigint(),
                                   _phases(skip, warmup, max, roi))
    if status == "oom":
        _oom_warning(base, sets, "")
    df = pd.read_csv(io.StringIO(text))
    df.attrs["status"] = status
    return df


def run_many(traces, configs, config=None, set=None, *, skip=0, warmup=0, max=0, roi=False, progress=False):
    """Replay traces once for several configurations (replay_run_multi: every
    record is decoded once and fed to one machine per configuration) and
    return a pandas DataFrame, one row per configuration, in order.

    configs: a list whose items are each a dict of overrides {KEY: VALUE},
    applied over the base (config, then set), or a preset or file name
    (a base of its own, then set).  The configurations must agree on
    cpu.cpus and os.quantum (they decide the workload's schedule), else
    ValueError.

    Columns: "config" (the configuration's name key), "param.KEY" for every
    key an item sets (as given), "status" ("done" or "oom"), then every
    counter, named as in `mmusim run --json`.  Counters are int64 (uint64 if
    one exceeds 2**63 - 1; nullable Int64 if a row lacks one).
    skip, warmup, max, roi: as run()'s, the same for every configuration."""
    import pandas as pd
    if isinstance(configs, (Mapping, str, os.PathLike)):
        raise TypeError("configs: expected a list of configurations (dicts of overrides, or names)")
    configs = list(configs)
    if not configs:
        raise ValueError("run_many: no configuration")
    base, pre = _base(config)
    common = _sets(set)
    jobs, params = [], []
    for item in configs:
        if isinstance(item, Mapping):
            jobs.append((base, pre + common + _sets(item)))
            params.append(item)
        else:
            jobs.append((os.fspath(item), common))
            params.append({})
    results = _replay(traces, jobs, progress, _phases(skip, warmup, max, roi))
    for i, (status, _, _) in enumerate(results):
        if status == "oom":
            _oom_warning(*jobs[i], "configuration %d: " % i)
    cols = {"config": [name for _, name, _ in results]}
    keys = list(dict.fromkeys(k for p in params for k in p))
    for k in keys:
        cols["param." + k] = [p.get(k) for p in params]
    cols["status"] = [status for status, _, _ in results]
    rows = [dict(pairs) for _, _, pairs in results]
    for name in dict.fromkeys(n for _, _, pairs in results for n, _ in pairs):
        cols[name] = counter_column([r.get(name) for r in rows])
    return pd.DataFrame(cols)


def counter_column(values):
    """Counter values (ints, None where missing) -> the column's array: int64,
    uint64 when a value does not fit int64, nullable Int64/UInt64 when one
    is missing."""
    import pandas as pd
    present = [v for v in values if v is not None]
    big = bool(present) and max(present) > np.iinfo(np.int64).max
    if len(present) < len(values):
        return pd.array([pd.NA if v is None else v for v in values], dtype="UInt64" if big else "Int64")
    return np.array(values, dtype=np.uint64 if big else np.int64)
