"""TensorBoard event files, written and read without TensorFlow.

TensorBoard reads `events.out.tfevents.*` files: a sequence of TFRecords, each
holding one serialized `Event` protobuf. Neither TensorFlow nor the protobuf
definitions are needed to produce them: this module encodes the few messages it
uses by hand, with the protobuf wire format and TFRecord framing of
:mod:`inr_gan_jax.utils.tfrecord`.

Messages and field numbers (checked against tensorboard 2.21's compiled protos,
`tensorboard/compat/proto/{event,summary,tensor,tensor_shape,types}.proto`)::

  Event           {1: wall_time double, 2: step int64, 3: file_version string,
                   5: summary Summary}
  Summary         {1: repeated Value value}
  Value           {1: tag string, 2: simple_value float, 4: image Image,
                   8: tensor TensorProto, 9: metadata SummaryMetadata}
  Image           {1: height int32, 2: width int32, 3: colorspace int32,
                   4: encoded_image_string bytes}
  SummaryMetadata {1: plugin_data PluginData{1: plugin_name string}}
  TensorProto     {1: dtype DataType (DT_STRING = 7), 2: tensor_shape
                   TensorShapeProto (empty = scalar), 8: repeated string_val}

Typical use (only process 0 writes)::

  with SummaryWriter(workdir, enabled=jax.process_index() == 0) as writer:
    writer.text("config", "```\\n" + config.to_json_best_effort(indent=2) + "\\n```", 0)
    for step in ...:
      writer.scalars(jax.device_get(metrics), step, prefix="train")
      writer.image("samples", grid_uint8, step)   # [H, W, 3] uint8
"""
from __future__ import annotations

import os
import socket
import struct
import threading
import time
from typing import Any, Mapping

from absl import logging
import numpy as np

from inr_gan_jax.utils import image_utils
from inr_gan_jax.utils import tfrecord

PathLike = str | os.PathLike

# ---------------------------------------------------------------------------
# The Event and Summary.Value messages.


def _event(wall_time: float, step: int, *, file_version: str | None = None,
           values: tuple[bytes, ...] = ()) -> bytes:
  """Serialized Event; `values` are serialized Summary.Value messages."""
  parts = [tfrecord.tag(1, tfrecord.FIXED64) + struct.pack("<d", wall_time)]
  if step:  # proto3 leaves zero scalars out; readers default them to 0
    parts.append(tfrecord.varint_field(2, step))
  if file_version is not None:
    parts.append(tfrecord.len_field(3, file_version))
  if values:
    parts.append(tfrecord.len_field(5, b"".join(tfrecord.len_field(1, v) for v in values)))
  return b"".join(parts)


def _scalar_value(tag: str, value: float) -> bytes:
  return (tfrecord.len_field(1, tag) + tfrecord.tag(2, tfrecord.FIXED32)
          + struct.pack("<f", value))


def _image_value(tag: str, png: bytes, height: int, width: int, channels: int) -> bytes:
  # Colorspace codes: 1 grayscale, 3 RGB, 4 RGBA (TensorBoard's Summary.Image).
  image = (tfrecord.varint_field(1, height) + tfrecord.varint_field(2, width)
           + tfrecord.varint_field(3, channels) + tfrecord.len_field(4, png))
  return tfrecord.len_field(1, tag) + tfrecord.len_field(4, image)


_DT_STRING = 7
# SummaryMetadata{plugin_data{"text"}}
_TEXT_METADATA = tfrecord.len_field(1, tfrecord.len_field(1, "text"))


def _text_value(tag: str, text: str) -> bytes:
  # Empty tensor_shape (field 2) means a scalar; the text plugin renders it as markdown.
  tensor = (tfrecord.varint_field(1, _DT_STRING) + tfrecord.len_field(2, b"")
            + tfrecord.len_field(8, text))
  return (tfrecord.len_field(1, tag) + tfrecord.len_field(8, tensor)
          + tfrecord.len_field(9, _TEXT_METADATA))


# ---------------------------------------------------------------------------
# Writer.

_MAX_FILE_RETRIES = 3


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


def _to_uint8_image(image: Any, tag: str) -> np.ndarray:
  """uint8 [H, W, C], C in {1, 3, 4}, from uint8 or float-in-[0, 1] input."""
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
  # Clip, and draw NaN as black, rather than raise: a diverging GAN produces such
  # samples, and a logging call must not be what ends the run.
  image = np.nan_to_num(image.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
  return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


class SummaryWriter:
  """Appends scalars, images and text to a TensorBoard events file in `logdir`.

  Summaries are buffered in memory and written on `flush()`, on `close()`, once
  the buffer exceeds `max_buffer_bytes`, or at the first summary more than
  `flush_secs` after the last write (so a live TensorBoard sees progress).

  A failing write (disk full, network filesystem hiccup) never raises: it logs
  one warning, drops the buffered summaries, and later summaries go to a fresh
  events file (a torn record would hide everything after it in the old one);
  after `_MAX_FILE_RETRIES` failed files the writer gives up silently. Creating
  the first file does raise, so a bad `logdir` is reported before training.

  With `enabled=False` (all but process 0) nothing is created and every method
  is a no-op. Thread-safe; usable as a context manager (closes on exit).
  """

  def __init__(self, logdir: PathLike, enabled: bool = True, *,
               flush_secs: float = 30.0, max_buffer_bytes: int = 1 << 22):
    self._enabled = bool(enabled)
    self._logdir = os.fspath(logdir)
    self._flush_secs = flush_secs
    self._max_buffer_bytes = max_buffer_bytes
    self._lock = threading.Lock()
    self._buffer: list[bytes] = []
    self._buffered = 0
    self._file = None
    self._closed = False
    self._failures = 0
    self._last_write = time.monotonic()
    self.path: str | None = None  # the events file currently written
    if self._enabled:
      os.makedirs(self._logdir, exist_ok=True)
      self._open_new_file()
      self._write_buffer()
      if self._failures:
        raise OSError(f"cannot write TensorBoard events file in {self._logdir!r}")

  # -- public API ------------------------------------------------------------

  def scalar(self, tag: str, value: float, step: int) -> None:
    """One float32 scalar (TensorBoard's Scalars tab)."""
    self.scalars({tag: value}, step)

  def scalars(self, values: Mapping[str, float], step: int, prefix: str = "") -> None:
    """Several scalars in one event; tags are `prefix/key` (or `key` without prefix).

    Values may be Python/numpy/JAX scalars; fetch JAX metrics with
    `jax.device_get` first to avoid one device round trip per value.
    """
    if not self._enabled:
      return
    step = _check_step(step)
    prefix = prefix.rstrip("/")
    encoded = []
    for key, value in values.items():
      tag = _check_tag(f"{prefix}/{key}" if prefix else key)
      try:
        value = float(np.asarray(value).item())
      except (TypeError, ValueError):
        raise ValueError(f"scalar {tag!r}: expected a single number, got {value!r}") from None
      encoded.append(_scalar_value(tag, value))
    if encoded:
      self._add(step, tuple(encoded))

  def image(self, tag: str, image: np.ndarray, step: int) -> None:
    """One image, stored as PNG (TensorBoard's Images tab).

    Args:
      tag: name of the image series.
      image: uint8 [H, W, C] with C = 1 (gray), 3 (RGB) or 4 (RGBA), or a float
        array of the same shape with values in [0, 1] (clipped; NaN drawn black).
        [H, W] is read as grayscale. Map [-1, 1] generator output with
        `(x + 1) / 2` first.
      step: global step.
    """
    if not self._enabled:
      return
    tag, step = _check_tag(tag), _check_step(step)
    pixels = _to_uint8_image(image, tag)  # [H, W, C] uint8
    h, w, c = pixels.shape
    self._add(step, (_image_value(tag, image_utils.png_bytes(pixels), h, w, c),))

  def text(self, tag: str, text: str, step: int) -> None:
    """A string, rendered as markdown in TensorBoard's Text tab (e.g. the config)."""
    if not self._enabled:
      return
    tag, step = _check_tag(tag), _check_step(step)
    if not isinstance(text, str):
      raise ValueError(f"text {tag!r}: expected str, got {type(text).__name__}")
    self._add(step, (_text_value(tag, text),))

  def flush(self) -> None:
    """Writes buffered summaries to disk."""
    if not self._enabled:
      return
    with self._lock:
      self._write_buffer()

  def close(self) -> None:
    """Flushes and closes the file; later calls to `close` are no-ops."""
    if not self._enabled or self._closed:
      return
    with self._lock:
      self._write_buffer()
      self._closed = True
      self._close_file()

  def __enter__(self) -> SummaryWriter:
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()

  # -- internals ---------------------------------------------------------------

  def _add(self, step: int, values: tuple[bytes, ...]) -> None:
    record = tfrecord.frame_record(_event(time.time(), step, values=values))
    with self._lock:
      if self._closed:
        raise ValueError(f"SummaryWriter for {self._logdir!r} is closed")
      self._buffer.append(record)
      self._buffered += len(record)
      if (self._buffered >= self._max_buffer_bytes
          or time.monotonic() - self._last_write >= self._flush_secs):
        self._write_buffer()

  def _open_new_file(self) -> None:
    """Creates a new events file, starting with the file_version event."""
    base = os.path.join(
        self._logdir, f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}")
    path, n = base, 0
    while True:  # never clobber another writer's file created in the same second
      try:
        self._file = open(path, "xb")  # pylint: disable=consider-using-with
        break
      except FileExistsError:
        n += 1
        path = f"{base}.{n}"
    self.path = path
    version = tfrecord.frame_record(_event(time.time(), 0, file_version="brain.Event:2"))
    self._buffer.insert(0, version)
    self._buffered += len(version)

  def _write_buffer(self) -> None:
    """Writes the buffer out (caller holds the lock); OSErrors are logged, not raised."""
    self._last_write = time.monotonic()
    if not self._buffer:
      return
    try:
      if self._failures > _MAX_FILE_RETRIES:
        return  # given up; the `finally` still empties the buffer, bounding memory
      if self._file is None:
        self._open_new_file()
      self._file.write(b"".join(self._buffer))
      self._file.flush()
    except OSError as e:
      if not self._failures:
        logging.warning(
            "SummaryWriter: writing %s failed (%s); dropped %d bytes of summaries. "
            "Later summaries go to a new events file; further errors are not reported.",
            self.path or self._logdir, e, self._buffered)
      self._failures += 1
      self._close_file()
    finally:
      self._buffer.clear()
      self._buffered = 0

  def _close_file(self) -> None:
    if self._file is not None:
      try:
        self._file.close()
      except OSError:
        pass
      self._file = None


def _decode_value(raw: bytes) -> dict[str, Any] | None:
  """One Summary.Value -> {'tag', and 'value' | 'image_png' | 'text'}; None if other kind."""
  f = tfrecord.parse_message(raw)
  out: dict[str, Any] = {"tag": f.get(1, [b""])[0].decode("utf-8")}
  if 2 in f:
    out["value"] = struct.unpack("<f", f[2][0])[0]
  elif 4 in f:
    image = tfrecord.parse_message(f[4][0])
    out.update(image_png=image.get(4, [b""])[0], height=image.get(1, [0])[0],
               width=image.get(2, [0])[0], colorspace=image.get(3, [0])[0])
  elif 8 in f:
    tensor = tfrecord.parse_message(f[8][0])
    if tensor.get(1, [0])[0] != _DT_STRING:
      return None
    strings = [s.decode("utf-8") for s in tensor.get(8, [])]
    out["text"] = strings[0] if len(strings) == 1 else strings
  else:
    return None
  return out


def read_events(path: PathLike) -> list[dict[str, Any]]:
  """Summary values in an events file, or in all events files of a directory.

  Returns one dict per summary value, in file order:
  {'step': int, 'wall_time': float, 'tag': str} plus 'value' (scalar float),
  'image_png' (bytes, with 'height', 'width', 'colorspace'), or 'text' (str).
  Values of other kinds (histograms, non-string tensors) are skipped. CRC
  mismatches and truncated records raise ValueError naming the file.
  """
  path = os.fspath(path)
  if os.path.isdir(path):
    files = sorted(os.path.join(path, n) for n in os.listdir(path) if "tfevents" in n)
  elif os.path.exists(path):
    files = [path]
  else:
    raise FileNotFoundError(f"no events file or directory at {path!r}")
  events = []
  for file in files:
    for record in tfrecord.read_records(file):
      event = tfrecord.parse_message(record)
      wall_time = struct.unpack("<d", event[1][0])[0] if 1 in event else 0.0
      step = event.get(2, [0])[0]
      step = step - (1 << 64) if step >= 1 << 63 else step  # int64 two's complement
      for raw in tfrecord.parse_message(event[5][0]).get(1, []) if 5 in event else []:
        value = _decode_value(raw)
        if value is not None:
          events.append({"step": step, "wall_time": wall_time, **value})
  return events
