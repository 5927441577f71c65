"""load_generator reads only g_ema and w_avg, equal to the full train state's, without training code."""
import os
import subprocess
import sys
import tempfile

from absl.testing import absltest
import jax
import numpy as np

from inr_gan_jax.checkpoints import checkpointing
from inr_gan_jax.checkpoints import restore
from inr_gan_jax.train import loop
from inr_gan_jax.train import step as train_step_lib
from tests import helpers

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class RestoreTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.workdir = tempfile.mkdtemp()
    cls.config = helpers.tiny_train_config(num_steps=3)
    loop.train_and_evaluate(cls.config, cls.workdir)

  def test_subset_equals_the_full_state(self):
    trainer = train_step_lib.Trainer(self.config, loop.make_mesh())
    full, _, step = checkpointing.load_checkpoint(self.workdir, trainer.abstract_state(0))
    loaded = restore.load_generator(self.workdir)
    self.assertEqual(loaded.step, step)
    helpers.assert_trees_all_close(self, loaded.params, full["g_ema"], rtol=0, atol=0)
    np.testing.assert_array_equal(np.asarray(loaded.w_avg), np.asarray(full["w_avg"]))
    self.assertTrue(np.any(np.asarray(full["w_avg"])))  # a real value, not the zero init

  def test_truncation_center_is_resolved_in_one_place(self):
    loaded = restore.load_generator(self.workdir)
    self.assertIsNone(restore.truncation_center(loaded, self.workdir, 1.0, "state"))
    np.testing.assert_array_equal(restore.truncation_center(loaded, self.workdir, 0.7, "state"),
                                  np.asarray(loaded.w_avg))
    from inr_gan_jax.model import truncation
    est = restore.truncation_center(loaded, self.workdir, 0.7, "estimate", num_latents=64)
    np.testing.assert_allclose(est, truncation.estimate_mean_hidden(
        loaded.generator, loaded.params, 64, truncation.DEFAULT_SEED), rtol=1e-6)
    with self.assertRaisesRegex(ValueError, "truncation_center must be one of"):
      restore.truncation_center(loaded, self.workdir, 0.7, "median")
    zero = restore.LoadedGenerator(loaded.generator, loaded.params, np.zeros_like(loaded.w_avg),
                                   loaded.config, loaded.step)
    with self.assertRaisesRegex(ValueError, "all zeros"):
      restore.truncation_center(zero, self.workdir, 0.7, "state")

  def test_missing_entry_is_named(self):
    with self.assertRaisesRegex(ValueError, r"has no \['nope'\]"):
      checkpointing.load_subset(self.workdir, {"nope": jax.ShapeDtypeStruct(
          (1,), np.float32, sharding=jax.sharding.SingleDeviceSharding(jax.devices()[0]))})

  def test_inference_imports_no_training_code(self):
    code = ("import sys; from inr_gan_jax.checkpoints import restore; "
            "from inr_gan_jax import sample, evaluate; "
            f"g = restore.load_generator({self.workdir!r}); "
            "bad = [m for m in sys.modules if m.startswith('inr_gan_jax.train')]; "
            "assert not bad, bad; print('ok', g.step)")
    out = subprocess.run([sys.executable, "-c", code], cwd=_ROOT, capture_output=True, text=True,
                         timeout=300, env=dict(os.environ, PYTHONPATH=_ROOT), check=False)
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    self.assertIn("ok 3", out.stdout)


if __name__ == "__main__":
  absltest.main()
