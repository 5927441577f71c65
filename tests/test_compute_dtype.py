"""bfloat16 compute (config.train.compute_dtype): bf16 where it runs, float32 where it must."""
from absl.testing import absltest
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax.model import inr
from inr_gan_jax.train import loop
from tests import helpers


def _run(compute_dtype: str, steps: int):
  """Loss curves [steps, 2] (d, g), finiteness and final state of a tiny run on shapes."""
  config = helpers.tiny_train_config(compute_dtype=compute_dtype, r1_interval=4)
  curve, finite, state = loop.loss_curve(config, steps, Mesh(np.array(jax.devices()[:1]), ("data",)))
  return curve, finite, jax.device_get(state)


class ComputeDtypeTest(absltest.TestCase):

  def test_inr_in_bf16_is_close_and_really_bf16(self):
    g = generator_lib.Generator(helpers.tiny_model())
    params = jax.jit(g.init)(jax.random.key(0))
    theta = g.theta(params, g.sample_z(jax.random.key(1), 2))
    plan = g.make_plan(16, 16)
    f32 = np.asarray(inr.evaluate_batch(g.layout, theta, params["inr"], plan))
    fn = jax.jit(lambda t: inr.evaluate_batch(g.layout, t, params["inr"], plan, jnp.bfloat16))
    bf16 = fn(theta)
    self.assertEqual(bf16.dtype, jnp.float32)  # the RGB sum and tanh stay float32
    np.testing.assert_allclose(np.asarray(bf16), f32, atol=0.05)
    self.assertGreater(np.abs(np.asarray(bf16) - f32).max(), 0)  # it did change precision
    hlo = fn.lower(theta).as_text()
    self.assertRegex(hlo, r"dot_general.*bf16|bf16.*dot_general")

  def test_losses_track_float32_and_state_stays_float32(self):
    # Measured (2-core EPYC): over 200 steps the 20-step means of both losses differ by at
    # most 0.006; here 80 steps and a 0.03 bound.
    ref, ok_ref, _ = _run("float32", 80)
    got, ok, state = _run("bfloat16", 80)
    self.assertTrue(ok and ok_ref)
    win = lambda c: c.reshape(-1, 20, 2).mean(1)  # noqa: E731
    self.assertLess(np.abs(win(got) - win(ref)).max(), 0.03)
    self.assertFalse(np.array_equal(got, ref))  # bf16 really ran
    for path, leaf in jax.tree_util.tree_leaves_with_path(state):
      if jnp.issubdtype(leaf.dtype, jnp.floating):
        self.assertEqual(leaf.dtype, jnp.float32, jax.tree_util.keystr(path))


if __name__ == "__main__":
  absltest.main()
