"""The sampling CLI: request parsing and errors, shapes, seeds, superresolution exactness, outputs."""
import json
import os
import shutil
import tempfile

from absl import app
from absl import flags
from absl.testing import absltest
from absl.testing import flagsaver
from absl.testing import parameterized
import jax
from jax.sharding import Mesh
import numpy as np
from PIL import Image

from inr_gan_jax.checkpoints import checkpointing
from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax import render_inr
from inr_gan_jax.render import export
from inr_gan_jax import sample
from inr_gan_jax.train import step as train_step
from tests import helpers


def setUpModule():
  sample.define_flags()
  if not flags.FLAGS.is_parsed():  # pytest does not run absl's flag parsing
    flags.FLAGS.mark_as_parsed()


def build(**kw):
  g = generator_lib.Generator(helpers.tiny_model(**kw))
  params = jax.jit(g.init)(jax.random.key(0))
  return g, params


class ParsingTest(parameterized.TestCase):

  def test_seeds(self):
    self.assertEqual(sample.parse_seeds("0-3"), [0, 1, 2, 3])
    self.assertEqual(sample.parse_seeds("7"), [7])
    self.assertEqual(sample.parse_seeds("1, 4,10-12"), [1, 4, 10, 11, 12])

  @parameterized.parameters("", "a-b", "1,,2", "-1", "0-15x", "0:15")
  def test_bad_seed_syntax(self, text):
    with self.assertRaisesRegex(ValueError, "--seeds"):
      sample.parse_seeds(text)

  def test_inverted_seed_range(self):
    with self.assertRaisesRegex(ValueError, "inverted"):
      sample.parse_seeds("5-2")

  def test_window(self):
    self.assertEqual(sample.parse_window("-0.3,-0.3,1.3,1.3"), (-0.3, -0.3, 1.3, 1.3))
    with self.assertRaisesRegex(ValueError, "empty or inverted"):
      sample.parse_window("1,0,0,1")
    with self.assertRaisesRegex(ValueError, "empty or inverted"):
      sample.parse_window("0,0.5,1,0.5")
    for bad in ("0,0,1", "a,b,c,d"):
      with self.assertRaisesRegex(ValueError, "four numbers"):
        sample.parse_window(bad)

  def test_size(self):
    self.assertEqual(sample.resolve_size(None, None, None, 32), (32, 32))
    self.assertEqual(sample.resolve_size(64, None, 100, 32), (64, 100))
    for args in ((0, None, None), (None, 0, 8), (None, 8, -1)):
      with self.assertRaisesRegex(ValueError, "positive"):
        sample.resolve_size(*args, 32)


class CliErrorTest(parameterized.TestCase):
  """Each impossible request fails before any work, with a message naming the problem."""

  @parameterized.parameters(
      (dict(checkpoint="x", resolution=0), "positive"),
      (dict(checkpoint="x", height=16, width=0), "positive"),
      (dict(checkpoint="x", window="0.5,0,0.2,1"), "inverted"),
      (dict(checkpoint="x", seeds="one-two"), "--seeds"),
      (dict(checkpoint="x", max_pixels_per_call=-1), "max_pixels_per_call"),
      (dict(), "exactly one of --workdir or --checkpoint"),
      (dict(checkpoint="a", workdir="b"), "exactly one of --workdir or --checkpoint"),
  )
  def test_usage_errors(self, overrides, message):
    with flagsaver.flagsaver(**overrides):
      with self.assertRaisesRegex(app.UsageError, message):
        sample.main(["sample"])

  def test_missing_checkpoint(self):
    missing = os.path.join(tempfile.gettempdir(), "no_such_inr_gan_run_4821")
    with flagsaver.flagsaver(workdir=missing):
      with self.assertRaisesRegex(app.UsageError, "no_such_inr_gan_run_4821"):
        sample.main(["sample"])


class SamplingTest(parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.g, cls.params = build()
    cls.sampler = sample.Sampler(cls.g, cls.params)

  def _tmpdir(self):
    d = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, d, ignore_errors=True)
    return d

  def test_writes_images_grid_inr_and_gradients(self):
    out = self._tmpdir()
    req = sample.Request(seeds=[0, 1, 2], height=12, width=20, window=(-0.5, 0.0, 1.5, 1.0),
                         out=out, batch_size=2, export_inr=True, write_gradients=True)
    written = sample.sample_to_dir(self.sampler, req)
    self.assertLen(written["images"], 3)
    for path in written["images"]:
      self.assertEqual(np.asarray(Image.open(path)).shape, (12, 20, 3))
    for path in written["gradients"]:
      self.assertEqual(np.asarray(Image.open(path)).shape, (12, 20))
    self.assertEqual(np.asarray(Image.open(written["grid"][0])).shape, (2 + 2 * 14, 2 + 2 * 22, 3))
    # The exported INR renders the PNG's pixels.
    meta, tensors = render_inr.load(written["inr"][1])
    self.assertEqual(meta["source"]["seed"], 1)
    again = render_inr.to_uint8(render_inr.render(meta, tensors, 12, 20, req.window))
    png = np.asarray(Image.open(written["images"][1]))
    self.assertLessEqual(np.abs(again.astype(int) - png.astype(int)).max(), 1)

  def test_seed_is_independent_of_batching(self):
    batch = self.sampler.render(self.sampler.theta(sample.seed_latents(self.g, [4, 9, 2])), 16, 16)
    alone = self.sampler.render(self.sampler.theta(sample.seed_latents(self.g, [9])), 16, 16)
    np.testing.assert_allclose(batch[1], alone[0], atol=1e-5)

  @parameterized.parameters((16, 16, (0, 0, 1, 1)), (10, 30, (-1.0, 0.0, 2.0, 1.0)),
                            (7, 5, (0.25, 0.25, 0.5, 0.75)))
  def test_shapes(self, height, width, window):
    theta = self.sampler.theta(sample.seed_latents(self.g, [0, 1]))
    images = self.sampler.render(theta, height, width, window)
    self.assertEqual(images.shape, (2, height, width, 3))
    for i in range(2):  # the standalone numpy renderer of the exported INR draws the same
      arrays = export.export_arrays(self.g.layout, export.take_sample(theta, i),
                                    self.sampler.params["inr"])
      meta = json.loads(str(arrays.pop("meta_json")))
      arrays.pop("format")
      ref = render_inr.render(meta, arrays, height, width, window)
      np.testing.assert_allclose(images[i], ref, atol=2e-5)

  @parameterized.parameters((0, 0, 1, 1), (-0.3, -0.3, 1.3, 1.3))
  def test_single_scale_denser_grid_contains_the_base_image(self, *window):
    """3H x 3W pixel centres include the H x W ones (the middle of each 3 x 3 group)."""
    g, params = build(block_resolutions=(16,), block_widths=(24,), block_depths=(2,))
    sampler = sample.Sampler(g, params)
    theta = sampler.theta(sample.seed_latents(g, [0, 1]))
    base = sampler.render(theta, 16, 16, window)
    dense = sampler.render(theta, 48, 48, window)
    np.testing.assert_allclose(dense[:, 1::3, 1::3], base, atol=1e-6)

  def test_truncation_needs_a_centre(self):
    with self.assertRaisesRegex(ValueError, "w_mean"):
      self.sampler.theta(sample.seed_latents(self.g, [0]), psi=0.5)


class CheckpointCliTest(absltest.TestCase):
  """End to end from a checkpoint in the train loop's format (state + meta with the config)."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    # A freshly initialised state saved the way train.py saves it: restoring it exercises the
    # same path as a trained run, without compiling a GAN step.
    config = helpers.tiny_train_config()
    trainer = train_step.Trainer(config, Mesh(np.array(jax.local_devices()[:1]), ("data",)))
    state = trainer.create_state(config.seed)
    cls.workdir = tempfile.mkdtemp()
    meta = {"step": 4, "config": json.loads(config.to_json_best_effort())}
    with checkpointing.TrainCheckpointer(checkpointing.checkpoint_dir(cls.workdir)) as ckpt:
      ckpt.save(4, state, meta, force=True)

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.workdir, ignore_errors=True)
    super().tearDownClass()

  def test_cli_from_workdir(self):
    out = os.path.join(self.workdir, "samples_out")
    with flagsaver.flagsaver(workdir=self.workdir, seeds="0-2", height=24, width=40,
                             window="-0.3,-0.3,1.3,1.3", truncation=0.5, truncation_latents=64,
                             out=out, export_inr=True, max_pixels_per_call=300):
      sample.main(["sample"])
    for seed in range(3):
      image = np.asarray(Image.open(os.path.join(out, f"seed_{seed:04d}.png")))
      self.assertEqual(image.shape, (24, 40, 3))
      self.assertTrue(os.path.exists(os.path.join(out, f"seed_{seed:04d}.npz")))
    self.assertTrue(os.path.exists(os.path.join(self.workdir, "checkpoints", "truncation",
                                                "step_4.npz")))
    self.assertTrue(os.path.exists(os.path.join(out, "grid.png")))


if __name__ == "__main__":
  absltest.main()
