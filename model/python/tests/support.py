"""What the Python tests share: where things are, and running the mmusim
program to get the expectations the package must meet."""

import json
import os
import re
import subprocess
import tempfile
import unittest

import mmusim

# model/python/tests -> the source tree
SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TRACES_DIR = os.path.join(SOURCE_DIR, "traces")
BUILD_DIR = os.environ.get("MMUSIM_BUILD_DIR")


def trace(name):
    return os.path.join(TRACES_DIR, name + ".trace.zst")


def bundled():
    """The bundled traces' names, from the source tree (not from the package)."""
    return sorted(n[:-len(".trace.zst")] for n in os.listdir(TRACES_DIR) if n.endswith(".trace.zst"))


def cli(*args, check=True):
    """Run the mmusim program: (exit status, stdout, stderr)."""
    p = subprocess.run([mmusim.program()] + [str(a) if isinstance(a, int) else os.fspath(a) for a in args], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and p.returncode != 0:
        raise AssertionError("mmusim %s: status %d: %s" % (" ".join(map(str, args)), p.returncode, p.stderr))
    return p.returncode, p.stdout, p.stderr


def cli_error(*args):
    """The one-line message the program dies with (status 2), without its
    "mmusim: " prefix: the library's message."""
    rc, out, err = cli(*args, check=False)
    if rc != 2 or not err.startswith("mmusim: ") or err.count("\n") != 1:
        raise AssertionError("mmusim %s: expected status 2 and one line, got %d: %r" % (args, rc, err))
    return err[len("mmusim: "):-1]


# The JSON report's members that are no counters (besides config.*).
REPORT_HEADER = ("schema", "mmusim", "title", "trace_hash", "metrics")


def report_counters(obj):
    """The counters of a parsed `mmusim run --json` report, in order."""
    return {k: v for k, v in obj.items() if k not in REPORT_HEADER and not k.startswith("config.")}


def totals(counters):
    """The totals of a run's counters: without the per-CPU and per-process
    ones (cpuN.NAME, pidN.NAME), which a sweep's tables leave out."""
    return {k: v for k, v in counters.items() if not re.match(r"(cpu|pid)[0-9]+\.", k)}


def cli_json(*args):
    """`mmusim run --json ARGS`: (counters in order, config.KEY values)."""
    _, out, _ = cli("run", "--json", *args)
    obj = json.loads(out)
    config = {k[len("config."):]: v for k, v in obj.items() if k.startswith("config.")}
    return report_counters(obj), config


class TempDirCase(unittest.TestCase):
    """A TestCase with a scratch directory, self.dir, removed afterwards."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="mmusim-py-")
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)
