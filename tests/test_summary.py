"""TensorBoard event writer: CRC32C, wire format, TFRecord framing, round trips."""
import io
import os
import pathlib
import shutil
import struct
import tempfile
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
from PIL import Image

from inr_gan_jax.utils import summary
from inr_gan_jax.utils import tfrecord


def _bitwise_crc32c(data: bytes) -> int:
  """Textbook bit-at-a-time CRC32C (reflected), independent of the table code."""
  crc = 0xFFFFFFFF
  for byte in data:
    crc ^= byte
    for _ in range(8):
      crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
  return crc ^ 0xFFFFFFFF


def _unmask(masked: int) -> int:
  """Inverse of TFRecord's CRC masking: subtract the constant, rotate left by 15."""
  rot = (masked - 0xA282EAD8) & 0xFFFFFFFF
  return ((rot << 15) | (rot >> 17)) & 0xFFFFFFFF


def _tempdir(testcase) -> str:
  path = tempfile.mkdtemp(prefix="summary_test_")
  testcase.addCleanup(shutil.rmtree, path, ignore_errors=True)
  return path


class Crc32cTest(parameterized.TestCase):

  # Check values: the CRC catalogue's "123456789", and iSCSI's (RFC 3720, B.4).
  @parameterized.parameters(
      (b"123456789", 0xE3069283),
      (bytes(32), 0x8A9136AA),
      (b"\xff" * 32, 0x62A8AB43),
      (bytes(range(32)), 0x46DD794E),
      (bytes(range(31, -1, -1)), 0x113FDB5C),
      (b"", 0),
  )
  def test_known_vectors(self, data, expected):
    self.assertEqual(tfrecord.crc32c_py(data), expected)
    self.assertEqual(tfrecord.crc32c(data), expected)

  def test_matches_bitwise_reference_at_all_tail_lengths(self):
    rng = np.random.default_rng(0)
    for n in list(range(0, 20)) + [255, 1001]:
      data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
      self.assertEqual(tfrecord.crc32c_py(data), _bitwise_crc32c(data), msg=f"length {n}")

  def test_continuation(self):
    a, b = b"adversarial generation ", b"of continuous images"
    self.assertEqual(tfrecord.crc32c_py(b, tfrecord.crc32c_py(a)), tfrecord.crc32c_py(a + b))

  def test_mask_inverts(self):
    for data in (b"", b"123456789", bytes(range(200))):
      self.assertEqual(_unmask(tfrecord.masked_crc32c(data)), _bitwise_crc32c(data))


class WireFormatTest(parameterized.TestCase):

  # Hand-computed: 300 = 0b10_0101100 -> low group 0x2C|0x80, then 0x02.
  @parameterized.parameters(
      (0, b"\x00"), (1, b"\x01"), (127, b"\x7f"), (128, b"\x80\x01"), (300, b"\xac\x02"),
      (16384, b"\x80\x80\x01"), (2**63 - 1, b"\xff" * 8 + b"\x7f"),
      (-1, b"\xff" * 9 + b"\x01"),  # int64 -1 is 2^64 - 1: ten groups
  )
  def test_varint(self, n, expected):
    self.assertEqual(tfrecord.encode_varint(n), expected)

  def test_varint_round_trip(self):
    for n in [0, 1, 2**7, 2**14 - 1, 2**31, 2**40 + 12345, 2**64 - 1]:
      self.assertEqual(tfrecord.decode_varint(tfrecord.encode_varint(n) + b"junk", 0),
                       (n, len(tfrecord.encode_varint(n))))

  def test_scalar_value_bytes(self):
    # Value{tag (1, LEN) = "a", simple_value (2, fixed32) = 1.5}, key bytes by hand.
    expected = b"\x0a\x01a" + b"\x15" + struct.pack("<f", 1.5)
    self.assertEqual(summary._scalar_value("a", 1.5), expected)


class FramingTest(absltest.TestCase):

  def _write(self, records):
    path = os.path.join(_tempdir(self), "records")
    with open(path, "wb") as f:
      f.write(b"".join(tfrecord.frame_record(r) for r in records))
    return path

  def test_round_trip_and_layout(self):
    records = [b"", b"x", bytes(range(256)) * 5]
    path = self._write(records)
    self.assertEqual(tfrecord.read_records(path), records)
    raw = pathlib.Path(path).read_bytes()
    self.assertEqual(len(raw), sum(len(r) + 16 for r in records))
    # First record: length 0 as uint64 LE, then the masked CRCs of header and data.
    self.assertEqual(raw[:8], bytes(8))
    self.assertEqual(_unmask(struct.unpack("<I", raw[8:12])[0]), _bitwise_crc32c(bytes(8)))
    self.assertEqual(_unmask(struct.unpack("<I", raw[12:16])[0]), _bitwise_crc32c(b""))

  def test_corruption_detected(self):
    path = self._write([b"first", b"second record"])
    raw = bytearray(pathlib.Path(path).read_bytes())
    second = 12 + 5 + 4  # start of the second record
    for offset, message in [(second + 12 + 3, "data CRC"), (second + 1, "length CRC"),
                            (second + 9, "length CRC"), (12 + 5 + 1, "data CRC")]:
      bad = bytearray(raw)
      bad[offset] ^= 0x10
      with open(path, "wb") as f:
        f.write(bad)
      with self.assertRaisesRegex(ValueError, message):
        tfrecord.read_records(path)

  def test_truncation_detected(self):
    path = self._write([b"first", b"second record"])
    raw = pathlib.Path(path).read_bytes()
    for cut in (len(raw) - 1, len(raw) - 20):
      with open(path, "wb") as f:
        f.write(raw[:cut])
      with self.assertRaisesRegex(ValueError, "truncated"):
        tfrecord.read_records(path)


def _decode_png(png: bytes) -> np.ndarray:
  return np.asarray(Image.open(io.BytesIO(png)))


class _FullDisk:
  """Stands in for the events file: every write fails as on a full disk."""

  def __init__(self, real):
    self.real = real

  def write(self, data):
    raise OSError(28, "No space left on device")

  def flush(self):
    pass

  def close(self):
    self.real.close()


class WriterTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.logdir = os.path.join(_tempdir(self), "run")

  def test_file_name_and_version_record(self):
    with summary.SummaryWriter(self.logdir) as w:
      w.scalar("loss", 1.0, 1)
    (name,) = os.listdir(self.logdir)
    self.assertRegex(name, r"^events\.out\.tfevents\.\d+\.")
    self.assertEqual(os.path.join(self.logdir, name), w.path)
    first = tfrecord.parse_message(tfrecord.read_records(w.path)[0])
    self.assertEqual(first[3], [b"brain.Event:2"])
    self.assertNotIn(5, first)

  def test_scalars_round_trip(self):
    with summary.SummaryWriter(self.logdir) as w:
      w.scalar("loss/g", 0.1, 0)
      w.scalar("loss/g", np.float32(-3.25), 7)
      w.scalars({"d": np.array(2.0), "r1_gamma": 10}, step=2**40, prefix="train/")
      w.scalar("nan", float("nan"), 8)
    events = summary.read_events(self.logdir)
    got = [(e["tag"], e["step"], e["value"]) for e in events[:4]]
    self.assertEqual(got, [("loss/g", 0, float(np.float32(0.1))), ("loss/g", 7, -3.25),
                           ("train/d", 2**40, 2.0), ("train/r1_gamma", 2**40, 10.0)])
    self.assertTrue(np.isnan(events[4]["value"]))
    self.assertEqual(events[2]["wall_time"], events[3]["wall_time"])  # one event, two values
    self.assertGreater(events[0]["wall_time"], 1.6e9)

  @parameterized.named_parameters(("rgb", 3, 3), ("gray", 1, 1), ("rgba", 4, 4))
  def test_uint8_image_round_trip(self, channels, colorspace):
    image = np.random.default_rng(1).integers(0, 256, (5, 7, channels), dtype=np.uint8)
    with summary.SummaryWriter(self.logdir) as w:
      w.image("samples", image, 3)
    (e,) = summary.read_events(self.logdir)
    self.assertEqual((e["tag"], e["step"], e["height"], e["width"], e["colorspace"]),
                     ("samples", 3, 5, 7, colorspace))
    decoded = _decode_png(e["image_png"])
    np.testing.assert_array_equal(decoded.reshape(image.shape), image)

  def test_float_image_scaled_and_clipped(self):
    rng = np.random.default_rng(2)
    image = rng.uniform(-0.2, 1.2, (4, 6, 3)).astype(np.float32)
    image[0, 0, 0] = np.nan
    with summary.SummaryWriter(self.logdir) as w:
      w.image("fake", image, 1)
      w.image("gray2d", image[:, :, 1], 2)
    expected = np.round(np.clip(np.nan_to_num(image), 0, 1) * 255).astype(np.uint8)
    rgb, gray = summary.read_events(self.logdir)
    np.testing.assert_array_equal(_decode_png(rgb["image_png"]), expected)
    np.testing.assert_array_equal(_decode_png(gray["image_png"]), expected[:, :, 1])
    self.assertEqual(gray["colorspace"], 1)

  def test_text_round_trip(self):
    text = "# config\n```\nr1_gamma: 10.0\nfourier_scale: √10\n```"
    with summary.SummaryWriter(self.logdir) as w:
      w.text("config", text, 0)
    (e,) = summary.read_events(self.logdir)
    self.assertEqual((e["tag"], e["step"], e["text"]), ("config", 0, text))
    # The value carries the text plugin's metadata and a scalar DT_STRING tensor.
    event = tfrecord.parse_message(tfrecord.read_records(w.path)[1])
    value = tfrecord.parse_message(tfrecord.parse_message(event[5][0])[1][0])
    meta = tfrecord.parse_message(value[9][0])
    self.assertEqual(tfrecord.parse_message(meta[1][0])[1], [b"text"])
    tensor = tfrecord.parse_message(value[8][0])
    self.assertEqual((tensor[1], tensor[2]), ([7], [b""]))

  def test_disabled_is_a_no_op(self):
    with summary.SummaryWriter(self.logdir, enabled=False) as w:
      w.scalar("loss", 1.0, 1)
      w.scalars({"a": 1.0}, 1)
      w.image("img", np.zeros((2, 2, 3), np.uint8), 1)
      w.text("t", "x", 1)
      w.flush()
    self.assertFalse(os.path.exists(self.logdir))
    self.assertIsNone(w.path)

  def test_buffered_until_flush(self):
    w = summary.SummaryWriter(self.logdir, flush_secs=1e9)
    version_size = os.path.getsize(w.path)
    w.scalar("loss", 1.0, 1)
    self.assertEqual(os.path.getsize(w.path), version_size)
    w.flush()
    self.assertEqual([e["step"] for e in summary.read_events(w.path)], [1])
    w.scalar("loss", 2.0, 2)
    w.close()
    self.assertEqual([e["step"] for e in summary.read_events(w.path)], [1, 2])
    with self.assertRaisesRegex(ValueError, "closed"):
      w.scalar("loss", 3.0, 3)
    w.close()  # idempotent

  def test_full_buffer_or_elapsed_time_writes(self):
    w = summary.SummaryWriter(self.logdir, flush_secs=1e9, max_buffer_bytes=1)
    w.scalar("a", 1.0, 1)
    self.assertLen(summary.read_events(w.path), 1)
    w2 = summary.SummaryWriter(self.logdir, flush_secs=0.0)
    w2.scalar("b", 1.0, 1)
    self.assertLen(summary.read_events(w2.path), 1)
    self.assertNotEqual(w.path, w2.path)  # same second, same host: no clobbering
    w.close()
    w2.close()
    self.assertLen(summary.read_events(self.logdir), 2)

  @parameterized.named_parameters(
      ("empty_tag", lambda w: w.scalar("", 1.0, 1), "tag"),
      ("float_step", lambda w: w.scalar("a", 1.0, 1.5), "step"),
      ("vector_scalar", lambda w: w.scalar("a", np.ones(2), 1), "single number"),
      ("string_scalar", lambda w: w.scalar("a", "x", 1), "single number"),
      ("image_rank", lambda w: w.image("a", np.zeros((1, 2, 2, 3), np.uint8), 1), "shape"),
      ("image_channels", lambda w: w.image("a", np.zeros((2, 2, 2), np.uint8), 1), "shape"),
      ("image_dtype", lambda w: w.image("a", np.zeros((2, 2, 3), np.int32), 1), "dtype"),
      ("text_type", lambda w: w.text("a", b"bytes", 1), "str"),
  )
  def test_bad_input(self, call, message):
    with summary.SummaryWriter(self.logdir) as w:
      with self.assertRaisesRegex(ValueError, message):
        call(w)

  def test_write_errors_warn_once_and_move_to_new_file(self):
    w = summary.SummaryWriter(self.logdir, flush_secs=1e9)
    first_path = w.path
    w.scalar("lost", 1.0, 1)
    with self.assertLogs(logger="absl", level="WARNING") as logs:
      w._file = _FullDisk(w._file)
      w.flush()  # must not raise
      w.scalar("kept", 2.0, 2)
      with mock.patch("builtins.open", side_effect=PermissionError("read-only")):
        w.flush()  # the new file cannot be opened either: still no exception
      w.scalar("kept", 3.0, 3)
      w.close()
    self.assertLen(logs.records, 1)
    self.assertIn("No space left", logs.output[0])
    self.assertNotEqual(w.path, first_path)
    self.assertEqual([(e["tag"], e["step"]) for e in summary.read_events(w.path)],
                     [("kept", 3)])
    self.assertEqual(summary.read_events(first_path), [])  # version record only

  def test_gives_up_after_repeated_failures(self):
    w = summary.SummaryWriter(self.logdir, flush_secs=1e9)
    with mock.patch("builtins.open", side_effect=OSError("gone")):
      w._close_file()
      for step in range(10):
        w.scalar("a", 1.0, step)
        w.flush()
    w.scalar("a", 1.0, 99)
    w.flush()
    self.assertEqual(w._buffered, 0)  # summaries are dropped, not accumulated
    w.close()
    self.assertLen(os.listdir(self.logdir), 1)  # nothing reopened once given up

  def test_missing_path(self):
    with self.assertRaisesRegex(FileNotFoundError, "nowhere"):
      summary.read_events(os.path.join(self.logdir, "nowhere"))


class TensorBoardCompatTest(absltest.TestCase):
  """Real TensorBoard's loader parses our file (only where tensorboard is installed)."""

  def test_event_file_loader(self):
    try:
      from tensorboard.backend.event_processing import event_file_loader  # pylint: disable=g-import-not-at-top
    except ImportError:
      self.skipTest("tensorboard not installed")
    logdir = _tempdir(self)
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    with summary.SummaryWriter(logdir) as w:
      w.scalar("loss", 0.5, 4)
      w.image("img", image, 5)
      w.text("cfg", "hello", 6)
    events = list(event_file_loader.LegacyEventFileLoader(w.path).Load())
    self.assertEqual(events[0].file_version, "brain.Event:2")
    self.assertEqual((events[1].step, events[1].summary.value[0].simple_value), (4, 0.5))
    img = events[2].summary.value[0].image
    self.assertEqual((img.height, img.width, img.colorspace), (2, 3, 3))
    np.testing.assert_array_equal(_decode_png(img.encoded_image_string), image)
    tensor = events[3].summary.value[0].tensor
    self.assertEqual(tensor.string_val, [b"hello"])
    self.assertEqual(events[3].summary.value[0].metadata.plugin_data.plugin_name, "text")


if __name__ == "__main__":
  absltest.main()
