"""mmusim.Trace: records read back field by field, against a trace written
from known records, against the program's own views of the bundled traces
(`mmusim trace info`, `mmusim trace cat`), and bad files."""

import os
import unittest
import zlib

import numpy as np
import pandas as pd

import mmusim
from . import support

# A text trace (traces/TEXT_FORMAT.md) with every record kind, and each
# record as the reader must give it back.  Kinds without a cpu in the
# compressed format (fork, exec, exit, mmap, munmap, mprotect) read back on
# cpu 0 whatever their @CPU (FORMAT.md, "The tag byte").
KNOWN_TEXT = """\
# source: handmade
# command: ./prog --flag
switch 42 @1
mmap 42 0x7f0000000000 0x200000 rw- anon,thp
mmap 42 0x400000 0x3000 r-x - 3 0x2000 @3
I 0x401000 4 @1
instr 40 @1
L 0x7ffe1000 8 @1
S.k 0xffffc90000001000 4 @1
I 0x401004 3 @1
L 0x1000 1
instr 7
mprotect 42 0x7f0000000000 0x1000 r--
cr3 0x8000000000005001 noflush @1
cr3 0x6000
invlpg 0x7f0000000000 @1
fork 42 43
exec 43
munmap 43 0x7f0000000000 0x1000
exit 43
S 0xdeadbeef 65535 @255
L 0x10 2 @2
I.k 0xffffffff81000000 12
instr 100000 @2
"""

A, I, E = "access", "instr", "event"
# (table, fields): accesses (kind ACCESS, cpu, acc, priv, size, va),
# instruction counts (cpu, count), events (kind, cpu, pid, child, addr, len,
# prot, flags, file_id, offset, value, noflush).
KNOWN = [
    (E, (mmusim.SWITCH, 1, 42, 0, 0, 0, 0, 0, 0, 0, 0, False)),
    (E, (mmusim.MMAP, 0, 42, 0, 0x7f0000000000, 0x200000, 3, mmusim.MAP_ANON | mmusim.MAP_THP, 0, 0, 0, False)),
    (E, (mmusim.MMAP, 0, 42, 0, 0x400000, 0x3000, mmusim.PROT_READ | mmusim.PROT_EXEC, 0, 3, 0x2000, 0, False)),
    (A, (1, mmusim.IFETCH, mmusim.USER, 4, 0x401000)),
    (I, (1, 40)),
    (A, (1, mmusim.LOAD, mmusim.USER, 8, 0x7ffe1000)),
    (A, (1, mmusim.STORE, mmusim.SUPERVISOR, 4, 0xffffc90000001000)),
    (A, (1, mmusim.IFETCH, mmusim.USER, 3, 0x401004)),
    (A, (0, mmusim.LOAD, mmusim.USER, 1, 0x1000)),
    (I, (0, 7)),
    (E, (mmusim.MPROTECT, 0, 42, 0, 0x7f0000000000, 0x1000, mmusim.PROT_READ, 0, 0, 0, 0, False)),
    (E, (mmusim.CR3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x8000000000005001, True)),
    (E, (mmusim.CR3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x6000, False)),
    (E, (mmusim.INVLPG, 1, 0, 0, 0x7f0000000000, 0, 0, 0, 0, 0, 0, False)),
    (E, (mmusim.FORK, 0, 42, 43, 0, 0, 0, 0, 0, 0, 0, False)),
    (E, (mmusim.EXEC, 0, 43, 0, 0, 0, 0, 0, 0, 0, 0, False)),
    (E, (mmusim.MUNMAP, 0, 43, 0, 0x7f0000000000, 0x1000, 0, 0, 0, 0, 0, False)),
    (E, (mmusim.EXIT, 0, 43, 0, 0, 0, 0, 0, 0, 0, 0, False)),
    (A, (255, mmusim.STORE, mmusim.USER, 65535, 0xdeadbeef)),
    (A, (2, mmusim.LOAD, mmusim.USER, 2, 0x10)),
    (A, (0, mmusim.IFETCH, mmusim.SUPERVISOR, 12, 0xffffffff81000000)),
    (I, (2, 100000)),
]
EVENT_FIELDS = ("kind", "cpu", "pid", "child", "addr", "len", "prot", "flags", "file_id", "offset", "value",
                "noflush")


def _rows(cols, names):
    return [tuple(v.item() for v in vals) for vals in zip(*(cols[n] for n in names))]


class TestKnownRecords(support.TempDirCase):
    """A trace imported by the program from known text records, read back."""

    def setUp(self):
        super().setUp()
        with open(self.path("known.txt"), "w") as f:
            f.write(KNOWN_TEXT)
        self.file = self.path("known.trace.zst")
        support.cli("trace", "import", "--from", "text", self.path("known.txt"), "-o", self.file)
        self.t = mmusim.Trace(self.file)

    def test_metadata(self):
        t = self.t
        self.assertEqual((t.source, t.command, t.recorder), ("handmade", "./prog --flag", "mmusim " + mmusim.__version__))
        self.assertEqual(t.version, (1, 1))   # written by this version (traces/FORMAT.md)
        n_acc = sum(1 for k, _ in KNOWN if k == A)
        n_ev = sum(1 for k, _ in KNOWN if k == E)
        self.assertEqual((t.records, t.naccesses, t.instructions, t.events), (len(KNOWN), n_acc, 100047, n_ev))
        self.assertEqual((t.nframes, len(t), t.frame_first.tolist(), t.frame_records.tolist()),
                         (1, 22, [0], [22]))
        self.assertEqual(t.meta["accesses"], 8)

    def test_frame_columns(self):
        [f] = list(self.t.frames())
        self.assertEqual((f.index, f.first, len(f)), (0, 0, 22))
        self.assertEqual({k: a.dtype for k, a in f.items()}, {k: np.dtype(t) for k, t in mmusim.RECORD_DTYPES.items()})
        kinds = {A: mmusim.ACCESS, I: mmusim.INSTR}
        self.assertEqual(f["kind"].tolist(), [kinds.get(tab, fields[0]) for tab, fields in KNOWN])
        cpus = [fields[0] if tab != E else fields[1] for tab, fields in KNOWN]
        self.assertEqual(f["cpu"].tolist(), cpus)
        acc = [fields if tab == A else (c, 0, 0, 0, 0) for (tab, fields), c in zip(KNOWN, cpus)]
        self.assertEqual(_rows(f, ("cpu", "acc", "priv", "size", "va")), acc)
        df = pd.DataFrame(f)
        self.assertEqual((df.shape, list(df.columns)), ((22, 6), list(mmusim.RECORD_DTYPES)))

    def test_instr_and_events(self):
        [f] = list(self.t.frames())
        self.assertEqual({k: a.dtype for k, a in f.instr.items()}, {k: np.dtype(t) for k, t in mmusim.INSTR_DTYPES.items()})
        self.assertEqual({k: a.dtype for k, a in f.events.items()}, {k: np.dtype(t) for k, t in mmusim.EVENT_DTYPES.items()})
        self.assertEqual(_rows(f.instr, ("index", "cpu", "count")),
                         [(i,) + fields for i, (tab, fields) in enumerate(KNOWN) if tab == I])
        self.assertEqual(_rows(f.events, ("index",) + EVENT_FIELDS),
                         [(i,) + fields for i, (tab, fields) in enumerate(KNOWN) if tab == E])

    def test_accesses(self):
        want = [fields for tab, fields in KNOWN if tab == A]
        a = self.t.accesses()
        self.assertEqual({k: v.dtype for k, v in a.items()}, {k: np.dtype(t) for k, t in mmusim.ACCESS_DTYPES.items()})
        self.assertEqual(_rows(a, ("cpu", "acc", "priv", "size", "va")), want)
        [b] = list(self.t.accesses(by_frame=True))
        self.assertEqual(_rows(b, ("cpu", "acc", "priv", "size", "va")), want)

    def test_to_numpy_and_pandas(self):
        w = self.t.to_numpy()
        self.assertEqual(list(w), list(mmusim.WIDE_DTYPES))
        for i, (tab, fields) in enumerate(KNOWN):
            row = {k: w[k][i].item() for k in w}
            want = dict.fromkeys(w, 0)
            want["noflush"] = False
            if tab == A:
                want.update(zip(("cpu", "acc", "priv", "size", "va"), fields), kind=mmusim.ACCESS)
            elif tab == I:
                want.update(kind=mmusim.INSTR, cpu=fields[0], count=fields[1])
            else:
                want.update(zip(EVENT_FIELDS, fields))
            self.assertEqual(row, want, "record %d" % i)
        df = self.t.to_pandas()
        self.assertEqual(list(df.columns), list(mmusim.WIDE_DTYPES))
        self.assertEqual(len(df), 22)
        self.assertEqual(df["value"].iloc[11], 0x8000000000005001)
        self.assertEqual(str(df["va"].dtype), "uint64")

    def test_kind_names(self):
        self.assertEqual([mmusim.KIND_NAMES[k] for k in (mmusim.ACCESS, mmusim.INSTR, mmusim.SWITCH, mmusim.FORK,
                                                          mmusim.EXEC, mmusim.EXIT, mmusim.MMAP, mmusim.MUNMAP,
                                                          mmusim.MPROTECT, mmusim.CR3, mmusim.INVLPG)],
                         ["access", "instr", "switch", "fork", "exec", "exit", "mmap", "munmap", "mprotect", "cr3",
                          "invlpg"])

    def test_empty_trace(self):
        with open(self.path("empty.txt"), "w") as f:
            f.write("# source: nothing\n")
        path = self.path("empty.trace.zst")
        support.cli("trace", "import", "--from", "text", self.path("empty.txt"), "-o", path)
        t = mmusim.Trace(path)
        self.assertEqual((t.records, t.naccesses, t.nframes, t.source), (0, 0, 0, "nothing"))
        self.assertEqual(list(t.frames()), [])
        self.assertEqual({k: len(v) for k, v in t.accesses().items()}, dict.fromkeys(mmusim.ACCESS_DTYPES, 0))
        self.assertEqual({k: len(v) for k, v in t.to_numpy().items()}, dict.fromkeys(mmusim.WIDE_DTYPES, 0))


def _info(path):
    """`mmusim trace info`'s "key: value" lines."""
    _, out, _ = support.cli("trace", "info", path)
    return dict(line.split(": ", 1) for line in out.splitlines())


class TestBundledTraces(unittest.TestCase):
    """Every bundled trace, read whole, against `mmusim trace info`'s counts."""

    def test_counts_match_trace_info(self):
        for name in support.bundled():
            with self.subTest(trace=name):
                path = support.trace(name)
                info = _info(path)
                t = mmusim.Trace(path)
                self.assertEqual((t.source, t.command, t.recorder), (info["source"], info["command"], info["recorder"]))
                self.assertEqual((t.records, t.naccesses, t.instructions, t.events),
                                 tuple(int(info[k]) for k in ("records", "accesses", "instructions", "events")))
                kinds = np.zeros(len(mmusim.KIND_NAMES), np.int64)
                acc = np.zeros(3, np.int64)
                priv = np.zeros(2, np.int64)
                instructions = 0
                nrec = 0
                for f in t.frames(reuse=True):
                    self.assertEqual(f.first, nrec)
                    nrec += len(f)
                    kinds += np.bincount(f["kind"], minlength=len(kinds))
                    is_acc = f["kind"] == mmusim.ACCESS
                    acc += np.bincount(f["acc"][is_acc], minlength=3)
                    priv += np.bincount(f["priv"][is_acc], minlength=2)
                    instructions += int(f.instr["count"].sum())
                    self.assertEqual(f["kind"][f.instr["index"]].tolist(), [mmusim.INSTR] * len(f.instr["index"]))
                    ev = f["kind"][f.events["index"]]
                    self.assertEqual(ev.tolist(), f.events["kind"].tolist())
                    self.assertEqual(len(f.instr["index"]) + len(f.events["index"]), int((~is_acc).sum()))
                self.assertEqual(nrec, int(info["records"]))
                self.assertEqual(int(kinds[mmusim.ACCESS]), int(info["records.access"]))
                self.assertEqual(int(kinds[mmusim.INSTR]), int(info["records.instr"]))
                for k in range(mmusim.SWITCH, len(kinds)):
                    self.assertEqual(int(kinds[k]), int(info["events." + mmusim.KIND_NAMES[k]]), mmusim.KIND_NAMES[k])
                self.assertEqual(acc.tolist(), [int(info["accesses." + n]) for n in ("load", "store", "ifetch")])
                self.assertEqual(priv.tolist(), [int(info["accesses." + n]) for n in ("user", "supervisor")])
                self.assertEqual(instructions, int(info["instructions"]))

    def test_every_way_of_reading_agrees(self):
        """sqlite3 has 7 frames: frames(), frames(reuse=True), frame(i), slices,
        accesses() and accesses(by_frame=True) give the same values."""
        t = mmusim.Trace(support.trace("sqlite3"))
        self.assertEqual(t.nframes, 7)
        frames = list(t.frames())
        self.assertEqual([f.index for f in frames], list(range(7)))
        self.assertEqual([f.first for f in frames], t.frame_first.tolist())
        self.assertEqual([len(f) for f in frames], t.frame_records.tolist())
        for f, g in zip(frames, t.frames(reuse=True)):
            self.assert_same_frame(f, g)
        self.assert_same_frame(t.frame(3), frames[3])
        self.assert_same_frame(t.frame(-1), frames[6])
        for f, g in zip(t.frames(2, 5), frames[2:5]):
            self.assert_same_frame(f, g)
        with self.assertRaises(IndexError):
            t.frame(7)
        a = t.accesses()
        by_frame = list(t.accesses(by_frame=True))
        for k in mmusim.ACCESS_DTYPES:
            want = np.concatenate([f[k][f["kind"] == mmusim.ACCESS] for f in frames])
            self.assertTrue(np.array_equal(a[k], want), k)
            self.assertTrue(np.array_equal(np.concatenate([b[k] for b in by_frame]), want), k)

    def assert_same_frame(self, f, g):
        self.assertEqual((f.index, f.first), (g.index, g.first))
        for table in ("records", "instr", "events"):
            a, b = (f, g) if table == "records" else (getattr(f, table), getattr(g, table))
            self.assertEqual(list(a), list(b))
            for k in a:
                self.assertTrue(np.array_equal(a[k], b[k]), "%s %s" % (table, k))

    def test_records_match_trace_cat(self):
        """Every bundled trace's first 500 records and the 100 around each frame
        boundary, against `mmusim trace cat`'s text of them."""
        for name in support.bundled():
            with self.subTest(trace=name):
                path = support.trace(name)
                t = mmusim.Trace(path)
                windows = [(0, 500)] + [(first - 50, 100) for first in t.frame_first.tolist()[1:]]
                text = {}
                for start, count in windows:
                    _, out, _ = support.cli("trace", "cat", path, "--from", start, "--count", count)
                    lines = out.splitlines()
                    self.assertEqual(len(lines), count)
                    text.update(zip(range(start, start + count), lines))
                seen = 0
                for f in t.frames(reuse=True):
                    for i in range(f.first, f.first + len(f)):
                        if i in text:
                            self.assertEqual(_text_record(f, i - f.first), text[i], "record %d" % i)
                            seen += 1
                self.assertEqual(seen, len(text))


def _text_record(f, j):
    """Record j of frame f as trace_text_format writes it (traces/TEXT_FORMAT.md,
    "What the writer writes")."""
    r = {k: f[k][j].item() for k in f}
    for table in (f.instr, f.events):
        [at] = np.nonzero(table["index"] == j)[0].tolist() or [None]
        if at is not None:
            r.update({k: table[k][at].item() for k in table if k != "index"})
    kind = mmusim.KIND_NAMES[r["kind"]]
    if kind == "access":
        s = "%s%s 0x%x %d" % ("LSI"[r["acc"]], ".k" if r["priv"] else "", r["va"], r["size"])
    elif kind == "instr":
        s = "instr %d" % r["count"]
    elif kind in ("switch", "exec", "exit"):
        s = "%s %d" % (kind, r["pid"])
    elif kind == "fork":
        s = "fork %d %d" % (r["pid"], r["child"])
    elif kind == "mmap":
        s = "mmap %d 0x%x 0x%x %s %s" % (r["pid"], r["addr"], r["len"], _prot(r["prot"]), _flags(r["flags"]))
        if r["file_id"] or r["offset"]:
            s += " %d 0x%x" % (r["file_id"], r["offset"])
    elif kind == "munmap":
        s = "munmap %d 0x%x 0x%x" % (r["pid"], r["addr"], r["len"])
    elif kind == "mprotect":
        s = "mprotect %d 0x%x 0x%x %s" % (r["pid"], r["addr"], r["len"], _prot(r["prot"]))
    elif kind == "cr3":
        s = "cr3 0x%x%s" % (r["value"], " noflush" if r["noflush"] else "")
    else:
        s = "invlpg 0x%x" % r["addr"]
    return s + (" @%d" % r["cpu"] if r["cpu"] else "")


def _prot(p):
    return "".join(c if p & b else "-" for c, b in (("r", 1), ("w", 2), ("x", 4))) if p < 8 else str(p)


def _flags(f):
    names = [n for n, b in (("anon", 1), ("shared", 2), ("huge", 4), ("thp", 8), ("kernel", 16)) if f & b]
    return (",".join(names) or "-") if f < 32 else str(f)


class TestBadFiles(support.TempDirCase):
    """Bad files raise the library's message, as the program prints it."""

    def expect(self, path, exc, errno=None):
        """Trace(path) (or reading it) raises exc with the message `mmusim
        trace info` dies with."""
        want = support.cli_error("trace", "info", path)
        with self.assertRaises(exc) as cm:
            t = mmusim.Trace(path)
            for _ in t.frames():
                pass
        e = cm.exception
        if errno is not None:
            self.assertEqual((e.errno, e.strerror), (errno, want))
        else:
            self.assertEqual(str(e), want)
        return want

    def test_missing(self):
        want = self.expect(self.path("nope.trace.zst"), FileNotFoundError, 2)
        self.assertEqual(want, self.path("nope.trace.zst") + ": offset 0: cannot open: No such file or directory")

    def test_directory(self):
        want = self.expect(self.dir, IsADirectoryError, 21)
        self.assertEqual(want, self.dir + ": offset 0: is a directory")

    def test_not_a_trace(self):
        with open(self.path("x"), "w") as f:
            f.write("hello, world\n" * 4)
        want = self.expect(self.path("x"), ValueError)
        self.assertEqual(want, self.path("x") + ": offset 0: not an mmusim trace (bad magic)")

    def test_truncated(self):
        """A trace cut inside its first frame has no footer: Trace() opens it
        (no seek index, counts unknown) and reading stops where the file ends."""
        cut = self.path("cut.trace.zst")
        with open(support.trace("gups"), "rb") as f:
            data = f.read(300000)
        with open(cut, "wb") as f:
            f.write(data)
        frame0 = 8 + int.from_bytes(data[4:8], "little")   # FORMAT.md: H = 8 + S
        t = mmusim.Trace(cut)
        self.assertEqual((t.indexed, t.records, t.nframes), (False, None, 0))
        want = self.expect(cut, ValueError)
        self.assertEqual(want, "%s: offset %d: frame 0 is truncated (the file ends at offset 300000)" % (cut, frame0))
        with self.assertRaises(ValueError) as cm:
            t.accesses()
        self.assertEqual(str(cm.exception), want)
        with self.assertRaises(ValueError) as cm:
            next(t.frames(1))
        self.assertEqual(str(cm.exception), cut + ": cannot choose frames: the file has no seek index (truncated?)")

    def footer_accesses(self, delta):
        """A copy of gups whose footer counts `delta` more accesses, its CRC
        made right again (FORMAT.md, "Trailer"), so that only reading the
        frames to the end can tell."""
        bad = self.path("bad.trace.zst")
        with open(support.trace("gups"), "rb") as f:
            data = bytearray(f.read())
        footer = len(data) - 56
        n = int.from_bytes(data[footer + 8:footer + 16], "little")
        data[footer + 8:footer + 16] = (n + delta).to_bytes(8, "little")
        trailer = int.from_bytes(data[footer + 32:footer + 40], "little")
        data[footer + 44:footer + 48] = zlib.crc32(bytes(data[trailer + 8:footer + 44])).to_bytes(4, "little")
        with open(bad, "wb") as f:
            f.write(data)
        t = mmusim.Trace(support.trace("gups"))
        counts = (t.records, "%d", t.instructions, t.events)
        fmt = "%s: offset %d: the footer counts %d records, %s accesses, %d instructions, %d events; " \
              "the frames hold %d, %s, %d, %d"
        want = fmt % ((bad, footer + 8) + counts + counts) % (n + delta, n)
        return bad, want

    def test_footer_counts_more_accesses(self):
        bad, want = self.footer_accesses(+1)
        self.assertEqual(mmusim.Trace(bad).naccesses, 250001)
        self.assertEqual(self.expect(bad, ValueError), want)
        with self.assertRaises(ValueError) as cm:
            mmusim.Trace(bad).accesses()
        self.assertEqual(str(cm.exception), want)

    def test_footer_counts_fewer_accesses(self):
        """accesses() sizes its arrays from the footer: one access too many to
        fit, and the library's own message still comes out."""
        bad, want = self.footer_accesses(-1)
        self.assertEqual(self.expect(bad, ValueError), want)
        with self.assertRaises(ValueError) as cm:
            mmusim.Trace(bad).accesses()
        self.assertEqual(str(cm.exception), want)


if __name__ == "__main__":
    unittest.main()
