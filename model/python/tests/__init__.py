# The mmusim Python package's tests (unittest, stdlib).  tests/test_python.c
# runs each TestCase as one Criterion test; by hand, from the source tree:
#   PYTHONPATH=build/default/python MMUSIM_PROGRAM=build/default/bin/mmusim \
#     /usr/bin/python3 -m unittest -v model.python.tests.test_trace
