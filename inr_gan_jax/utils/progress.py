"""Progress bars with ETA for long loops (evaluation, tiled renders, many-seed sampling).

One line format everywhere, the training log's included::

  fid10k fakes [##########..............]  41.7% 4270/10240 | 812.3/s | ETA 0m07s

On a terminal the line is redrawn in place; in a log file (not a TTY) a line is
written at most every ``log_interval`` seconds, plus the last one.
"""
import sys
import time
from typing import Iterable, Iterator, Optional, TextIO, TypeVar

T = TypeVar("T")


def format_eta(seconds: float) -> str:
  seconds = int(max(0, seconds))
  h, rem = divmod(seconds, 3600)
  m, s = divmod(rem, 60)
  return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def bar(done: float, total: float, width: int = 24) -> str:
  filled = int(width * min(max(done / max(total, 1e-9), 0.0), 1.0))
  return "[" + "#" * filled + "." * (width - filled) + "]"


class Progress:
  """Counts work done out of ``total`` and reports it with a rate and an ETA."""

  def __init__(self, total: float, desc: str = "", unit: str = "", enabled: bool = True,
               stream: Optional[TextIO] = None, tty_interval: float = 0.2,
               log_interval: float = 10.0):
    self.total, self.desc, self.unit = float(total), desc, unit
    self.enabled = enabled
    self.stream = stream if stream is not None else sys.stderr
    self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
    self.interval = tty_interval if self.tty else log_interval
    self.done = 0.0
    self.t0 = self._last = time.time()
    self._shown_final = False

  def line(self) -> str:
    elapsed = max(time.time() - self.t0, 1e-9)
    rate = self.done / elapsed
    eta = (self.total - self.done) / rate if rate > 0 else float("inf")
    pct = 100.0 * self.done / max(self.total, 1e-9)
    count = f"{self.done:g}/{self.total:g}{(' ' + self.unit) if self.unit else ''}"
    eta_s = format_eta(eta) if eta != float("inf") else "?"
    return (f"{self.desc + ' ' if self.desc else ''}{bar(self.done, self.total)} {pct:5.1f}% "
            f"{count} | {rate:.1f}/s | ETA {eta_s}")

  def update(self, n: float = 1) -> None:
    self.done += n
    if not self.enabled:
      return
    now = time.time()
    final = self.done >= self.total
    if final or now - self._last >= self.interval:
      self._last = now
      self._write(final)

  def _write(self, final: bool) -> None:
    if final:
      if self._shown_final:
        return
      self._shown_final = True
    if self.tty:
      self.stream.write("\r" + self.line() + ("\n" if final else ""))
    else:
      self.stream.write(self.line() + "\n")
    self.stream.flush()

  def close(self) -> None:
    """Ends the line (the loop may stop before ``total``, e.g. a partial last batch)."""
    if self.enabled and not self._shown_final and self.done > 0:
      self._write(True)


def track(items: Iterable[T], total: float, desc: str = "", sizes=None, enabled: bool = True,
          **kw) -> Iterator[T]:
  """Yields ``items`` while reporting progress; ``sizes(item)`` counts one item's work (default 1)."""
  progress = Progress(total, desc, enabled=enabled, **kw)
  try:
    for item in items:
      yield item
      progress.update(sizes(item) if sizes else 1)
  finally:
    progress.close()
