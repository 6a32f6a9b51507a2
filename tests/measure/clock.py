"""A clock that moves only when a test moves it, for the sampler's background thread.

The sampler's thread sleeps through `ManualClock.wait` (its `wait=` argument) and stamps samples with
`ManualClock()` (its `clock=`); the fake NVML evaluates its power trace on the same clock. `advance(s)` then
plays every tick due in the next `s` seconds, one after the other, each finished before time moves on. So a
test knows exactly which ticks ran and when, however busy the machine is: nothing depends on the scheduler.

With `step_s`, every reading of the clock also moves it on by that much, as if each call took time. The
sampler's stamps then show whether they were taken around the right NVML call (a stamp taken after the
tick's other readings lands several steps late).
"""

from __future__ import annotations

import threading
import time

__all__ = ["ManualClock"]

_EPS_S = 1e-9
"""Wake times within this of a target count as due (the sampler adds its interval tick by tick in floats)."""
_HANG_S = 120.0
"""Real seconds to wait for the sampling thread to finish a tick before calling it hung (a guard, not a bound)."""


class ManualClock:
    """Seconds that pass only in `advance`, plus `step_s` per reading."""

    def __init__(self, start_s: float = 100.0, *, step_s: float = 0.0) -> None:
        self._t = start_s
        self._step_s = step_s
        self._cond = threading.Condition()
        self._wake: float | None = None
        """When the waiting thread wants to wake; empty while it runs a tick (or before it first waits)."""
        self._waiter: threading.Thread | None = None

    def __call__(self) -> float:
        with self._cond:
            now = self._t
            self._t += self._step_s
            return now

    def wait(self, event: threading.Event, delay_s: float) -> bool:
        """What the sampler's thread sleeps in: returns at the wake time, or when `event` is set (a stop)."""
        with self._cond:
            wake = self._t + delay_s
            self._wake, self._waiter = wake, threading.current_thread()
            self._cond.notify_all()
            while not event.is_set() and self._t < wake - _EPS_S:
                self._cond.wait(0.005)  # polls the event: a stop sets it without touching this clock
            return event.is_set()

    def advance(self, seconds: float) -> None:
        """Move time on by `seconds`, running each tick that falls due on the way, in order.

        Raises:
            AssertionError: The sampling thread never came back to wait (it is stuck outside the clock).
        """
        with self._cond:
            target = self._t + seconds
            while True:
                hang = time.monotonic() + _HANG_S
                while self._wake is None and not self._waiter_gone():
                    assert time.monotonic() < hang, "the sampling thread did not come back to wait"
                    self._cond.wait(0.005)
                if self._wake is None or self._wake > target + _EPS_S:
                    break  # nothing due before the target (or the thread has ended)
                self._t, self._wake = max(self._t, self._wake), None  # the waiter wakes and runs its tick
                self._cond.notify_all()
            self._t = max(self._t, target)

    def _waiter_gone(self) -> bool:
        return self._waiter is not None and not self._waiter.is_alive()
