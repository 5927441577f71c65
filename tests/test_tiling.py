"""Tiled rendering: tiles equal the single-shot render; tile plans reference exactly the needed points."""
from absl.testing import absltest
from absl.testing import parameterized
import jax
import numpy as np

from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax.utils import image_utils
from inr_gan_jax.model import inr
from inr_gan_jax.render import tiling
from tests import helpers

WINDOWS = {"unit": (0.0, 0.0, 1.0, 1.0), "zoom_out": (-0.3, -0.2, 1.3, 1.1)}


_CACHE = {}


def build(upsample="nearest", **kw):
  """Generator, params, a batch of 2 thetas, and a jitted single-shot renderer (cached)."""
  key = (upsample, tuple(sorted(kw.items())))
  if key not in _CACHE:
    g = generator_lib.Generator(helpers.tiny_model(upsample=upsample, **kw))
    params = jax.jit(g.init)(jax.random.key(0))
    theta = jax.jit(g.theta)(params, g.sample_z(jax.random.key(1), 2))
    evaluate = jax.jit(lambda t, s, plan: inr.evaluate_batch(g.layout, t, s, plan))

    def render(height, width, window=WINDOWS["unit"]):
      flat = np.asarray(evaluate(theta, params["inr"], inr.make_plan(g.layout, height, width, window)))
      return flat.reshape(flat.shape[0], height, width, -1)
    _CACHE[key] = (g, params, theta, render, evaluate)
  return _CACHE[key]


class TiledRenderTest(parameterized.TestCase):

  @parameterized.parameters(("nearest", 37, 23, "zoom_out", 97), ("nearest", 48, 48, "unit", 300),
                            ("bilinear", 24, 40, "zoom_out", 40), ("bilinear", 16, 16, "unit", 50))
  def test_tiled_equals_single_shot(self, upsample, height, width, window, max_pixels):
    g, params, theta, render, evaluate = build(upsample)
    ref = render(height, width, WINDOWS[window])
    out = tiling.render_tiled(g.layout, theta, params["inr"], height, width, WINDOWS[window],
                              max_pixels, evaluate_fn=evaluate)
    self.assertEqual(out.shape, ref.shape)
    self.assertLess(np.abs(out - ref).max(), 1e-5)

  def test_uint8_output(self):
    g, params, theta, render, evaluate = build()
    ref = image_utils.to_uint8(render(20, 30))
    out = tiling.render_tiled(g.layout, theta, params["inr"], 20, 30, max_pixels_per_call=64,
                              to_uint8=True, evaluate_fn=evaluate)
    self.assertEqual(out.dtype, np.uint8)
    # Values within 1e-5 can still round to neighbouring levels at a .5 boundary: allow 1 level.
    self.assertLessEqual(np.abs(out.astype(int) - ref.astype(int)).max(), 1)

  @parameterized.parameters("nearest", "bilinear")
  def test_whole_image_tile_is_make_plan(self, upsample):
    g = build(upsample)[0]
    window = WINDOWS["zoom_out"]
    r = tiling.TiledRenderer(g.layout, 37, 23, window, (37, 23))
    (_, plan, shape), = list(r.plans())
    self.assertEqual(shape, (37, 23))
    ref = inr.make_plan(g.layout, 37, 23, window)
    for a, b in zip(jax.tree.leaves(plan), jax.tree.leaves(ref)):
      np.testing.assert_array_equal(a, b)

  @parameterized.parameters("nearest", "bilinear")
  def test_tile_points_are_exactly_the_referenced_ones(self, upsample):
    """Brute force on the global plan: follow the taps of the tile's pixels down every level."""
    g = generator_lib.Generator(helpers.tiny_model(upsample=upsample, block_resolutions=(4, 8, 16), block_widths=(8, 8, 8),
                                                   block_depths=(1, 1, 1)))
    height, width, window = 30, 22, WINDOWS["zoom_out"]
    glob = inr.make_plan(g.layout, height, width, window)
    r = tiling.TiledRenderer(g.layout, height, width, window, (7, 9))
    for (rs, cs), plan, (th, tw) in r.plans():
      needed = (np.arange(height)[rs, None] * width + np.arange(width)[None, cs]).ravel()
      for k in range(len(g.layout.blocks) - 1, -1, -1):
        got = plan.points[k][:len(needed)] if k == len(g.layout.blocks) - 1 else None
        expect = glob.points[k][needed]
        if got is not None:
          np.testing.assert_array_equal(got, expect)
        else:  # the tile's level-k rectangle: a superset with no unneeded row/column
          pts = {tuple(p) for p in plan.points[k]}
          self.assertTrue({tuple(p) for p in expect} <= pts)
          xs, ys = np.unique(expect[:, 0]), np.unique(expect[:, 1])
          self.assertEqual(pts, {(x, y) for x in xs for y in ys})
        if k:
          needed = np.unique(glob.up_index[k - 1][needed])

  def test_choose_tile(self):
    for h, w, m in ((100, 100, 1000), (8192, 8192, 1 << 20), (5, 5000, 70), (10, 10, 1000)):
      th, tw = tiling.choose_tile(h, w, m)
      self.assertLessEqual(th * tw, max(m, 1))
      self.assertLessEqual(th, h)
      self.assertLessEqual(tw, w)
    with self.assertRaisesRegex(ValueError, "max_pixels_per_call"):
      tiling.choose_tile(4, 4, 0)


if __name__ == "__main__":
  absltest.main()
