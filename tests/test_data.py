"""Tests for inr_gan_jax.data: sources, conversions and the TFDS / config entry points."""
import io
import os
import shutil
import tempfile
import time
import zipfile

from absl.testing import absltest
from absl.testing import parameterized
import jax
import numpy as np
from PIL import Image

from inr_gan_jax import data
from inr_gan_jax.data import npz as npz_lib
from inr_gan_jax.data import shapes as shapes_lib
from inr_gan_jax.data import transforms

_HERE = os.path.dirname(os.path.abspath(__file__))
# The development data sit beside the checkout (../shared/data, see the guide); an
# environment variable points elsewhere. No machine's absolute path is written here.
_SHARED_CANDIDATES = tuple(p for p in (os.environ.get("INR_GAN_SHARED_DATA"),
                                       os.path.join(_HERE, "..", "..", "shared", "data"),
                                       os.path.join("..", "shared", "data")) if p)


def _shared_file(rel):
  for root in _SHARED_CANDIDATES:
    path = os.path.join(root, rel)
    if os.path.exists(path):
      return path
  return None


def _tempdir(test):
  """A temporary directory removed after `test` (pytest runs absl tests unparsed)."""
  path = tempfile.mkdtemp()
  test.addCleanup(shutil.rmtree, path, ignore_errors=True)
  return path


def _lanczos(square, r):
  """Reference resize of an already-square uint8 array."""
  return np.asarray(Image.fromarray(square).resize((r, r), Image.Resampling.LANCZOS))


def _save(path, image, **kwargs):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  image.save(path, **kwargs)


def _make_tree(root, rng):
  """Writes a nested folder of images; returns {relative path: expected RGB at 16}."""
  expected = {}
  rgb = rng.integers(0, 256, (16, 16, 3), np.uint8)
  _save(os.path.join(root, "a", "b", "rgb.png"), Image.fromarray(rgb))
  expected["a/b/rgb.png"] = rgb
  webp = rng.integers(0, 256, (16, 16, 3), np.uint8)
  _save(os.path.join(root, "a", "lossless.webp"), Image.fromarray(webp), lossless=True)
  expected["a/lossless.webp"] = webp
  smooth = np.broadcast_to(np.linspace(40, 200, 16, dtype=np.uint8)[None, :, None],
                           (16, 16, 3)).copy()
  _save(os.path.join(root, "c", "photo.jpg"), Image.fromarray(smooth), quality=95)
  expected["c/photo.jpg"] = smooth  # approximate (lossy)
  gray = rng.integers(0, 256, (16, 16), np.uint8)
  _save(os.path.join(root, "gray.png"), Image.fromarray(gray, "L"))
  expected["gray.png"] = np.repeat(gray[..., None], 3, -1)
  with open(os.path.join(root, "notes.txt"), "w") as f:
    f.write("not an image")
  return expected


class TransformsTest(parameterized.TestCase):

  def test_gray_palette_rgba_16bit_to_rgb(self):
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (5, 7), np.uint8)
    np.testing.assert_array_equal(
        transforms.to_rgb_array(Image.fromarray(gray, "L")), np.stack([gray] * 3, -1))

    palette_colors = rng.integers(0, 256, (4, 3), np.uint8)
    idx = rng.integers(0, 4, (5, 7), np.uint8)
    pal = Image.fromarray(idx, "P")
    pal.putpalette(palette_colors.flatten().tolist())
    np.testing.assert_array_equal(transforms.to_rgb_array(pal), palette_colors[idx])

    rgba = rng.integers(0, 256, (5, 7, 4), np.uint8)
    a = rgba[..., 3:].astype(np.float64) / 255
    want = np.rint(rgba[..., :3] * a + 255 * (1 - a))
    got = transforms.to_rgb_array(Image.fromarray(rgba, "RGBA")).astype(np.float64)
    np.testing.assert_allclose(got, want, atol=0.51)
    # Fully transparent -> white, fully opaque -> unchanged.
    rgba[0, 0, 3], rgba[0, 1, 3] = 0, 255
    got = transforms.to_rgb_array(Image.fromarray(rgba, "RGBA"))
    np.testing.assert_array_equal(got[0, 0], [255, 255, 255])
    np.testing.assert_array_equal(got[0, 1], rgba[0, 1, :3])

    la = np.stack([gray, np.full_like(gray, 255)], -1)
    np.testing.assert_array_equal(
        transforms.to_rgb_array(Image.fromarray(la, "LA")), np.stack([gray] * 3, -1))

    sixteen = rng.integers(0, 65536, (5, 7)).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(sixteen).save(buf, format="PNG")
    buf.seek(0)
    got = transforms.to_rgb_array(Image.open(buf))
    np.testing.assert_array_equal(got[..., 0], np.rint(sixteen / 257.0).astype(np.uint8))
    np.testing.assert_array_equal(got[..., 0], got[..., 2])

  @parameterized.parameters((40, 24), (24, 40), (31, 20), (20, 31))
  def test_center_crop_keeps_middle_pixels(self, width, height):
    rng = np.random.default_rng(width)
    img = rng.integers(0, 256, (height, width, 3), np.uint8)
    side = min(width, height)
    top, left = (height - side) // 2, (width - side) // 2
    want = img[top:top + side, left:left + side]
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    buf.seek(0)
    np.testing.assert_array_equal(transforms.decode_file(buf, side), want)
    buf.seek(0)
    np.testing.assert_array_equal(transforms.decode_file(buf, 8), _lanczos(want, 8))

  def test_to_float(self):
    x = np.arange(256, dtype=np.uint8).reshape(16, 16)
    f = data.to_float(x)
    self.assertEqual(f.dtype, np.float32)
    np.testing.assert_allclose(f, x.astype(np.float64) / 127.5 - 1, atol=1e-6)
    self.assertEqual((f.min(), f.max()), (-1.0, 1.0))
    np.testing.assert_allclose(np.asarray(jax.jit(data.to_float_jnp)(x)), f, atol=1e-6)
    np.testing.assert_array_equal(data.to_uint8(f), x)


class FolderSourceTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.root = _tempdir(self)
    self.expected = _make_tree(self.root, np.random.default_rng(1))
    self.names = sorted(self.expected)

  def _check_images(self, source):
    self.assertLen(source, len(self.names))
    images = source.get(np.arange(len(source)))
    self.assertEqual((images.dtype, images.shape), (np.uint8, (len(self.names), 16, 16, 3)))
    for image, name in zip(images, self.names):
      want = self.expected[name]
      if name.endswith(".jpg"):
        self.assertLess(np.abs(image.astype(int) - want).mean(), 3, name)
      else:
        np.testing.assert_array_equal(image, want, err_msg=name)

  @parameterized.parameters("eager", "lazy")
  def test_nested_folder(self, decode):
    source = data.FolderSource(self.root, 16, decode=decode)
    self.assertEqual(source.decode, decode)
    self._check_images(source)

  def test_zip_matches_folder_and_resizes(self):
    zip_path = os.path.join(_tempdir(self), "images.zip")
    with zipfile.ZipFile(zip_path, "w") as archive:
      for name in self.names:
        archive.write(os.path.join(self.root, name), name)
      archive.writestr("__MACOSX/._gray.png", b"junk")
    self._check_images(data.FolderSource(zip_path, 16))
    small = data.FolderSource(zip_path, 8, decode="lazy").get(np.array([0, 3]))
    self.assertEqual(small.shape, (2, 8, 8, 3))
    want = _lanczos(self.expected[self.names[3]], 8)
    np.testing.assert_array_equal(small[1], want)

  def test_corrupt_skip_and_fail(self):
    bad = os.path.join(self.root, "a", "broken.png")
    with open(bad, "wb") as f:
      f.write(np.random.default_rng(2).bytes(300))
    with self.assertLogs("absl", "WARNING") as logs:
      eager = data.FolderSource(self.root, 16, on_corrupt="skip", decode="eager")
    self.assertIn("broken.png", "".join(logs.output))
    self.assertEqual(eager.num_skipped, 1)
    self.assertEqual(eager.skipped_paths, [bad])
    self._check_images(eager)  # The remaining images, in order.

    # Lazy: length stays, the bad index is served by the next readable file.
    lazy = data.FolderSource(self.root, 16, on_corrupt="skip", decode="lazy")
    all_names = sorted(self.names + ["a/broken.png"])
    bad_index = all_names.index("a/broken.png")
    self.assertLen(lazy, len(all_names))
    got = lazy.get(np.array([bad_index, bad_index]))
    np.testing.assert_array_equal(got[0], self.expected[all_names[bad_index + 1]])
    self.assertEqual(lazy.skipped_paths, [bad])

    for decode in ("eager", "lazy"):
      with self.assertRaisesRegex(data.CorruptImageError, "broken.png"):
        source = data.FolderSource(self.root, 16, on_corrupt="fail", decode=decode)
        source.get(np.arange(len(source)))

  def test_cache_dir_roundtrip(self):
    cache = _tempdir(self)
    first = data.FolderSource(self.root, 16, decode="eager", cache_dir=cache)
    self.assertLen([f for f in os.listdir(cache) if f.endswith(".npy")], 1)
    second = data.FolderSource(self.root, 16, decode="eager", cache_dir=cache)
    self.assertIsInstance(second._images, np.memmap)
    idx = np.arange(len(first))
    np.testing.assert_array_equal(first.get(idx), second.get(idx))

  def test_bad_paths(self):
    with self.assertRaisesRegex(FileNotFoundError, "nope"):
      data.FolderSource(os.path.join(self.root, "nope"), 16)
    with self.assertRaisesRegex(FileNotFoundError, "No images"):
      data.FolderSource(_tempdir(self), 16)
    with self.assertRaises(IndexError):
      data.FolderSource(self.root, 16).get(np.array([len(self.names)]))


class NpzSourceTest(parameterized.TestCase):

  @parameterized.parameters(((6, 12, 12),), ((6, 12, 12, 1),))
  def test_grayscale_npz(self, shape):
    images = np.random.default_rng(3).integers(0, 256, shape, np.uint8)
    path = os.path.join(_tempdir(self), "g.npz")
    np.savez(path, images=images)
    source = data.load_array_source(path, 12)
    gray = images.reshape(6, 12, 12)
    np.testing.assert_array_equal(source.get(np.arange(6)), np.stack([gray] * 3, -1))
    resized = data.load_array_source(path, 16).get(np.array([4]))
    np.testing.assert_array_equal(resized[0, ..., 1], _lanczos(gray[4], 16))
    np.testing.assert_array_equal(resized[0, ..., 0], resized[0, ..., 2])

  def test_rgb_npz_key_and_limit(self):
    images = np.random.default_rng(4).integers(0, 256, (5, 8, 8, 3), np.uint8)
    path = os.path.join(_tempdir(self), "c.npz")
    np.savez(path, pics=images)
    cfg = data.default_data_config()
    cfg.update(source="npz", path=path, key="pics", num_examples=3)
    source = data.build_source(cfg, 8)
    self.assertLen(source, 3)
    np.testing.assert_array_equal(source.get(np.array([2, 0])), images[[2, 0]])
    with self.assertRaisesRegex(KeyError, "images"):
      data.load_array_source(path, 8)
    with self.assertRaisesRegex(FileNotFoundError, "missing.npz"):
      data.load_array_source(path.replace("c.npz", "missing.npz"), 8)

  def test_shared_mnist_and_celebahq(self):
    mnist = _shared_file("mnist_test_10k_28x28.npz")
    celeb = _shared_file("celebahq_200/celebahq200_64x64.npz")
    if mnist is None or celeb is None:
      self.skipTest("shared data (../shared/data) not present")
    source = data.load_array_source(mnist, 32, num_examples=50)
    digits = source.get(np.arange(50))
    self.assertEqual(digits.shape, (50, 32, 32, 3))
    np.testing.assert_array_equal(digits[..., 0], digits[..., 2])
    raw = np.load(mnist)["images"][7, ..., 0]
    np.testing.assert_array_equal(digits[7, ..., 0], _lanczos(raw, 32))
    faces = data.load_array_source(celeb, 64)
    self.assertLen(faces, 200)
    np.testing.assert_array_equal(faces.get(np.array([5])), np.load(celeb)["images"][5:6])

  def test_shared_jpeg_folder_matches_lanczos_npz(self):
    jpgs = _shared_file("celebahq_200/jpg_1024")
    npz = _shared_file("celebahq_200/celebahq200_64x64.npz")
    if jpgs is None or npz is None:
      self.skipTest("shared data (../shared/data) not present")
    folder = data.FolderSource(jpgs, 64, num_examples=8)
    ref = np.load(npz)["images"][:8]
    self.assertLess(np.abs(folder.get(np.arange(8)).astype(int) - ref).mean(), 1.5)


class TfdsAndConfigTest(parameterized.TestCase):

  def test_missing_dataset_fails_fast_with_instructions(self):
    data_dir = _tempdir(self)
    cfg = data.default_data_config()
    cfg.update(source="tfds", name="mnist", data_dir=data_dir)
    start = time.perf_counter()
    with self.assertRaisesRegex(FileNotFoundError, "tfds build mnist") as ctx:
      data.build_source(cfg, 32)
    self.assertLess(time.perf_counter() - start, 10)
    self.assertIn(data_dir, str(ctx.exception))
    with self.assertRaisesRegex(ValueError, "Unknown TFDS dataset"):
      data.open_tfds_source("no_such_dataset_xyz", 32, data_dir=data_dir)

  def test_mock_data_without_tensorflow(self):
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    with tfds.testing.mock_data(num_examples=5):
      for name in ("mnist", "lsun/bedroom"):
        source = data.open_tfds_source(name, 16, num_examples=4)
        raw = tfds.data_source(name, split="train")
        self.assertLen(source, 4)
        images = source.get(np.array([3, 1]))
        self.assertEqual(images.shape, (2, 16, 16, 3))
        for image, i in zip(images, (3, 1)):
          np.testing.assert_array_equal(
              image, transforms.array_to_square_rgb(raw[i]["image"], 16))

  def test_tfds_source_conversion_on_fake_records(self):
    rng = np.random.default_rng(9)
    gray = rng.integers(0, 256, (10, 6, 1), np.uint8)  # tall: rows 2..8 survive
    rgb = rng.integers(0, 256, (4, 4, 3), np.uint8)
    source = data.TfdsSource([{"image": gray}, {"image": rgb}, {"label": 1}], 4,
                             num_examples=2)
    self.assertLen(source, 2)
    got = source.get(np.array([0, 1]))
    np.testing.assert_array_equal(got[0], _lanczos(np.repeat(gray[2:8], 3, -1), 4))
    np.testing.assert_array_equal(got[1], rgb)
    with self.assertRaisesRegex(KeyError, "image"):
      data.TfdsSource([{"label": 1}], 4).get(np.array([0]))

  def test_build_source_dispatch_and_errors(self):
    cfg = data.default_data_config()
    self.assertEqual(
        set(cfg.keys()),
        {"source", "path", "name", "split", "data_dir", "download", "on_corrupt",
         "num_examples", "key", "seed", "decode", "cache_dir"})
    source = data.build_source(cfg, 16)
    self.assertIsInstance(source, data.ImageSource)
    self.assertLen(source, shapes_lib.DEFAULT_NUM_EXAMPLES)
    cfg.source = "hdf5"
    with self.assertRaisesRegex(ValueError, "shapes, npz, folder, lmdb, tfds"):
      data.build_source(cfg, 16)
    self.assertIsInstance(npz_lib.ArraySource(np.zeros((1, 4, 4, 3), np.uint8), 4),
                          data.ImageSource)


if __name__ == "__main__":
  absltest.main()
