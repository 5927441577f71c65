"""PIL line plots: geometry of the drawn lines, NaN handling, legend placement."""
import os
import tempfile

from absl.testing import absltest
import numpy as np
from PIL import Image

from inr_gan_jax.utils import plotting


def colour_pixels(img: Image.Image, colour) -> np.ndarray:
  """``[K, 2]`` (row, col) of pixels exactly ``colour``."""
  a = np.asarray(img)
  return np.argwhere(np.all(a == np.asarray(colour, np.uint8), axis=-1))


class PlottingTest(absltest.TestCase):

  def test_rising_line_goes_up_and_falling_line_goes_down(self):
    x = np.arange(10.0)
    img = plotting.draw_panels([("t", {"up": (x, x), "down": (x, -x)})], width=400, panel_h=200)
    self.assertEqual(img.size, (400, 200))
    for colour, rising in ((plotting.COLOURS[0], True), (plotting.COLOURS[1], False)):
      px = colour_pixels(img, colour)
      px = px[px[:, 0] > 40]  # drop the legend text above the axes
      left = px[px[:, 1] < px[:, 1].min() + 5, 0].mean()
      right = px[px[:, 1] > px[:, 1].max() - 5, 0].mean()
      # Image rows grow downwards: a rising series ends at a smaller row.
      self.assertEqual(right < left, rising)

  def test_non_finite_points_are_skipped_and_panels_stack(self):
    x = np.arange(5.0)
    y = np.array([1.0, np.nan, 2.0, np.inf, 3.0])
    img = plotting.draw_panels([("a", {"s": (x, y)}), ("b", {"empty": ([], [])})],
                               width=300, panel_h=150)
    self.assertEqual(img.size, (300, 300))
    px = colour_pixels(img, plotting.COLOURS[0])
    self.assertGreater(len(px[px[:, 0] < 150]), 10)  # the line is in the first panel

  def test_save_panels_moves_legend_aside_for_many_series(self):
    x = np.arange(3.0)
    with tempfile.TemporaryDirectory() as d:
      path = os.path.join(d, "p.png")
      for count, aside in ((2, False), (8, True)):
        plotting.save_panels(path, [("t", {f"s{i}": (x, x + i) for i in range(count)})],
                             width=500)
        box = colour_pixels(Image.open(path).convert("RGB"), (120, 120, 120))
        # The axes box shrinks to leave a legend column of 180 px (margin 20).
        self.assertEqual(box[:, 1].max(), 500 - 20 - (180 if aside else 0))

if __name__ == "__main__":
  absltest.main()
