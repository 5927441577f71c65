"""TensorBoard summaries (tensorboardX), read back with TensorBoard's own event loader; metrics.jsonl."""
import io
import json
import os
import shutil
import tempfile
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
from PIL import Image
from tensorboard.backend.event_processing import event_accumulator

from inr_gan_jax.utils import summary


def _tempdir(test):
  d = tempfile.mkdtemp()
  test.addCleanup(shutil.rmtree, d, ignore_errors=True)
  return d


def _load(logdir):
  acc = event_accumulator.EventAccumulator(logdir, size_guidance={"images": 0, "scalars": 0,
                                                                  "tensors": 0})
  acc.Reload()
  return acc


def _png(encoded: bytes) -> np.ndarray:
  return np.asarray(Image.open(io.BytesIO(encoded)))


class SummaryWriterTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.logdir = _tempdir(self)

  def test_scalars_read_back_by_tensorboard(self):
    with summary.SummaryWriter(self.logdir) as w:
      w.scalars({"d_loss": 0.25, "g_loss": np.float32(1.5)}, 10, prefix="train/")
      w.scalar("progress/kimg", 0.16, 10)
      w.scalars({"d_loss": 0.125}, 20, prefix="train")
    acc = _load(self.logdir)
    self.assertEqual(sorted(acc.Tags()["scalars"]), ["progress/kimg", "train/d_loss", "train/g_loss"])
    self.assertEqual([(e.step, e.value) for e in acc.Scalars("train/d_loss")],
                     [(10, 0.25), (20, 0.125)])
    self.assertAlmostEqual(acc.Scalars("progress/kimg")[0].value, 0.16, places=6)

  @parameterized.parameters(1, 3, 4)
  def test_uint8_image_round_trip(self, channels):
    image = np.random.default_rng(channels).integers(0, 256, (5, 7, channels), dtype=np.uint8)
    with summary.SummaryWriter(self.logdir) as w:
      w.image("samples", image, 3)
    event = _load(self.logdir).Images("samples")[0]
    self.assertEqual((event.step, event.height, event.width), (3, 5, 7))
    decoded = _png(event.encoded_image_string)
    np.testing.assert_array_equal(decoded.reshape(5, 7, -1)[..., :channels], image)

  def test_float_image_scaled_clipped_and_nan_black(self):
    image = np.array([[[0.0], [0.5], [2.0], [np.nan]]], np.float32)  # [1, 4, 1]
    np.testing.assert_array_equal(summary.to_uint8_image(image)[0, :, 0], [0, 128, 255, 0])
    with summary.SummaryWriter(self.logdir) as w:
      w.image("f", image[..., 0], 1)  # [H, W]: gray
    decoded = _png(_load(self.logdir).Images("f")[0].encoded_image_string)
    np.testing.assert_array_equal(decoded.reshape(1, 4, -1)[0, :, 0], [0, 128, 255, 0])

  def test_text_round_trip(self):
    with summary.SummaryWriter(self.logdir) as w:
      w.text("config", "lr = 2e-3", 0)
    acc = _load(self.logdir)
    tensors = acc.Tensors("config/text_summary")
    self.assertEqual(tensors[0].tensor_proto.string_val[0].decode(), "lr = 2e-3")

  def test_disabled_is_a_no_op(self):
    sub = os.path.join(self.logdir, "never")
    w = summary.SummaryWriter(sub, enabled=False)
    w.scalar("a", 1.0, 1)
    w.image("b", np.zeros((2, 2, 3), np.uint8), 1)
    w.flush()
    w.close()
    self.assertFalse(os.path.exists(sub))

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

  def test_write_error_warns_once_and_stops_summaries(self):
    w = summary.SummaryWriter(self.logdir)
    w.scalar("kept", 1.0, 1)
    w.flush()
    with self.assertLogs(logger="absl", level="WARNING") as logs:
      with mock.patch.object(w._writer, "add_scalar", side_effect=OSError(28, "No space left")):
        w.scalar("lost", 2.0, 2)  # must not raise
      w.scalar("after", 3.0, 3)  # the writer is off now: nothing, and no second warning
      w.close()
    self.assertLen(logs.records, 1)
    self.assertIn("No space left", logs.output[0])
    self.assertFalse(w.enabled)
    self.assertEqual(_load(self.logdir).Tags()["scalars"], ["kept"])

  def test_unwritable_logdir_is_reported_at_start(self):
    blocker = os.path.join(self.logdir, "file")
    open(blocker, "w").close()
    with self.assertRaisesRegex(OSError, "cannot write TensorBoard events"):
      summary.SummaryWriter(os.path.join(blocker, "tb"))


class JsonlTest(absltest.TestCase):

  def test_lines_round_trip_with_nan_as_null_and_torn_line_skipped(self):
    path = os.path.join(_tempdir(self), "metrics.jsonl")
    w = summary.JsonlWriter(path)
    w.write({"step": 100, "kimg": 1.6, "d_loss": np.float32(0.5), "eval/fid5k": float("nan")})
    w.write({"step": 200, "kimg": 3.2, "d_loss": 0.25})
    with open(path, "a") as f:
      f.write('{"step": 300, "kim')  # a run killed mid-write
    rows = summary.read_jsonl(path)
    self.assertEqual(rows, [{"step": 100, "kimg": 1.6, "d_loss": 0.5, "eval/fid5k": None},
                            {"step": 200, "kimg": 3.2, "d_loss": 0.25}])
    with open(path) as f:
      json.loads(f.readline())  # strict JSON: no NaN literal

  def test_disabled_writes_nothing(self):
    path = os.path.join(_tempdir(self), "m.jsonl")
    summary.JsonlWriter(path, enabled=False).write({"step": 1})
    self.assertFalse(os.path.exists(path))


if __name__ == "__main__":
  absltest.main()
