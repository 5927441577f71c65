"""experiments/background_flatness.py: the ring statistic against hand-computed cases."""
from absl.testing import absltest
import numpy as np

from experiments import background_flatness
from inr_gan_jax.data import shapes


class RingDeviationTest(absltest.TestCase):

  def test_flat_ring_is_zero_whatever_the_centre(self):
    x = np.full((2, 8, 8, 3), 40, np.uint8)
    x[:, 2:6, 2:6] = 250  # inside the 2-px ring: not counted
    np.testing.assert_array_equal(background_flatness.ring_deviation(x, 2), [0.0, 0.0])

  def test_stripes_give_the_closed_form(self):
    # Ring of a 6x6 image with ring 1: 20 pixels. Odd columns are 10 levels brighter: the
    # ring holds 10 odd-column and 10 even-column pixels, so the median is the midpoint
    # (+5) and every pixel deviates by 5.
    x = np.zeros((1, 6, 6, 1), np.uint8)
    x[:, :, 1::2] = 10
    np.testing.assert_allclose(background_flatness.ring_deviation(x, 1), [5.0])

  def test_shapes_data_is_nearly_flat(self):
    dev = background_flatness.ring_deviation(shapes.render_shapes(0, np.arange(200), 32), 3)
    self.assertEqual(float(np.median(dev)), 0.0)
    self.assertLess(float(dev.mean()), 1.0)


if __name__ == "__main__":
  absltest.main()
