"""pytest fixtures shared by all e2e tests; helpers live in tests/lib/postern.py."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))

import postern  # noqa: E402


@pytest.fixture
def instance():
    """A fresh, not yet started postern.Instance; stopped and removed afterwards."""
    inst = postern.Instance()
    yield inst
    inst.cleanup()


@pytest.fixture
def make_instance():
    """Factory: make_instance(**kwargs) -> postern.Instance (cleaned up afterwards)."""
    made = []

    def make(**kwargs):
        inst = postern.Instance(**kwargs)
        made.append(inst)
        return inst
    yield make
    for inst in made:
        inst.cleanup()
