"""Golden tests for every table type: postern's postmap/postalias against
outputs captured from Debian's Postfix 3.7 on the same files
(tests/golden/tables/expected/, regenerate with
`python3 tests/lib/tables_golden.py --regen`)."""
import os

import pytest

import postern
import tables_golden

_results = None


def results():
    global _results
    if _results is None:
        _results = tables_golden.run_all(postern.BIN)
    return _results


NAMES = sorted(os.listdir(tables_golden.EXPECTED))


@pytest.mark.parametrize("name", NAMES)
def test_golden(name):
    with open(os.path.join(tables_golden.EXPECTED, name)) as f:
        expected = f.read()
    got = results().get(name)
    assert got is not None, "case %s not run" % name
    assert got == expected
