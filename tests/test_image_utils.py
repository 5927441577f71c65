"""PNG helpers: gray and colour images round-trip exactly through PIL."""
import io
import os
import tempfile

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
from PIL import Image

from inr_gan_jax.utils import image_utils


class PngTest(parameterized.TestCase):

  @parameterized.parameters((1, "L"), (3, "RGB"), (4, "RGBA"))
  def test_png_round_trip(self, channels, mode):
    img = np.random.default_rng(channels).integers(0, 256, (5, 7, channels), dtype=np.uint8)
    back = Image.open(io.BytesIO(image_utils.png_bytes(img)))
    self.assertEqual(back.mode, mode)
    np.testing.assert_array_equal(np.asarray(back).reshape(5, 7, channels), img)
    with tempfile.TemporaryDirectory() as d:
      path = os.path.join(d, "sub", "x.png")
      image_utils.save_png(path, img[:, ::-1])  # a non-contiguous view is fine too
      np.testing.assert_array_equal(np.asarray(Image.open(path)).reshape(5, 7, channels),
                                    img[:, ::-1])


if __name__ == "__main__":
  absltest.main()
