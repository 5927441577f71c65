"""Analytic MAC counts against XLA's own cost analysis of the jitted generator."""
from absl.testing import absltest
from absl.testing import parameterized
import jax
import jax.numpy as jnp

from inr_gan_jax.model import complexity
from inr_gan_jax import config_lib
from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax.model import inr


def xla_flops(g, batch, height, width):
  params = jax.eval_shape(g.init, jax.random.key(0))
  z = jax.ShapeDtypeStruct((batch, g.latent_dim), jnp.float32)
  plan = inr.make_plan(g.layout, height, width)
  fn = jax.jit(lambda p, z, plan: g.render_plan(p, g.theta(p, z), plan))
  cost = fn.lower(params, z, plan).compile().cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  return cost["flops"]


class ComplexityTest(parameterized.TestCase):

  @parameterized.named_parameters(
      ("inr_gan", "inr_gan", 64), ("inr_gan_half_res", "inr_gan", 32), ("fmm", "fmm", 32),
      ("fourier", "fourier", 32), ("latent", "latent_conditioned", 32))
  def test_macs_match_xla_cost_analysis(self, variant, size):
    m = config_lib.apply_variant(config_lib.model_config(
        resolution=64, latent_dim=64, hyper_width=128, block_resolutions=(32, 64),
        block_widths=(256, 64), block_depths=(3, 2), num_fourier=16, fmm_rank=4), variant)
    g = generator_lib.Generator(m)
    batch = 2
    macs = complexity.model_stats(m)["gmacs_by_resolution"][str(size)] * 1e9 * batch
    flops = xla_flops(g, batch, size, size)
    # XLA counts 2 flops per MAC plus element-wise work, which our MACs omit.
    self.assertBetween(flops / (2 * macs), 0.95, 1.05)

  def test_paper_table1_targets(self):
    s256 = complexity.model_stats(config_lib.model_config())
    self.assertBetween(s256["params_total"] / 107.03e6, 0.97, 1.03)
    self.assertBetween(s256["gmacs"] / 38.76, 0.97, 1.03)
    ffhq = config_lib.model_config(resolution=1024, block_resolutions=(128, 256, 512, 1024),
                                   block_widths=(512, 64, 64, 16), block_depths=(8, 4, 3, 1))
    s1024 = complexity.model_stats(ffhq)
    self.assertBetween(s1024["params_total"] / 117.3e6, 0.95, 1.05)
    self.assertBetween(s1024["gmacs"] / 47.35, 0.95, 1.05)

  def test_lower_resolution_is_cheaper_in_proportion(self):
    s = complexity.model_stats(config_lib.model_config())
    by = s["gmacs_by_resolution"]
    self.assertEqual(list(by), ["256", "128", "64", "32", "16"])
    inr = {k: v - s["gmacs_hypernetwork"] for k, v in by.items()}
    for hi, lo in [("256", "128"), ("128", "64")]:
      # The INR part scales with pixels up to the per-sample FMM weight cost.
      self.assertBetween(inr[hi] / inr[lo], 3.9, 4.0)


if __name__ == "__main__":
  absltest.main()
