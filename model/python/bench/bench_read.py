#!/usr/bin/python3
"""bench_read.py -- how fast mmusim.Trace reads a trace into numpy.

    PYTHONPATH=build/default/python /usr/bin/python3 model/python/bench/bench_read.py [TRACE...]

For each trace (default: the bundled sqlite3 trace), the best of five
passes of each way of reading, on one core:

    frames()                 every record's columns, frame by frame, plus
                             each frame's instruction counts and events
    frames(reuse=True)       the same into one set of buffers
    accesses()               every access of the trace into one set of arrays
    accesses(by_frame=True)  the accesses, frame by frame
    to_numpy()               every field of every record (small traces only:
                             skipped above 20 M records)

in M accesses/s and M records/s over the pass's wall time, and over its
CPU time (the figure to trust on a machine shared with other work: a pass
runs on one thread).  A bigger trace:
    mmusim trace gen zipf --count 50000000 -o /tmp/zipf50m.trace.zst
"""

import sys
import time

import mmusim


def best_of(fn, passes=5):
    """The least wall time and the least CPU time of `passes` calls."""
    wall = cpu = float("inf")
    for _ in range(passes):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


def drain(it):
    n = 0
    for cols in it:
        n += len(next(iter(cols.values())))
    return n


def main(paths):
    if not paths:
        paths = [mmusim.bundled_trace("sqlite3")]
    print("mmusim %s, numpy %s, one core" % (mmusim.__version__, mmusim.trace.np.__version__))
    for path in paths:
        t = mmusim.Trace(path)
        print("\n%s: %d records, %d accesses, %d frames" % (path, t.records, t.naccesses, t.nframes))
        ways = [("frames()", lambda: drain(t.frames())),
                ("frames(reuse=True)", lambda: drain(t.frames(reuse=True))),
                ("accesses()", t.accesses),
                ("accesses(by_frame=True)", lambda: drain(t.accesses(by_frame=True)))]
        if t.records <= 20_000_000:
            ways.append(("to_numpy()", t.to_numpy))
        print("  %-24s %28s   %28s" % ("", "wall time", "CPU time"))
        for name, fn in ways:
            wall, cpu = best_of(fn)
            print("  %-24s" % name, end="")
            for s in (wall, cpu):
                print("  %6.3f s %6.1f M acc/s %6.1f M rec/s" % (s, t.naccesses / s / 1e6, t.records / s / 1e6),
                      end="")
            print()


if __name__ == "__main__":
    main(sys.argv[1:])
