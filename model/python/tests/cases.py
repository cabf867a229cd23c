"""Print every TestCase of the Python tests as MODULE.CLASS, one a line,
sorted: tests/test_python.c checks that its list of cases is this one, so
a new TestCase cannot go unrun.  Run from the source tree:
    python3 -m model.python.tests.cases"""

import glob
import importlib
import inspect
import os
import unittest


def cases():
    here = os.path.dirname(os.path.abspath(__file__))
    out = []
    for path in sorted(glob.glob(os.path.join(here, "test_*.py"))):
        name = os.path.basename(path)[:-3]
        module = importlib.import_module(__package__ + "." + name)
        for cls_name, cls in inspect.getmembers(module, inspect.isclass):
            if (issubclass(cls, unittest.TestCase) and cls.__module__ == module.__name__
                    and unittest.defaultTestLoader.getTestCaseNames(cls)):
                out.append(name + "." + cls_name)
    return sorted(out)


if __name__ == "__main__":
    print("\n".join(cases()))
