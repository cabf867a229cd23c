"""The package as `cmake --install` leaves it: importable from
PREFIX/lib/python3/dist-packages, self-contained, finding the installed
program and traces."""

import json
import os
import subprocess
import sys
import unittest

import mmusim
from . import support

PROBE = """
import json, mmusim
t = mmusim.bundled_trace("zipf")
print(json.dumps([mmusim.__file__, mmusim._core.__file__, mmusim.program(), t, mmusim.__version__,
                  mmusim.run(t)["cycles"], len(mmusim.sweep.__doc__) > 0]))
"""


class TestInstall(support.TempDirCase):

    def test_installed_package(self):
        if not support.BUILD_DIR:
            self.skipTest("MMUSIM_BUILD_DIR is not set (tests/test_python.c sets it)")
        prefix = self.path("prefix")
        subprocess.run(["cmake", "--install", support.BUILD_DIR, "--prefix", prefix], check=True,
                       stdout=subprocess.DEVNULL)
        site = os.path.join(prefix, "lib", "python3", "dist-packages")
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MMUSIM_PROGRAM")}
        env["PYTHONPATH"] = site
        env["PATH"] = "/usr/bin:/bin"   # not the build's program
        p = subprocess.run([sys.executable, "-c", PROBE], cwd="/", env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        init, core, program, trace, version, cycles, doc = json.loads(p.stdout)
        pkg = os.path.join(site, "mmusim")
        self.assertEqual(os.path.dirname(init), pkg)
        self.assertEqual(os.path.dirname(core), pkg)
        self.assertEqual(program, os.path.join(prefix, "bin", "mmusim"))
        self.assertEqual(trace, os.path.join(prefix, "share", "mmusim", "traces", "zipf.trace.zst"))
        self.assertEqual(version, mmusim.__version__)
        want, _ = support.cli_json(support.trace("zipf"))
        self.assertEqual(cycles, want["cycles"])
        self.assertTrue(doc)
        # Self-contained: the module needs no libmmusim.so.
        ldd = subprocess.run(["ldd", core], stdout=subprocess.PIPE, text=True).stdout
        self.assertNotIn("libmmusim", ldd)


if __name__ == "__main__":
    unittest.main()
