"""Running many small model calls side by side (saywho.onnxrt.in_order, side_by_side)."""

from __future__ import annotations

import threading
import time

import pytest

from saywho.onnxrt import in_order, side_by_side


def test_side_by_side_puts_one_call_on_each_core_of_the_cpu() -> None:
    assert side_by_side(3, "cpu") == (3, 1)
    assert side_by_side(0, "cpu")[1] == 1
    assert side_by_side(0, "cpu")[0] >= 1
    assert side_by_side(4, "cuda") == (1, 4)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_results_come_in_the_order_of_the_items(workers: int) -> None:
    def slow_for_small(item: int) -> int:
        time.sleep(0.002 * (10 - item))  # the first items finish last
        return item * item

    assert list(in_order(slow_for_small, range(10), workers, "test")) == [i * i for i in range(10)]


def test_calls_run_at_once_on_several_threads() -> None:
    both_started = threading.Barrier(2, timeout=10)

    def meet(item: int) -> int:
        both_started.wait()  # only returns when two calls run at the same time
        return item

    assert list(in_order(meet, range(4), 2, "test")) == [0, 1, 2, 3]


def test_an_error_cancels_the_calls_not_yet_started() -> None:
    started: list[int] = []

    def record(item: int) -> int:
        started.append(item)
        if item == 0:
            raise ValueError("bad clip")
        time.sleep(0.01)
        return item

    with pytest.raises(ValueError, match="bad clip"):
        list(in_order(record, range(200), 2, "test-call"))
    assert len(started) < 200
    assert not any(t.name.startswith("test-call") for t in threading.enumerate())


def test_a_caller_that_stops_early_cancels_the_calls_not_yet_started() -> None:
    started: list[int] = []

    def record(item: int) -> int:
        started.append(item)
        time.sleep(0.01)
        return item

    def consume() -> None:
        for result in in_order(record, range(200), 2, "test-stop"):
            if result == 1:
                raise KeyboardInterrupt  # as Ctrl-C while the prints come in

    with pytest.raises(KeyboardInterrupt):
        consume()
    assert len(started) < 200
    assert not any(t.name.startswith("test-stop") for t in threading.enumerate())
