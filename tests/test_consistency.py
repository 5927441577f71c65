"""EQ-T / EQ-S: references by hand, exactness of a single-block INR, the multi-scale grid effect."""
from absl.testing import absltest
import jax
import numpy as np

from inr_gan_jax.metrics import consistency
from inr_gan_jax.metrics import evaluator
from inr_gan_jax.model import generator as generator_lib
from tests import helpers


def build(**overrides):
  g = generator_lib.Generator(helpers.tiny_model(**overrides))
  return g, jax.jit(g.init)(jax.random.key(0))


class ConsistencyTest(absltest.TestCase):

  def test_psnr_closed_form_and_cap(self):
    a = np.zeros((1, 4, 4, 3))
    self.assertAlmostEqual(consistency.psnr(a, a + 0.2), 10 * np.log10(4 / 0.04))
    self.assertEqual(consistency.psnr(a, a), consistency.MAX_DB)

  def test_shifted_reference_integer_and_fraction(self):
    base = np.arange(2 * 3 * 5 * 1, dtype=np.float64).reshape(2, 3, 5, 1)
    np.testing.assert_array_equal(consistency.shifted_reference(base, 2.0, 2), base[:, :, 2:])
    half = consistency.shifted_reference(base, 0.5, 1)  # rows, halfway between neighbours
    np.testing.assert_allclose(half, (base[:, :2] + base[:, 1:]) / 2)
    q = consistency.shifted_reference(base, 1.25, 2)
    np.testing.assert_allclose(q, 0.75 * base[:, :, 1:4] + 0.25 * base[:, :, 2:5])

  def test_single_block_inr_is_exact_at_integer_shifts(self):
    # One block: every pixel is a point evaluation of one function of (x, y).
    g, params = build(**{"block_resolutions": (16,), "block_widths": (24,),
                         "block_depths": (2,)})
    out = consistency.consistency(g, params, 4, 4, kind="eqt", shifts=(1.0, 3.0, 0.5))
    self.assertGreater(out["shift_1x"], 80.0)
    self.assertGreater(out["integer"], 80.0)
    self.assertLess(out["subpixel"], out["integer"])  # interpolation error of the reference

  def test_multiscale_nearest_realigns_every_coarse_cell(self):
    # Blocks at 8 and 16 px: a 1 px shift at 16 px moves the 8 px grid by half a cell (its
    # nearest upsampling changes); a 2 px shift moves it by exactly one cell.
    g, params = build()
    out = consistency.consistency(g, params, 4, 4, kind="eqt", shifts=(1.0, 2.0))
    self.assertGreater(out["shift_2x"], 80.0)
    self.assertLess(out["shift_1x"], 60.0)
    self.assertEqual(out["integer"], min(out["shift_1x"], out["shift_1y"], out["shift_2x"],
                                         out["shift_2y"]))

  def test_eqs_and_metric_names(self):
    g, params = build()
    out = consistency.consistency(g, params, 4, 4, kind="eqs")
    self.assertTrue(np.isfinite(out["eqs"]) and 0 < out["eqs"] < consistency.MAX_DB)
    specs = evaluator.parse_metrics(["eqt1k", "eqs2k"])
    self.assertEqual([(s.kind, s.num) for s in specs], [("eqt", 1000), ("eqs", 2000)])
    with self.assertRaisesRegex(ValueError, "eqt<N>k"):
      evaluator.parse_metrics(["eqx1k"])


if __name__ == "__main__":
  absltest.main()
