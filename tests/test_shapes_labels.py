"""shapes.labelled (the labels of train_feature_net --data=shapes): the kind each image was drawn with."""
from absl.testing import absltest
import numpy as np

from inr_gan_jax.data import config as data_config
from inr_gan_jax.data import shapes


class ShapesLabelsTest(absltest.TestCase):

  def test_images_are_the_quickstart_data(self):
    images, kinds = shapes.labelled(0, 300, 16)
    cfg = data_config.default_data_config()  # the quickstart's source: shapes, seed 0
    np.testing.assert_array_equal(images, data_config.build_source(cfg, 16).get(np.arange(300)))
    self.assertEqual(kinds.shape, (300,))
    np.testing.assert_array_less(np.abs(np.bincount(kinds, minlength=3) / 300 - 1 / 3), 0.08)

  def test_labels_agree_with_the_drawn_area(self):
    # Independent of the label code: the shape's area over its circumradius squared is pi for
    # a disc, 2 for a square and 3 sqrt(3) / 4 for a triangle. Measure the area in pixels
    # (pixels nearer the shape's colour than the corner's) and name the nearest kind.
    res, num = 64, 120
    images, kinds = shapes.labelled(0, num, res)
    radius = shapes.shape_params(0, np.arange(num))["radius"] * res  # [N] pixels
    x = images.astype(np.float64)
    bg = x[:, :1, :1, :]  # corners are background: the shape stays inside the frame
    far = np.abs(x - bg).max(axis=-1)  # [N, R, R]
    area = (far > 0.5 * far.max(axis=(1, 2), keepdims=True)).sum(axis=(1, 2))
    ratio = area / radius ** 2
    named = np.argmin(np.abs(ratio[:, None] - np.array([np.pi, 2.0, 3 * np.sqrt(3) / 4])), 1)
    self.assertGreaterEqual(np.mean(named == kinds), 0.95)


if __name__ == "__main__":
  absltest.main()
