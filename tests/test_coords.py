"""Coordinate grids and the up-sampling index maps, against closed forms."""
from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from inr_gan_jax.model import coords


class PixelGridTest(parameterized.TestCase):

  def test_unit_square_pixel_centres(self):
    g = coords.pixel_grid(2, 4)
    self.assertEqual(g.shape, (2, 4, 2))
    # x varies along columns, y along rows, at pixel centres.
    np.testing.assert_allclose(g[0, :, 0], [0.125, 0.375, 0.625, 0.875])
    np.testing.assert_allclose(g[:, 0, 1], [0.25, 0.75])
    np.testing.assert_allclose(g[1, 3], [0.875, 0.75])

  @parameterized.parameters((5, 7, (-0.3, -0.5, 1.3, 1.5)), (1, 1, (0, 0, 1, 1)),
                            (3, 8, (2.0, -1.0, 3.0, 0.0)))
  def test_window_and_aspect(self, h, w, window):
    g = coords.pixel_grid(h, w, window)
    x0, y0, x1, y1 = window
    self.assertEqual(g.shape, (h, w, 2))
    dx, dy = (x1 - x0) / w, (y1 - y0) / h
    # Cells tile the window: first/last centres half a cell in from the edges.
    np.testing.assert_allclose(g[0, 0], [x0 + dx / 2, y0 + dy / 2], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(g[-1, -1], [x1 - dx / 2, y1 - dy / 2], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.diff(g[0, :, 0]), dx, rtol=1e-5)

  def test_threefold_denser_grid_contains_base_centres(self):
    base, dense = coords.pixel_grid(4, 6), coords.pixel_grid(12, 18)
    np.testing.assert_allclose(dense[1::3, 1::3], base, atol=1e-7)

  @parameterized.parameters((0, 4), (4, -1), (2.5, 3))
  def test_bad_size(self, h, w):
    with self.assertRaisesRegex(ValueError, "grid size"):
      coords.pixel_grid(h, w)

  @parameterized.parameters(((1, 0, 0, 1),), ((0, 0, 0, 1),), ((0, 0, 1),), ((0, 0, np.inf, 1),))
  def test_bad_window(self, window):
    with self.assertRaisesRegex(ValueError, "window"):
      coords.pixel_grid(4, 4, window)


class IndexMapTest(parameterized.TestCase):

  @parameterized.parameters((8, 4), (9, 4), (5, 3), (7, 7), (3, 5), (256, 128))
  def test_nearest_is_containing_cell(self, n_fine, n_coarse):
    idx = coords.nearest_indices(n_fine, n_coarse)
    centres = coords.axis_centres(n_fine, 0.0, 1.0).astype(np.float64)
    lo = idx / n_coarse
    hi = (idx + 1) / n_coarse
    self.assertTrue(np.all((lo <= centres + 1e-12) & (centres < hi + 1e-12)))

  def test_nearest_integer_ratio_is_replication(self):
    np.testing.assert_array_equal(coords.nearest_indices(8, 4), [0, 0, 1, 1, 2, 2, 3, 3])

  @parameterized.parameters((8, 4), (7, 3), (16, 5))
  def test_linear_reproduces_affine_signal(self, n_fine, n_coarse):
    # Linear interpolation is exact for affine functions away from clamped borders.
    xc = coords.axis_centres(n_coarse, 0.0, 1.0)
    xf = coords.axis_centres(n_fine, 0.0, 1.0)
    idx, wt = coords.linear_indices(n_fine, n_coarse)
    f = 3.0 * xc + 1.0
    up = (f[idx] * wt).sum(-1)
    inside = (xf >= xc[0]) & (xf <= xc[-1])
    np.testing.assert_allclose(up[inside], 3.0 * xf[inside] + 1.0, rtol=1e-5)
    np.testing.assert_allclose(wt.sum(-1), 1.0, rtol=1e-6)

  @parameterized.parameters((256, 128, 256, 128), (100, 128, 256, 50), (99, 128, 256, 50),
                            (1, 128, 256, 1))
  def test_scaled_size(self, size, block, res, expected):
    self.assertEqual(coords.scaled_size(size, block, res), expected)


if __name__ == "__main__":
  absltest.main()
