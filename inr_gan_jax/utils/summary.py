"""TensorBoard summaries through tensorboardX, plus the run directory's ``metrics.jsonl``.

:class:`SummaryWriter` keeps the small interface the training loop uses
(``scalars``, ``image``, ``text``, ``flush``, ``close``) over
``tensorboardX.SummaryWriter``, which writes the standard events files
(readable by TensorBoard and ``tensorboard.backend.event_processing``).
What it adds:

* inputs are checked with one clear message (tag, step, scalar, image shape);
  float images are clipped and NaN is drawn black, because a diverging GAN
  produces such samples and a logging call must not be what ends a run;
* a failing write (disk full) logs one warning and disables the writer rather
  than raising: checkpoints, not summaries, are what a run must keep;
* ``enabled=False`` (every process but 0) creates nothing.

:class:`JsonlWriter` appends one JSON object per line (``metrics.jsonl``), the
format StyleGAN2-ADA users read with pandas.
"""
from __future__ import annotations

import json
import math
import os
from typing import Any, Dict, List, Mapping

from absl import logging
import numpy as np

PathLike = str | os.PathLike


def _check_tag(tag: Any) -> str:
  if not isinstance(tag, str) or not tag:
    raise ValueError(f"summary tag must be a non-empty string, got {tag!r}")
  return tag


def _check_step(step: Any) -> int:
  try:
    if isinstance(step, float) or int(step) != step:
      raise TypeError
    return int(step)
  except (TypeError, ValueError):
    raise ValueError(f"summary step must be an integer, got {step!r}") from None


def _number(tag: str, value: Any) -> float:
  try:
    return float(np.asarray(value).item())
  except (TypeError, ValueError):
    raise ValueError(f"scalar {tag!r}: expected a single number, got {value!r}") from None


def to_uint8_image(image: Any, tag: str = "image") -> np.ndarray:
  """uint8 ``[H, W, C]``, C in {1, 3, 4}, from uint8 or float-in-[0, 1] input (``[H, W]``: gray)."""
  image = np.asarray(image)
  if image.ndim == 2:
    image = image[:, :, None]  # [H, W] -> [H, W, 1]
  if image.ndim != 3 or image.shape[-1] not in (1, 3, 4) or 0 in image.shape:
    raise ValueError(f"image {tag!r}: expected shape [H, W, C] with C in (1, 3, 4), "
                     f"got {image.shape}")
  if image.dtype == np.uint8:
    return image
  if not (np.issubdtype(image.dtype, np.floating) or image.dtype.name == "bfloat16"):
    raise ValueError(f"image {tag!r}: expected uint8 or float in [0, 1], got dtype "
                     f"{image.dtype}")
  image = np.nan_to_num(image.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
  return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


class SummaryWriter:
  """Scalars, images and text for TensorBoard in ``logdir`` (see the module docstring)."""

  def __init__(self, logdir: PathLike, enabled: bool = True, *, flush_secs: float = 30.0):
    self._writer = None
    self.logdir = os.fspath(logdir)
    if enabled:
      from tensorboardX import SummaryWriter as TbxWriter  # local: only process 0 needs it
      try:
        os.makedirs(self.logdir, exist_ok=True)
        self._writer = TbxWriter(logdir=self.logdir, flush_secs=flush_secs)
      except OSError as e:  # a bad logdir is reported before training starts
        raise OSError(f"cannot write TensorBoard events in {self.logdir!r}: {e}") from e

  @property
  def enabled(self) -> bool:
    return self._writer is not None

  def _call(self, method: str, *args, **kwargs) -> None:
    if self._writer is None:
      return
    try:
      getattr(self._writer, method)(*args, **kwargs)
    except OSError as e:
      logging.warning("TensorBoard summaries in %s stopped (%s); training goes on, checkpoints "
                      "and metrics.jsonl are unaffected.", self.logdir, e)
      writer, self._writer = self._writer, None
      try:  # keep what was written before the failure
        writer.close()
      except Exception:  # pylint: disable=broad-except
        pass

  def scalar(self, tag: str, value: float, step: int) -> None:
    self.scalars({tag: value}, step)

  def scalars(self, values: Mapping[str, Any], step: int, prefix: str = "") -> None:
    """One scalar per entry, tagged ``prefix/key`` (``key`` without a prefix)."""
    if self._writer is None:
      return
    step = _check_step(step)
    prefix = prefix.rstrip("/")
    for key, value in values.items():
      tag = _check_tag(f"{prefix}/{key}" if prefix else key)
      self._call("add_scalar", tag, _number(tag, value), global_step=step)

  def image(self, tag: str, image: np.ndarray, step: int) -> None:
    """uint8 ``[H, W, C]`` (C = 1, 3, 4) or float in [0, 1]; map [-1, 1] with ``(x + 1) / 2``."""
    if self._writer is None:
      return
    tag, step = _check_tag(tag), _check_step(step)
    self._call("add_image", tag, to_uint8_image(image, tag), global_step=step, dataformats="HWC")

  def text(self, tag: str, text: str, step: int) -> None:
    """A string (markdown in TensorBoard's Text tab), e.g. the config."""
    if self._writer is None:
      return
    tag, step = _check_tag(tag), _check_step(step)
    if not isinstance(text, str):
      raise ValueError(f"text {tag!r}: expected str, got {type(text).__name__}")
    self._call("add_text", tag, text, global_step=step)

  def flush(self) -> None:
    self._call("flush")

  def close(self) -> None:
    self._call("close")
    self._writer = None

  def __enter__(self) -> SummaryWriter:
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()


def _jsonable(value: Any) -> Any:
  value = float(np.asarray(value).item()) if not isinstance(value, (str, bool, int)) else value
  if isinstance(value, float) and not math.isfinite(value):
    return None  # JSON has no NaN; a diverged value reads as null
  return value


class JsonlWriter:
  """Appends one JSON object per line to ``path`` (process 0 only; others write nothing)."""

  def __init__(self, path: PathLike, enabled: bool = True):
    self.path = os.fspath(path)
    self.enabled = enabled
    self._warned = False

  def write(self, record: Mapping[str, Any]) -> None:
    if not self.enabled:
      return
    line = json.dumps({k: _jsonable(v) for k, v in record.items()})
    try:
      with open(self.path, "a") as f:
        f.write(line + "\n")
    except OSError as e:
      if not self._warned:
        logging.warning("cannot append to %s (%s); training goes on", self.path, e)
        self._warned = True


def read_jsonl(path: PathLike) -> List[Dict[str, Any]]:
  """The records of a ``metrics.jsonl``; a torn last line (a killed run) is skipped."""
  out = []
  with open(path) as f:
    for line in f:
      try:
        out.append(json.loads(line))
      except ValueError:
        continue
  return out
