"""matplotlib figures: drawn data equal the finite input points, axes, scales, legends, bars."""
import os
import tempfile

from absl.testing import absltest
import numpy as np
from PIL import Image

from inr_gan_jax.utils import plotting


class LineFigureTest(absltest.TestCase):

  def test_lines_hold_the_finite_points_in_order(self):
    x = np.arange(5.0)
    y = np.array([1.0, np.nan, 2.0, np.inf, 3.0])
    fig = plotting.line_figure([("a", {"s": (x, y), "t": (x, -x)}), ("b", {"empty": ([], [])})],
                               xlabel=("seconds", "step"), ylabels=("PSNR (dB)",))
    a, b = fig.axes[:2]
    lines = {l.get_label(): l for l in a.get_lines()}
    np.testing.assert_array_equal(lines["s"].get_xdata(), [0, 2, 4])
    np.testing.assert_array_equal(lines["s"].get_ydata(), [1, 2, 3])
    np.testing.assert_array_equal(lines["t"].get_ydata(), -x)
    self.assertEqual((a.get_xlabel(), b.get_xlabel()), ("seconds", "step"))
    self.assertEqual((a.get_ylabel(), b.get_ylabel()), ("PSNR (dB)", ""))
    self.assertEqual(a.get_title(loc="left"), "a")
    self.assertEqual([t.get_text() for t in a.get_legend().get_texts()], ["s", "t"])
    self.assertEqual(b.get_lines(), [])  # nothing drawable: an empty panel, no legend
    self.assertIsNone(b.get_legend())
    # Colours follow COLOURS in series order.
    np.testing.assert_allclose(lines["t"].get_color(), np.asarray(plotting.COLOURS[1]) / 255)
    plotting.to_image(fig)

  def test_log_scale_per_panel_and_ticks_cover_the_data(self):
    x = np.arange(1.0, 5.0)
    fig = plotting.line_figure([("fd", {"r": (x, 10.0 ** x)}), ("lin", {"r": (x, x)})],
                               logy=(True,))
    self.assertEqual([ax.get_yscale() for ax in fig.axes], ["log", "linear"])
    lo, hi = fig.axes[1].get_ylim()
    self.assertLessEqual(lo, 1.0)
    self.assertGreaterEqual(hi, 4.0)
    ticks = fig.axes[1].get_yticks()
    self.assertGreater(len(ticks), 2)
    plotting.to_image(fig)

  def test_draw_and_save_give_images_of_the_requested_size(self):
    img = plotting.draw_panels([("t", {"a": ([0, 1], [0, 1])})] * 2, width=400, panel_h=150)
    self.assertEqual(img.size, (400, 300))
    self.assertEqual(img.mode, "RGB")
    with tempfile.TemporaryDirectory() as d:
      path = os.path.join(d, "sub", "p.png")
      plotting.save_panels(path, [("t", {"a": ([0, 1], [1, 0])})], width=500, panel_h=200)
      self.assertEqual(Image.open(path).size, (500, 200))


class BarFigureTest(absltest.TestCase):

  def test_bar_heights_groups_and_legend(self):
    fig = plotting.bar_figure(["1x", "2x"], {"INR": [3.0, 5.0], "bicubic": [4.0, 9.0]},
                              title="FID", ylabel="FID")
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    self.assertEqual(heights, [3.0, 5.0, 4.0, 9.0])
    self.assertEqual([t.get_text() for t in ax.get_xticklabels()], ["1x", "2x"])
    self.assertEqual([t.get_text() for t in ax.get_legend().get_texts()], ["INR", "bicubic"])
    # The two bars of a group sit left and right of its tick.
    xs = [p.get_x() + p.get_width() / 2 for p in ax.patches]
    self.assertLess(xs[0], 0.0)
    self.assertGreater(xs[2], 0.0)
    plotting.to_image(fig)


if __name__ == "__main__":
  absltest.main()
