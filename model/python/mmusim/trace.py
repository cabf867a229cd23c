"""Traces into numpy: mmusim.Trace, its frames, its accesses.

A trace file (traces/FORMAT.md) is a header, independent zstd frames of at
most 2**20 records, a seek index and a footer.  Trace(path) reads the
metadata; every read below opens the file anew, so several iterations (or
threads) never share a position.  The library decodes each frame in C
straight into the arrays' buffers, with the GIL released.

Columns (numpy arrays, one value per record, in trace order):

    kind   uint8   ACCESS, INSTR, SWITCH, ... (KIND_NAMES[kind] is its name)
    cpu    uint8   the record's cpu (every kind)
    acc    uint8   access: LOAD, STORE, IFETCH          (0 for other kinds)
    priv   uint8   access: USER, SUPERVISOR             (0 for other kinds)
    size   uint16  access: bytes, 1..65535              (0 for other kinds)
    va     uint64  access: the virtual address          (0 for other kinds)

A frame's other records are also in two tables of their own, dicts of
columns over those records only, as the footer counts them apart:

frame.instr, the instruction counts (kind INSTR):

    index    int64   the record's position in the frame's columns
    cpu      uint8
    count    uint64  instructions retired since the previous INSTR

frame.events, the OS events (every other kind):

    index    int64   the record's position in the frame's columns
    kind     uint8   SWITCH, FORK, EXEC, EXIT, MMAP, MUNMAP, MPROTECT, CR3, INVLPG
    cpu      uint8
    pid      uint32  process events; SWITCH: the process the cpu now runs
    child    uint32  FORK
    addr     uint64  MMAP, MUNMAP, MPROTECT; INVLPG: the address
    len      uint64  MMAP, MUNMAP, MPROTECT
    prot     uint32  MMAP, MPROTECT: PROT_* bits
    flags    uint32  MMAP: MAP_* bits
    file_id  uint32  MMAP of a file
    offset   uint64  MMAP: file offset
    value    uint64  CR3: the value written (root | PCID)
    noflush  bool    CR3: bit 63 set

Fields a kind does not use are zero.  Trace.to_numpy() has every column
over every record (WIDE_DTYPES), for small traces.
"""

import os

import numpy as np

from . import _core

# trace_kind (model/include/mmusim/trace.h)
ACCESS, INSTR, SWITCH, FORK, EXEC, EXIT, MMAP, MUNMAP, MPROTECT, CR3, INVLPG = range(11)
KIND_NAMES = ("access", "instr", "switch", "fork", "exec", "exit", "mmap", "munmap", "mprotect", "cr3", "invlpg")
# mm_kind and mm_priv (types.h)
LOAD, STORE, IFETCH = 0, 1, 2
USER, SUPERVISOR = 0, 1
# TR_PROT_* and TR_MAP_* (trace.h)
PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
MAP_ANON, MAP_SHARED, MAP_HUGE, MAP_THP, MAP_KERNEL = 0x01, 0x02, 0x04, 0x08, 0x10

# The column layouts.  _core checks every array it is given against these.
RECORD_DTYPES = {"kind": np.uint8, "cpu": np.uint8, "acc": np.uint8, "priv": np.uint8,
                 "size": np.uint16, "va": np.uint64}
ACCESS_DTYPES = {"cpu": np.uint8, "acc": np.uint8, "priv": np.uint8, "size": np.uint16, "va": np.uint64}
INSTR_DTYPES = {"index": np.int64, "cpu": np.uint8, "count": np.uint64}
EVENT_DTYPES = {"index": np.int64, "kind": np.uint8, "cpu": np.uint8,
                "pid": np.uint32, "child": np.uint32, "addr": np.uint64, "len": np.uint64,
                "prot": np.uint32, "flags": np.uint32, "file_id": np.uint32, "offset": np.uint64,
                "value": np.uint64, "noflush": np.bool_}
# Every field of every record (to_numpy): the record columns, the count,
# then the event fields.
WIDE_DTYPES = dict(RECORD_DTYPES, count=np.uint64,
                   **{k: t for k, t in EVENT_DTYPES.items() if k not in ("index", "kind", "cpu")})


def _empty(dtypes, n):
    return {k: np.empty(n, t) for k, t in dtypes.items()}


def _args(cols):
    """A table's arrays in its column order, as _core takes them."""
    return tuple(cols.values())


def _head(cols, n, keep):
    """The first n rows of a table: views when `keep` (the caller reuses the
    buffers) or when they keep most of the buffer, else copies, so a frame
    does not pin memory it does not use."""
    cap = len(next(iter(cols.values())))
    if n == cap:
        return cols
    if keep or 2 * n >= cap:
        return {k: a[:n] for k, a in cols.items()}
    return {k: a[:n].copy() for k, a in cols.items()}


class _Buffers:
    """The arrays one read_records call fills: records, instr, events, each
    of `cap` rows (what a frame of cap records needs at most).  Fresh for
    each frame, or one set for every frame (reuse)."""

    def __init__(self, cap):
        self.cap = cap
        self.records = _empty(RECORD_DTYPES, cap)
        self.instr = _empty(INSTR_DTYPES, cap)
        self.events = _empty(EVENT_DTYPES, cap)

    def read(self, r, n, index, first, reuse):
        """The next n records of reader r (fewer at the end) as Frame `index`."""
        got, ni, ne = r.read_records(_args(self.records), _args(self.instr), _args(self.events), 0, n)
        return got, Frame(_head(self.records, got, reuse), _head(self.instr, ni, reuse),
                          _head(self.events, ne, reuse), index, first)


class Frame(dict):
    """One frame's records: a dict of equal-length numpy columns (RECORD_DTYPES),
    with the frame's instruction counts in `instr` (INSTR_DTYPES) and its OS
    events in `events` (EVENT_DTYPES).

    Attributes: index (the frame's number in the trace), first (the trace's
    index of the frame's first record), instr, events."""

    __slots__ = ("index", "first", "instr", "events")

    def __init__(self, columns, instr, events, index, first):
        super().__init__(columns)
        self.instr = instr
        self.events = events
        self.index = index
        self.first = first

    def __len__(self):
        return len(self["kind"])

    def __repr__(self):
        return "<mmusim.Frame %d: records %d..%d, %d instruction counts, %d events>" % (
            self.index, self.first, self.first + len(self), len(self.instr["index"]), len(self.events["index"]))


class Trace:
    """A trace file: its metadata, and its records as numpy arrays.

    Trace(path) reads the header and the footer (the counts) and keeps no
    file open; frames(), accesses() and to_numpy() open it for their reading.
    Bad files raise the library's one-line message: ValueError
    ("FILE: offset N: problem"), or OSError for a file that cannot be read.

    Attributes: path, source, command, recorder (the header's metadata),
    version ((major, minor) of the format), records, naccesses, instructions
    (the sum of the instruction counts), events (OS events), nframes; the
    counts are the footer's, None for a file without a seek index (a
    truncated one: reading it fails where it ends)."""

    def __init__(self, path):
        self.path = os.fspath(path)
        r = _core.Reader(self.path)
        try:
            m = r.meta
            self._firsts = r.frame_firsts()
            try:   # only a file with a seek index (a complete one) can seek
                r.seek(0)
                self.indexed = True
            except ValueError:
                self.indexed = False
        finally:
            r.close()
        self.source, self.command, self.recorder = m["source"], m["command"], m["recorder"]
        self.version = m["version"]
        known = self.indexed
        self.records = m["records"] if known else None
        self.naccesses = m["accesses"] if known else None
        self.instructions = m["instructions"] if known else None
        self.events = m["events"] if known else None
        self.nframes = len(self._firsts)

    @property
    def meta(self):
        """The metadata as a dict (source, command, recorder, counts, version, frames)."""
        return {"path": self.path, "source": self.source, "command": self.command, "recorder": self.recorder,
                "records": self.records, "accesses": self.naccesses, "instructions": self.instructions,
                "events": self.events, "version": self.version, "frames": self.nframes}

    @property
    def frame_first(self):
        """The trace index of each frame's first record (uint64 array)."""
        return self._firsts.copy()

    @property
    def frame_records(self):
        """The number of records in each frame (int64 array)."""
        if not self.nframes:
            return np.zeros(0, np.int64)
        return np.diff(np.append(self._firsts, np.uint64(self.records))).astype(np.int64)

    def __len__(self):
        if self.records is None:
            raise TypeError("%s: the number of records is unknown: the file has no seek index" % self.path)
        return self.records

    def __repr__(self):
        if self.records is None:
            return "<mmusim.Trace %r: no seek index, source %r>" % (self.path, self.source)
        return "<mmusim.Trace %r: %d records, %d accesses, %d frames, source %r>" % (
            self.path, self.records, self.naccesses, self.nframes, self.source)

    # ---- reading ----------------------------------------------------------

    def _reader(self):
        return _core.Reader(self.path)

    def _no_index(self):
        return ValueError("%s: cannot choose frames: the file has no seek index (truncated?)" % self.path)

    def frames(self, start=None, stop=None, *, reuse=False):
        """Iterate over the frames (or frames start..stop-1, as a slice), each a
        Frame: a dict of numpy columns (RECORD_DTYPES) plus frame.instr and
        frame.events.

        reuse=True decodes every frame into the same buffers: a frame's
        arrays are overwritten by the next one's (copy what you keep), and
        no fresh memory is touched after the first frame -- the fastest way
        through a long trace.

        Read from the first frame to the last, the trace's end is checked too
        (its trailer and the footer's counts), as `mmusim run` checks it."""
        if not self.indexed:
            if start not in (0, None) or stop is not None:
                raise self._no_index()
            yield from self._chunks(reuse)
            return
        sel = range(self.nframes)[slice(start, stop)]
        counts = self.frame_records
        buf = _Buffers(int(counts[sel].max())) if reuse and len(sel) else None
        r = self._reader()
        try:
            if len(sel) and sel.start:
                r.seek(int(self._firsts[sel.start]))
            for i in sel:
                n = int(counts[i])
                got, f = (buf or _Buffers(n)).read(r, n, i, int(self._firsts[i]), reuse)
                if got != n:
                    raise ValueError("%s: frame %d ended after %d of its %d records" % (self.path, i, got, n))
                yield f
            if sel.stop == self.nframes and (len(sel) or self.nframes == 0):
                self._expect_end(r)
        finally:
            r.close()

    def frame(self, i):
        """Frame i alone (a seek, then one frame's decoding)."""
        if not self.indexed:
            raise self._no_index()
        i = range(self.nframes)[i]   # IndexError out of range, negatives count from the end
        return next(self.frames(i, i + 1))

    def _chunks(self, reuse):
        """Without a seek index: chunks of FRAME_RECORDS records, read in order
        (the reader reports a truncation where it finds it)."""
        cap = _core.FRAME_RECORDS
        buf = _Buffers(cap) if reuse else None
        r = self._reader()
        try:
            first = 0
            for i in range(1 << 62):
                got, f = (buf or _Buffers(cap)).read(r, cap, i, first, reuse)
                if got:
                    yield f
                first += got
                if got < cap:
                    break
        finally:
            r.close()

    def _expect_end(self, r):
        left = r.drain()
        if left:
            raise ValueError("%s: %d records after the last frame's" % (self.path, left))

    def accesses(self, by_frame=False):
        """The accesses alone, as a dict of numpy columns (ACCESS_DTYPES: cpu, acc,
        priv, size, va): every access of the trace in one set of arrays, or
        with by_frame=True an iterator of one dict per frame."""
        if by_frame:
            return self._accesses_by_frame()
        if not self.indexed:
            return _concat(list(self._accesses_by_frame()), ACCESS_DTYPES)
        cols = _empty(ACCESS_DTYPES, self.naccesses)
        r = self._reader()
        try:
            # One call for the whole trace, to its end (more than every record).
            got, _ = r.read_accesses(_args(cols), 0, self.records + 1)
        finally:
            r.close()
        if got != self.naccesses:
            raise ValueError("%s: %d accesses, but the footer counts %d" % (self.path, got, self.naccesses))
        return cols

    def _accesses_by_frame(self):
        r = self._reader()
        try:
            if self.indexed:
                for i, n in enumerate(self.frame_records.tolist()):
                    cols = _empty(ACCESS_DTYPES, n)
                    got, read = r.read_accesses(_args(cols), 0, n)
                    if read != n:
                        raise ValueError("%s: frame %d ended after %d of its %d records" % (self.path, i, read, n))
                    yield _head(cols, got, False)
                self._expect_end(r)
                return
            cap = _core.FRAME_RECORDS
            while True:
                cols = _empty(ACCESS_DTYPES, cap)
                got, read = r.read_accesses(_args(cols), 0, cap)
                if read:
                    yield _head(cols, got, False)
                if read < cap:
                    break
        finally:
            r.close()

    def to_numpy(self):
        """Every record with every field (WIDE_DTYPES): a dict of numpy columns of
        the trace's length.  Meant for small traces (about 60 bytes a record);
        frames() and accesses() hold less."""
        if not self.indexed:
            return _widen(list(self._chunks(False)))
        r = self._reader()
        try:
            _, f = _Buffers(self.records).read(r, self.records, 0, 0, False)
            self._expect_end(r)
        finally:
            r.close()
        return _widen([f])

    def to_pandas(self):
        """to_numpy() as a pandas DataFrame (one row per record)."""
        import pandas as pd
        return pd.DataFrame(self.to_numpy(), copy=False)


def _concat(parts, dtypes):
    return {k: (np.concatenate([p[k] for p in parts]) if parts else np.zeros(0, t)) for k, t in dtypes.items()}


def _widen(frames):
    """Frames -> one dict of WIDE_DTYPES columns: the record columns, and the
    instruction counts and event fields spread to every record (zero where a
    kind does not use them)."""
    cols = _concat(frames, RECORD_DTYPES)
    n = len(cols["kind"])

    def spread(table, key):
        col = np.zeros(n, WIDE_DTYPES[key])
        for f in frames:
            t = getattr(f, table)
            col[t["index"] + f.first] = t[key]
        return col

    cols["count"] = spread("instr", "count")
    for k in WIDE_DTYPES:
        if k not in cols:
            cols[k] = spread("events", k)
    return cols
