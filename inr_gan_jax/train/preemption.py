"""Clean exit on preemption: the first SIGINT/SIGTERM becomes a flag the train loop polls."""
from __future__ import annotations

import signal
import types
from typing import Any, Iterable

from absl import logging
import jax
import numpy as np

class PreemptionFlag:
  """Turns the first SIGINT/SIGTERM into a flag the train loop polls.

  Within the `with` block the first of these signals only sets the flag, so
  the loop can finish the current step, save, and exit cleanly. A second one
  goes to the handler that was installed before (SIGINT: KeyboardInterrupt;
  SIGTERM: usually termination). Leaving the block reinstates the previous
  handlers. Must be entered from the main thread (a Python signal rule).
  """

  def __init__(self, signals: Iterable[int] = (signal.SIGINT, signal.SIGTERM)):
    self._signals = tuple(signals)
    self._previous: dict[int, Any] = {}
    self.signum: int | None = None

  @property
  def is_set(self) -> bool:
    return self.signum is not None

  def __bool__(self) -> bool:
    return self.is_set

  def is_set_on_any_process(self) -> bool:
    """Whether any process got a signal; a collective in multi-process jobs.

    Processes receive SIGTERM at different steps; stopping on the local flag
    alone would let one process enter the final save while others run
    another train step, and both would hang. Every process must call this at
    the same step.
    """
    if jax.process_count() == 1:
      return self.is_set
    # Imported here: multihost_utils pulls in modules most runs skip.
    # pylint: disable-next=g-import-not-at-top
    from jax.experimental import multihost_utils
    flags = multihost_utils.process_allgather(np.int32(self.is_set))
    return bool(np.any(flags))

  def _handle(self, signum: int, frame: types.FrameType | None) -> None:
    if self.signum is None:
      self.signum = signum
      logging.warning(
          "Got %s: will save and stop after the current step (send it again "
          "to stop at once).", signal.Signals(signum).name)
      return
    previous = self._previous.get(signum, signal.SIG_DFL)
    if previous is None:  # installed outside Python: treat as the default.
      previous = signal.SIG_DFL
    signal.signal(signum, previous)
    if callable(previous):
      previous(signum, frame)  # SIGINT: default_int_handler raises.
    elif previous == signal.SIG_DFL:
      signal.raise_signal(signum)

  def __enter__(self) -> PreemptionFlag:
    self.signum = None
    try:
      for sig in self._signals:
        self._previous[sig] = signal.signal(sig, self._handle)
    except ValueError as e:
      self._restore()
      raise ValueError(
          "PreemptionFlag must be entered from the main thread") from e
    return self

  def _restore(self) -> None:
    for sig, previous in self._previous.items():
      signal.signal(sig, signal.SIG_DFL if previous is None else previous)
    self._previous = {}

  def __exit__(self, *exc_info) -> None:
    self._restore()
