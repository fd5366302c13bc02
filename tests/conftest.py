"""Fixtures shared by the test modules (their helpers are in tests/helpers.py)."""

import pytest
from helpers import rendered_digits_drawn_once


def _no_openvino_telemetry():
    """OpenVINO's converter (`percept_engines.openvino_convert`) sends usage telemetry from a
    forked copy of the process; in a pytest-xdist worker that fork took the worker down and left
    the run hanging. The tests send none."""
    try:
        from openvino_telemetry.backend import backend_ga4
    except ImportError:
        return
    backend_ga4.GA4Backend.send = lambda self, message: None


_no_openvino_telemetry()


@pytest.fixture(autouse=True)
def _rendered_digits_drawn_once(request):
    """Every Moving MNIST source of rendered digits draws a bank of 10,000 + 2,000 glyphs
    (about 3 s of CPU); the bank is a pure function of (split, count, seed), so outside
    test_digits.py (which tests the drawing) each is drawn once per test process and
    copies are handed out (`helpers.rendered_digits_drawn_once`)."""
    if request.module.__name__ == "test_digits":
        yield
        return
    with rendered_digits_drawn_once():
        yield


@pytest.fixture(scope="session")
def small_mnist(tmp_path_factory):
    """Config overrides for Moving MNIST from a small mnist.npz (`write_small_mnist`), made once:
    `tiny(**small_mnist)`, for runs in subprocesses."""
    from helpers import write_small_mnist

    path = write_small_mnist(tmp_path_factory.mktemp("small_mnist") / "mnist.npz")
    return {"digits": "mnist", "mnist_path": path}


@pytest.fixture(scope="session")
def bad_inputs_prepared(tmp_path_factory):
    """The bad-input table's inputs (tests/bad_inputs.py), each made on first use, once per process."""
    from bad_inputs import Prepared

    return Prepared(tmp_path_factory.mktemp("prepared"))
