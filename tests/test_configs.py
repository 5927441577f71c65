"""Every shipped config (and its Table 1 variants) loads and passes validation."""
import glob
import os

from absl.testing import absltest
from absl.testing import parameterized

from inr_gan_jax import config_lib

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CONFIGS = sorted(glob.glob(os.path.join(_ROOT, "configs", "*.py")))


class ConfigsTest(parameterized.TestCase):

  @parameterized.parameters(*[(os.path.basename(p), v) for p in _CONFIGS
                              for v in config_lib.VARIANTS])
  def test_loads_and_validates(self, name, variant):
    c = config_lib.load_config_file(os.path.join(_ROOT, "configs", name), variant)
    config_lib.validate(c)
    self.assertEqual(c.variant, variant)

  def test_small_data_config_augments_everything_d_sees(self):
    c = config_lib.load_config_file(os.path.join(_ROOT, "configs", "celebahq64.py"))
    self.assertEqual(c.train.augment, "translation,color")  # cutout hurt FD (docs/training.md)
    self.assertGreater(c.train.ada_target, 0)


if __name__ == "__main__":
  absltest.main()
