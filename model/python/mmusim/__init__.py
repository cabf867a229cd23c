"""mmusim: a cycle-level model of a CPU's memory-management unit, from Python.

The package wraps the C library (libmmusim) in-process:

    import mmusim
    t = mmusim.Trace(mmusim.bundled_trace("sqlite3"))
    for f in t.frames():                 # numpy columns, one frame at a time
        pages = f["va"][f["kind"] == mmusim.ACCESS] >> 12
    a = t.accesses()                     # every access: {"va", "cpu", "size", "acc", "priv"}
    c = mmusim.run(t.path, config="skylake", set={"dtlb.4k.ways": 8})
    c["dTLB-load-misses"]
    df = mmusim.run_many(t.path, [{"dtlb.4k.ways": w} for w in (4, 8, 16)])
    df = mmusim.sweep("experiments/smoke/spec.yaml")   # the mmusim sweep program
    df = mmusim.load_sweep("experiments/smoke/spec-results")

Errors carry the library's one-line message: ValueError for a bad
configuration, trace or argument, OSError (FileNotFoundError, ...) for a
file that cannot be read.  model/python/README.md has the whole API.
"""

from . import _core
from .trace import (
    ACCESS, INSTR, SWITCH, FORK, EXEC, EXIT, MMAP, MUNMAP, MPROTECT, CR3, INVLPG, KIND_NAMES,
    LOAD, STORE, IFETCH, USER, SUPERVISOR,
    PROT_READ, PROT_WRITE, PROT_EXEC, MAP_ANON, MAP_SHARED, MAP_HUGE, MAP_THP, MAP_KERNEL,
    RECORD_DTYPES, ACCESS_DTYPES, INSTR_DTYPES, EVENT_DTYPES, WIDE_DTYPES,
    Frame, Trace,
)
from .replay import Counters, OutOfMemoryWarning, config, intervals, presets, run, run_many
from .sweeps import SweepWarning, load_sweep, sweep
from .locate import bundled_trace, bundled_traces, program

__version__ = _core.version()

__all__ = [
    "ACCESS", "INSTR", "SWITCH", "FORK", "EXEC", "EXIT", "MMAP", "MUNMAP", "MPROTECT", "CR3", "INVLPG",
    "KIND_NAMES", "LOAD", "STORE", "IFETCH", "USER", "SUPERVISOR",
    "PROT_READ", "PROT_WRITE", "PROT_EXEC", "MAP_ANON", "MAP_SHARED", "MAP_HUGE", "MAP_THP", "MAP_KERNEL",
    "RECORD_DTYPES", "ACCESS_DTYPES", "INSTR_DTYPES", "EVENT_DTYPES", "WIDE_DTYPES",
    "Frame", "Trace",
    "Counters", "OutOfMemoryWarning", "config", "intervals", "presets", "run", "run_many",
    "SweepWarning", "load_sweep", "program", "sweep",
    "bundled_trace", "bundled_traces",
    "__version__",
]
