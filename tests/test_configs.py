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


  @parameterized.parameters(*config_lib.RUN_KEYS)
  def test_every_config_states_its_run_values(self, key):
    """No run-defining value comes from a library default: a config without one fails."""
    c = config_lib.dataset_config(data_source="shapes", data_name="",
                                  model=config_lib.model_config(resolution=32,
                                                                block_resolutions=(16, 32)))
    for k in config_lib.RUN_KEYS:
      if k != key:
        c.train[k] = 1
    with self.assertRaisesRegex(ValueError, f"config.train.{key} is not set"):
      config_lib.validate(c)

  def test_derived_configs_differ_from_their_base_only_where_they_say(self):
    base = config_lib.load_config_file(os.path.join(_ROOT, "configs", "quickstart.py"))
    mnist = config_lib.load_config_file(os.path.join(_ROOT, "configs", "mnist.py"))
    for key in config_lib.RUN_KEYS:
      if key != "num_steps":
        self.assertEqual(mnist.train[key], base.train[key], key)
    self.assertEqual(mnist.model.to_dict(), base.model.to_dict())
    self.assertEqual((mnist.data.source, mnist.train.num_steps), ("npz", 12000))
    # mnist keeps the D of its documented runs; the quickstart's is narrower (docs/training.md).
    d = lambda c: (c.discriminator.channel_base, c.discriminator.channel_max)  # noqa: E731
    self.assertEqual((d(mnist), d(base)), ((1024, 64), (512, 32)))
    lsun = config_lib.load_config_file(os.path.join(_ROOT, "configs", "lsun256.py"))
    ffhq = config_lib.load_config_file(os.path.join(_ROOT, "configs", "ffhq1024.py"))
    self.assertEqual(ffhq.train.to_dict(), lsun.train.to_dict())
    self.assertEqual((lsun.train.lr_hyper, lsun.train.lr_disc, lsun.train.r1_gamma),
                     (1e-5, 3e-3, 10.0))  # the paper's recipe, stated in the file

  def test_unknown_config_argument(self):
    with self.assertRaisesRegex(ValueError, "unknown config argument"):
      config_lib.load_config_file(os.path.join(_ROOT, "configs", "mnist.py"), "lr=3")


if __name__ == "__main__":
  absltest.main()
