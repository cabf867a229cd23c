"""mmusim.sweep and load_sweep against the files `mmusim sweep` writes."""

import csv
import json
import os
import unittest

import pandas as pd

import mmusim
from mmusim.sweeps import default_out
from . import support

SMOKE = os.path.join(support.SOURCE_DIR, "experiments", "smoke", "spec.yaml")


class SweepCase(support.TempDirCase):

    def assert_matches_files(self, df, out):
        """df is results.csv, cell for cell: its header as columns, its rows in
        order; each value typed as results.jsonl has it (int, bool, list or str), a
        counter a run lacks (an empty cell, a member absent from its JSON
        object) missing; counters int64, or nullable Int64 when some run
        lacks them."""
        with open(os.path.join(out, "results.csv"), newline="") as f:
            rows = list(csv.reader(f))
        with open(os.path.join(out, "results.jsonl")) as f:
            objs = [json.loads(line) for line in f]
        header = rows[0]
        self.assertEqual(list(df.columns), header)
        self.assertEqual(len(df), len(rows) - 1)
        self.assertEqual(len(objs), len(df))
        for i, obj in enumerate(objs):
            for j, c in enumerate(header):
                v = df[c].iloc[i]
                if c in obj:
                    self.assertEqual(rows[i + 1][j], _csv_text(obj[c]), "row %d %s" % (i, c))
                    self.assertEqual((type(_plain(v)), _plain(v)), (type(obj[c]), obj[c]), "row %d %s" % (i, c))
                else:
                    self.assertEqual(rows[i + 1][j], "", "row %d %s" % (i, c))
                    self.assertIs(v, pd.NA, "row %d %s" % (i, c))
        for c in header:
            if c in ("id", "trace", "status", "method") or c.startswith("param.") or c.startswith("config."):
                continue
            want = "int64" if all(c in o for o in objs) else "Int64"
            self.assertEqual(str(df[c].dtype), want, c)


def _plain(v):
    """A numpy or pandas scalar as the Python value it holds."""
    return v.item() if hasattr(v, "item") else v


def _csv_text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):   # a config list: the CSV has its config text
        return "[" + ", ".join(v) + "]"
    return str(v)


class TestLoadSweep(SweepCase):

    def test_smoke_spec(self):
        """The smoke spec swept by the program, loaded."""
        out = self.path("smoke")
        support.cli("sweep", SMOKE, "--out", out, "--jobs", "2")
        df = mmusim.load_sweep(out)
        self.assertEqual(len(df), 8)
        self.assert_matches_files(df, out)
        self.assertEqual([str(df[c].dtype) for c in ("param.dtlb.4k.ways", "config.os.thp", "config.cpu.wp",
                                                      "config.dtlb.4k.holds", "cycles")],
                         ["int64", "object", "bool", "object", "int64"])
        self.assertEqual(df["param.dtlb.4k.ways"].tolist(), [4, 4, 8, 8] * 2)
        self.assertEqual(df["trace"].tolist(), ["../../traces/seq-stream.trace.zst"] * 4 + ["../../traces/gups.trace.zst"] * 4)
        # Every counter of every run is `mmusim run`'s for its config and trace
        # (its totals: a sweep's tables leave per-CPU and per-process ones out).
        row = df.iloc[5]
        want, _ = support.cli_json("--set", "os.thp=never", "--set", "dtlb.4k.ways=4", "--set", "stlb.4k.sets=256",
                                   "--set", "stlb.4k.ways=6", support.trace("gups"))
        want = support.totals(want)
        self.assertEqual({k: int(row[k]) for k in want}, want)

    def test_missing(self):
        with self.assertRaises(FileNotFoundError):
            mmusim.load_sweep(self.path("nothing"))

    def test_one_pass_rows_lack_counters(self):
        """A direct run file kept by a one-pass sweep (experiments/README.md):
        one row with every counter, one without cycles -- a nullable column."""
        base = {"traces": [support.trace("zipf")], "set": {"frontend.max_outstanding": 1, "os.thp": "never"}}
        out = self.path("mixed")
        direct = mmusim.sweep(dict(base, params={"dtlb.4k.sets": [16]}, onepass=False), out=out, jobs=1)
        self.assertEqual(direct["method"].tolist(), ["direct"])
        df = mmusim.sweep(dict(base, params={"dtlb.4k.sets": [16, 32]}), out=out, jobs=1)
        self.assertEqual(df["method"].tolist(), ["direct", "onepass"])
        self.assertEqual(str(df["cycles"].dtype), "Int64")
        self.assertEqual(int(df["cycles"].iloc[0]), int(direct["cycles"].iloc[0]))
        self.assertIs(df["cycles"].iloc[1], pd.NA)
        self.assert_matches_files(df, out)
        want = mmusim.run(support.trace("zipf"), set=dict(base["set"], **{"dtlb.4k.sets": 32}))
        self.assertEqual(int(df["dTLB-load-misses"].iloc[1]), want["dTLB-load-misses"])


class TestSweep(SweepCase):

    def test_spec_file(self):
        """sweep() runs the program: its files, and the DataFrame of them; a
        second call finds every run done and returns the same."""
        out = self.path("smoke")
        df = mmusim.sweep(SMOKE, out=out, jobs=2)
        self.assert_matches_files(df, out)
        self.assertEqual(len(os.listdir(os.path.join(out, "runs"))), 8)
        pd.testing.assert_frame_equal(mmusim.sweep(SMOKE, out=out), df)

    def test_spec_dict(self):
        """A spec as a dict: its rows are run()'s counters for each point."""
        spec = {"traces": [support.trace("gups")], "config": "zen2", "set": {"os.thp": "never"},
                "params": {"dtlb.4k.ways": [4, 8]}, "onepass": False}
        df = mmusim.sweep(spec, out=self.path("d"))
        self.assert_matches_files(df, self.path("d"))
        self.assertEqual(df["trace"].tolist(), [support.trace("gups")] * 2)
        for i, ways in enumerate([4, 8]):
            want = support.totals(mmusim.run(support.trace("gups"), config="zen2",
                                             set={"os.thp": "never", "dtlb.4k.ways": ways}))
            self.assertEqual({k: int(df[k].iloc[i]) for k in want}, want)
        with self.assertRaises(ValueError) as cm:
            mmusim.sweep(spec)
        self.assertEqual(str(cm.exception), "sweep: a spec given as a dict needs out= (the results folder)")

    def test_bad_spec(self):
        """The program's one line, without its "mmusim: " prefix."""
        spec = self.path("bad.yaml")
        with open(spec, "w") as f:
            f.write("traces: [%s]\nparams:\n  dtlb.4k.ways: [4, 8]\n  no.such.key: [1]\n" % support.trace("gups"))
        want = support.cli_error("sweep", spec, "--out", self.path("o"))
        with self.assertRaises(ValueError) as cm:
            mmusim.sweep(spec, out=self.path("o"))
        self.assertEqual(str(cm.exception), want)
        self.assertTrue(want.startswith(spec + ":4: "), want)

    def test_default_out(self):
        self.assertEqual(default_out("a/b/spec.yaml"), "a/b/spec-results")
        self.assertEqual(default_out("spec.yml"), "spec-results")
        self.assertEqual(default_out("spec"), "spec-results")

    def test_program(self):
        """The program is found beside the package (the build tree's) without
        MMUSIM_PROGRAM, and MMUSIM_PROGRAM wins when set."""
        given = os.environ.get("MMUSIM_PROGRAM")
        try:
            os.environ.pop("MMUSIM_PROGRAM", None)
            found = mmusim.program()
            os.environ["MMUSIM_PROGRAM"] = "/x/mmusim"
            self.assertEqual(mmusim.program(), "/x/mmusim")
        finally:
            if given is None:
                os.environ.pop("MMUSIM_PROGRAM", None)
            else:
                os.environ["MMUSIM_PROGRAM"] = given
        if given:
            self.assertEqual(os.path.realpath(found), os.path.realpath(given))


if __name__ == "__main__":
    unittest.main()
