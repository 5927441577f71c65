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
