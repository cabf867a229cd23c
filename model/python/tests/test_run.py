"""mmusim.run, run_many and config against `mmusim run --json` and
`mmusim config show`, and their errors against the program's messages."""

import csv
import io
import os
import threading
import unittest
import warnings

import numpy as np

import mmusim
from . import support


class TestRunMatchesCLI(unittest.TestCase):
    """run()'s counters are `mmusim run --json`'s, every one, in order."""

    def test_every_bundled_trace(self):
        for name in support.bundled():
            with self.subTest(trace=name):
                want, _ = support.cli_json(support.trace(name))
                got = mmusim.run(support.trace(name))
                self.assertEqual(list(got.items()), list(want.items()))
                self.assertEqual(got.status, "done")

    def test_preset_and_overrides(self):
        sets = {"dtlb.4k.ways": 8, "stlb.4k.sets": 256, "stlb.4k.ways": 6, "os.thp": "never", "walker.merge": False,
                "dtlb.4k.holds": ["4k"]}
        args = ["--config", "zen2"]
        for k, v in sets.items():
            text = "[4k]" if isinstance(v, list) else {False: "false", True: "true"}.get(v, str(v))
            args += ["--set", "%s=%s" % (k, text)]
        want, _ = support.cli_json(*args, support.trace("gups"))
        got = mmusim.run(support.trace("gups"), config="zen2", set=sets)
        self.assertEqual(list(got.items()), list(want.items()))
        # The same overrides as "KEY=VALUE" strings, and a config dict as the base.
        strings = [a for a in args[3::2]]
        self.assertEqual(mmusim.run(support.trace("gups"), config="zen2", set=strings), got)
        base = mmusim.config("zen2", set=sets)
        self.assertEqual(mmusim.run(support.trace("gups"), config=base), got)

    def test_workload_of_two_traces(self):
        """Two plain traces are one workload (pids 1000 and 1001), as `mmusim
        run A B` replays them."""
        a, b = support.trace("gzip"), support.trace("python3")
        want, _ = support.cli_json("--set", "cpu.cpus=1", a, b)
        got = mmusim.run([a, b], set={"cpu.cpus": 1})
        self.assertEqual(list(got.items()), list(want.items()))

    def test_phases(self):
        """skip/warmup/max are `mmusim run --skip/--warmup/--max`'s, counts as
        ints or strings; run_many's rows are run()'s."""
        t = support.trace("gzip")
        want, _ = support.cli_json("--skip", "1M", "--warmup", "500K", "--max", "1M", t)
        got = mmusim.run(t, skip="1M", warmup=500000, max="1M")
        self.assertEqual(list(got.items()), list(want.items()))
        self.assertEqual(got["instructions"], 1000000)
        df = mmusim.run_many(t, [{}, {"dtlb.4k.ways": 8}], skip="1M", warmup=500000, max="1M")
        self.assertEqual(int(df["dTLB-load-misses"][0]), got["dTLB-load-misses"])
        with self.assertRaises(ValueError) as cm:
            mmusim.run(t, skip="1k")
        self.assertEqual(str(cm.exception), "skip: '1k': expected a count: digits with an optional K, M or G suffix "
                                            "(10^3, 10^6, 10^9)")
        with self.assertRaises(ValueError) as cm:
            mmusim.run(t, roi=True)
        self.assertEqual(str(cm.exception), "%s: --roi: no ROI begin marker in the trace" % t)

    def test_default_trace(self):
        """No trace: the bundled default, sqlite3, as `mmusim run` with none."""
        want, _ = support.cli_json()
        self.assertEqual(list(mmusim.run().items()), list(want.items()))

    def test_out_of_memory(self):
        """os.exhaustion=stop with too little memory: the counters up to that
        access (the program exits with 3 and prints them), and a warning."""
        args = ["--set", "os.phys_mem_mib=64", "--set", "os.exhaustion=stop", support.trace("gups")]
        rc, out, err = support.cli("run", "--json", *args, check=False)
        self.assertEqual(rc, 3)
        import json
        obj = json.loads(out)
        want = support.report_counters(obj)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            got = mmusim.run(support.trace("gups"), set={"os.phys_mem_mib": 64, "os.exhaustion": "stop"})
        self.assertEqual(list(got.items()), list(want.items()))
        self.assertEqual(got.status, "oom")
        self.assertEqual([x.category for x in w], [mmusim.OutOfMemoryWarning])
        self.assertEqual(str(w[0].message), "out of physical memory (os.phys_mem_mib=64, os.exhaustion=stop): the "
                                            "replay stopped; the counters are those up to that access")

    def test_threads(self):
        """The GIL is released during a replay: two threads replay at once and
        each gets the program's counters."""
        want, _ = support.cli_json(support.trace("zipf"))
        out = [None, None]

        def work(i):
            out[i] = mmusim.run(support.trace("zipf"))
        ts = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual([list(o.items()) for o in out], [list(want.items())] * 2)


class TestRunMany(unittest.TestCase):
    """run_many: one decode pass, a row per configuration equal to run()'s."""

    def test_rows_equal_separate_runs(self):
        path = support.trace("chase")
        configs = [{"dtlb.4k.ways": 4}, {"dtlb.4k.ways": 8, "stlb.4k.sets": 256, "stlb.4k.ways": 6}, "golden-cove",
                   {"pwc.design": "unified"}]
        common = {"os.thp": "never", "cpu.cpus": 4}   # golden-cove has 8 CPUs, skylake 4
        df = mmusim.run_many(path, configs, set=common)
        self.assertEqual(list(df.columns[:6]), ["config", "param.dtlb.4k.ways", "param.stlb.4k.sets",
                                                "param.stlb.4k.ways", "param.pwc.design", "status"])
        self.assertEqual(df["config"].tolist(), ["skylake", "skylake", "golden-cove", "skylake"])
        self.assertEqual(df["status"].tolist(), ["done"] * 4)
        self.assertEqual(df["param.dtlb.4k.ways"].tolist()[:2], [4, 8])
        self.assertTrue(df["param.dtlb.4k.ways"].isna().tolist()[2:] == [True, True])
        for i, item in enumerate(configs):
            if isinstance(item, dict):
                want = mmusim.run(path, set=dict(common, **item))
            else:
                want = mmusim.run(path, config=item, set=common)
            row = df.iloc[i]
            got = {k: int(row[k]) for k in df.columns[6:]}
            self.assertEqual(got, dict(want), "configuration %d" % i)
            self.assertEqual(list(df.columns[6:]), list(want))
        counters = df.columns[6:]
        self.assertEqual({str(df[c].dtype) for c in counters}, {"int64"})

    def test_mismatched_schedule(self):
        with self.assertRaises(ValueError) as cm:
            mmusim.run_many(support.trace("chase"), [{"cpu.cpus": 1}, {"cpu.cpus": 2}])
        self.assertEqual(str(cm.exception),
                         "configuration 1 (skylake) has cpu.cpus 2, configuration 0 (skylake) 1: the configurations "
                         "of one replay must agree on cpu.cpus and os.quantum (they decide the workload's schedule)")

    def test_no_configuration(self):
        with self.assertRaises(ValueError) as cm:
            mmusim.run_many(support.trace("chase"), [])
        self.assertEqual(str(cm.exception), "run_many: no configuration")
        with self.assertRaises(TypeError):
            mmusim.run_many(support.trace("chase"), {"dtlb.4k.ways": 4})


class TestIntervals(unittest.TestCase):
    """intervals() is `mmusim run -I N`'s CSV, cell for cell."""

    def test_rows_equal_cli(self):
        for name, interval, sets in (("procs-rr", 60000, {}), ("fork-cow", 100000, {"cpu.cpus": 1})):
            with self.subTest(trace=name):
                args = ["-I", str(interval)]
                for k, v in sets.items():
                    args += ["--set", "%s=%s" % (k, v)]
                _, out, _ = support.cli("run", *args, support.trace(name))
                rows = list(csv.reader(io.StringIO(out)))
                df = mmusim.intervals(support.trace(name), set=sets, interval=interval)
                self.assertEqual(list(df.columns), rows[0])
                self.assertEqual(df.values.tolist(), [[int(v) for v in r] for r in rows[1:]])
                self.assertEqual({str(t) for t in df.dtypes}, {"int64"})
                self.assertEqual(df.attrs["status"], "done")
                # The rows add up to run()'s totals.
                total = mmusim.run(support.trace(name), set=sets)
                self.assertEqual(int(df["cycles.delta"].sum()), total["cycles"])
                self.assertEqual(int(df["dTLB-load-misses"].sum()), total["dTLB-load-misses"])

    def test_rows_start_after_warmup(self):
        """With a warm-up, the rows are `mmusim run -I N --warmup W`'s."""
        t = support.trace("zipf")
        _, out, _ = support.cli("run", "-I", "50000", "--warmup", "100000", t)
        rows = list(csv.reader(io.StringIO(out)))
        df = mmusim.intervals(t, interval=50000, warmup=100000)
        self.assertEqual(df.values.tolist(), [[int(v) for v in r] for r in rows[1:]])
        self.assertEqual(int(df["accesses"].iloc[0]), 50000)

    def test_bad_interval(self):
        for bad in (0, -1):
            with self.assertRaises(ValueError) as cm:
                mmusim.intervals(support.trace("zipf"), interval=bad)
            self.assertEqual(str(cm.exception), "interval: expected a number of accesses, at least 1")


class TestConfig(unittest.TestCase):
    """config() against the program's view of the same configuration."""

    def test_config_equals_json_report(self):
        """Every key, in order, with the JSON report's values and types."""
        for preset in mmusim.presets():
            with self.subTest(preset=preset):
                _, want = support.cli_json("--config", preset, "--set", "dtlb.4k.ways=2", support.trace("zipf"))
                self.assertEqual(list(mmusim.config(preset, set={"dtlb.4k.ways": 2}).items()), list(want.items()))

    def test_presets(self):
        _, out, _ = support.cli("config", "list")
        self.assertEqual(mmusim.presets(), [line.split()[0] for line in out.splitlines() if line.strip()])

    def test_version(self):
        _, out, _ = support.cli("--version")
        self.assertEqual("mmusim " + mmusim.__version__, out.strip())

    def test_config_file(self):
        with open(os.path.join(support.SOURCE_DIR, "configs", "zen2.yaml")) as f:
            text = f.read()
        import tempfile
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(text)
            f.flush()
            self.assertEqual(mmusim.config(f.name), mmusim.config("zen2"))


class TestErrors(support.TempDirCase):
    """Errors are the library's one line, as `mmusim run` dies with it."""

    def expect(self, exc, cli_args, **kw):
        want = support.cli_error("run", *cli_args)
        with self.assertRaises(exc) as cm:
            mmusim.run(**kw)
        got = cm.exception.strerror if isinstance(cm.exception, OSError) else str(cm.exception)
        self.assertEqual(got, want)
        return want

    def test_bad_values(self):
        t = support.trace("zipf")
        self.assertEqual(self.expect(ValueError, ["--set", "dtlb.4k.sets=3", t], traces=t, set={"dtlb.4k.sets": 3}),
                         "--set dtlb.4k.sets=3: 3 is not a power of two")
        self.assertEqual(self.expect(ValueError, ["--set", "bogus.key=1", t], traces=t, set={"bogus.key": 1}),
                         "--set bogus.key=1: unknown key")
        self.expect(ValueError, ["--set", "walker.merge=maybe", t], traces=t, set=["walker.merge=maybe"])
        self.expect(ValueError, ["--set", "dtlb.4k.holds=[4k, 2m]", "--set", "dtlb.2m.holds=[2m]", t], traces=t,
                    set={"dtlb.4k.holds": ["4k", "2m"], "dtlb.2m.holds": ["2m"]})

    def test_bad_config_file(self):
        bad = self.path("bad.yaml")
        with open(bad, "w") as f:
            f.write("dtlb:\n  4k:\n    sets: 3\n")
        t = support.trace("zipf")
        self.assertEqual(self.expect(ValueError, ["--config", bad, t], traces=t, config=bad),
                         bad + ":3: dtlb.4k.sets: 3 is not a power of two")
        with self.assertRaises(FileNotFoundError) as cm:
            mmusim.config(self.path("none.yaml"))
        self.assertEqual(cm.exception.strerror, self.path("none.yaml") + ": cannot open: No such file or directory")

    def test_unreadable_trace(self):
        missing = self.path("none.trace.zst")
        self.assertEqual(self.expect(FileNotFoundError, [missing], traces=missing),
                         missing + ": offset 0: cannot open: No such file or directory")
        self.expect(IsADirectoryError, [self.dir], traces=self.dir)
        with open(self.path("x"), "w") as f:
            f.write("not a trace")
        self.expect(ValueError, [self.path("x")], traces=self.path("x"))

    def test_trace_with_too_many_cpus(self):
        """A trace with its own processes that runs on CPU 5 of a 4-CPU machine."""
        with open(self.path("t.txt"), "w") as f:
            f.write("switch 1 @5\nmmap 1 0x1000 0x1000 rw- anon\nL 0x1000 8 @5\n")
        path = self.path("t.trace.zst")
        support.cli("trace", "import", "--from", "text", self.path("t.txt"), "-o", path)
        self.assertEqual(self.expect(ValueError, [path], traces=path),
                         path + ": record 0: CPU 5, but the configuration has 4 (cpu.cpus)")


if __name__ == "__main__":
    unittest.main()
