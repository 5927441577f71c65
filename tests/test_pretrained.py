"""The MNIST generator shipped in pretrained/: intact files, loads like a workdir, draws digits."""
import hashlib
import json
import os

from absl.testing import absltest
import jax
import numpy as np

from inr_gan_jax.checkpoints import restore

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRETRAINED = os.path.join(_ROOT, "pretrained", "mnist_192kimg")


class PretrainedTest(absltest.TestCase):

  def test_files_match_their_sha256(self):
    with open(os.path.join(PRETRAINED, "SHA256SUMS")) as f:
      entries = [line.split("  ", 1) for line in f.read().splitlines() if line]
    self.assertGreater(len(entries), 5)
    for digest, rel in entries:
      with open(os.path.join(PRETRAINED, rel), "rb") as f:
        self.assertEqual(hashlib.sha256(f.read()).hexdigest(), digest, rel)
    total = sum(os.path.getsize(os.path.join(PRETRAINED, rel)) for _, rel in entries)
    self.assertLess(total, 20e6)  # the budget for a generator in the repository

  def test_loads_and_draws_varied_digits_at_any_size(self):
    loaded = restore.load_generator(PRETRAINED)
    with open(os.path.join(PRETRAINED, "config.json")) as f:
      self.assertEqual(json.load(f)["model"], json.loads(loaded.config.model.to_json()))
    self.assertEqual((loaded.step, loaded.generator.resolution), (12000, 32))
    g = loaded.generator
    z = g.sample_z(jax.random.key(0), 8)
    for size in (32, 64):
      images = np.asarray(g.generate(loaded.params, z, size, size))
      self.assertEqual(images.shape, (8, size, size, 3))
      self.assertTrue(np.all(np.abs(images) <= 1.0))
      # Digits: mostly black background, white strokes, and samples that differ.
      self.assertLess(np.median(images), -0.9)
      self.assertGreater(images.max(), 0.9)
      self.assertGreater(images.std(0).mean(), 0.2)


if __name__ == "__main__":
  absltest.main()
