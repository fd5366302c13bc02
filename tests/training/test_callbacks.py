"""SIGTERM and SIGINT (Ctrl-C) alike end training after the current step, with a checkpoint."""

import os
import signal

import pytest

from video_lstm.training.callbacks import StopOnSignal


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_is_recorded_not_raised_and_the_handlers_are_put_back(number):
    before = signal.getsignal(number)
    stop = StopOnSignal()
    try:
        os.kill(os.getpid(), number)
        assert stop.received == signal.Signals(number).name and stop.should_stop()
    finally:
        stop.restore()
    assert signal.getsignal(number) is before


def test_a_second_ctrl_c_stops_at_once():
    stop = StopOnSignal()
    try:
        os.kill(os.getpid(), signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    finally:
        stop.restore()
