"""Tests for the Keypoints Prediction Loss (inr_gan_jax.metrics.kpl)."""
import os
import sys
from unittest import mock

from absl.testing import absltest
import jax
import numpy as np

from inr_gan_jax.metrics import kpl
from inr_gan_jax.model import generator as generator_lib
from tests import helpers

_HERE = os.path.dirname(os.path.abspath(__file__))
_CELEBA = "celebahq_200/celebahq200_64x64.npz"


def _shared_file(rel):
  for root in (os.environ.get("INR_GAN_SHARED_DATA"), os.path.join(_HERE, "..", "..", "shared",
                                                                   "data")):
    if root and os.path.exists(os.path.join(root, rel)):
      return os.path.join(root, rel)
  return None


def _linear_keypoints(x, seed=0, scale=0.02):
  """Keypoints ``[N, 68, 2]`` that are an exact affine function of ``x`` (about [0, 1])."""
  rng = np.random.default_rng(seed)
  a = rng.normal(size=(x.shape[1], kpl.NUM_POINTS * 2)) * scale
  b = rng.uniform(0.3, 0.7, size=kpl.NUM_POINTS * 2)
  return (x @ a + b).reshape(len(x), kpl.NUM_POINTS, 2)


class RegressionTest(absltest.TestCase):

  def test_exact_linear_keypoints_give_zero_kpl_and_permuted_does_not(self):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 16))
    y = _linear_keypoints(x)
    x_test = rng.normal(size=(50, 16))
    y_test = _linear_keypoints(x_test)
    m = kpl.fit_linear(x[:500], y[:500])
    self.assertLess(kpl.kpl(m(x_test), y_test), 1e-20)
    self.assertEqual(m(x_test).shape, (50, 68, 2))
    p = kpl.fit_permuted(x[:500], y[:500], seed=1)
    # Permuted: about the variance of the keypoints (16 * 0.02^2 = 0.0064 per coordinate).
    self.assertGreater(kpl.kpl(p(x_test), y_test), 0.004)
    table = kpl.kpl_table({"z": x}, y, {"z": x_test}, y_test)["z"]
    for key in ("train", "heldout", "test"):
      self.assertLess(table[key], 1e-20, key)
    for key in ("permuted_train", "permuted_heldout", "permuted_test", "mean_face_test"):
      self.assertGreater(table[key], 0.004, key)
    self.assertEqual((table["num_train"], table["num_heldout"], table["num_test"]), (480, 120, 50))

  def test_matches_numpy_lstsq_and_ridge_closed_form(self):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 12))
    y = rng.uniform(size=(200, 68, 2))
    m = kpl.fit_linear(x, y)
    aug = np.concatenate([x, np.ones((200, 1))], 1)
    sol = np.linalg.lstsq(aug, y.reshape(200, -1), rcond=None)[0]
    np.testing.assert_allclose(m.weight, sol[:-1], atol=1e-10)
    np.testing.assert_allclose(m.bias, sol[-1], atol=1e-10)
    # Ridge with an unpenalised bias: the normal equations of the augmented system.
    lam = 5.0
    reg = np.diag(np.r_[np.full(12, lam), 0.0])
    sol_r = np.linalg.solve(aug.T @ aug + reg, aug.T @ y.reshape(200, -1))
    r = kpl.fit_linear(x, y, ridge=lam)
    np.testing.assert_allclose(r.weight, sol_r[:-1], atol=1e-10)
    np.testing.assert_allclose(r.bias, sol_r[-1], atol=1e-10)
    # Ridge shrinks the weights; the in-sample error can only grow.
    self.assertLess(np.linalg.norm(r.weight), np.linalg.norm(m.weight))
    self.assertGreaterEqual(kpl.kpl(r(x), y), kpl.kpl(m(x), y))

  def test_kpl_units_and_errors(self):
    true = np.full((3, 68, 2), 0.5)
    self.assertAlmostEqual(kpl.kpl(true + 0.1, true), 0.01)
    np.testing.assert_allclose(kpl.kpl_per_face(true + [[[0.0]], [[0.1]], [[0.2]]], true),
                               [0.0, 0.01, 0.04])
    with self.assertRaisesRegex(ValueError, "vs"):
      kpl.kpl(true[:2], true)
    with self.assertRaisesRegex(ValueError, "NaN"):
      kpl.fit_linear(np.ones((3, 2)), np.full((3, 68, 2), np.nan))
    with self.assertRaisesRegex(ValueError, "ridge"):
      kpl.fit_linear(np.ones((3, 2)), true, ridge=-1.0)

  def test_to_uint8(self):
    f = np.array([[[[-1.0, 0.0, 1.0]]]], np.float32)
    np.testing.assert_array_equal(kpl.to_uint8(f), [[[[0, 128, 255]]]])
    self.assertEqual(kpl.to_uint8(np.zeros((1, 2, 2, 1), np.uint8)).shape, (1, 2, 2, 3))


def _centroid_keypoints(images):
  """A stand-in detector: 68 copies of 4 brightness centroids (quadrants), in [0, 1]."""
  im = kpl.to_uint8(images).astype(np.float64).mean(-1) + 1e-3  # [N, H, W]
  n, h, w = im.shape
  ys, xs = (np.arange(h) + 0.5) / h, (np.arange(w) + 0.5) / w
  pts = []
  for qy in (slice(0, h // 2), slice(h // 2, h)):
    for qx in (slice(0, w // 2), slice(w // 2, w)):
      q = im[:, qy, qx]
      tot = q.sum((1, 2))
      pts.append(np.stack([(q.sum(1) * xs[qx]).sum(1) / tot,
                           (q.sum(2) * ys[qy]).sum(1) / tot], -1))
  pts = np.stack(pts, 1)  # [N, 4, 2]
  return np.tile(pts, (1, 17, 1))  # [N, 68, 2]


class TinyGeneratorTest(absltest.TestCase):
  """The z / w path end to end with a tiny generator and synthetic keypoints."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.g = generator_lib.build(helpers.tiny_model())
    cls.params = jax.jit(cls.g.init)(jax.random.PRNGKey(0))

  def test_generate_faces_consistent_with_generator(self):
    z, w, ims = kpl.generate_faces(self.g, self.params, 10, seed=3, batch_size=4)
    self.assertEqual(z.shape, (10, self.g.latent_dim))
    self.assertEqual(w.shape, (10, self.g.hidden_dim))
    self.assertEqual((ims.shape, ims.dtype), ((10, 16, 16, 3), np.uint8))
    np.testing.assert_allclose(w, np.asarray(self.g.hidden(self.params, z)), atol=1e-5)
    direct = kpl.to_uint8(np.asarray(self.g.generate(self.params, z)))
    self.assertLessEqual(np.abs(direct.astype(int) - ims).max(), 1)

  def test_w_linear_keypoints_and_projection_path(self):
    z, w, ims = kpl.generate_faces(self.g, self.params, 300, seed=0, batch_size=100)
    # Synthetic geometry that is exactly linear in w (so not in z: w = MLP(z)).
    y = _linear_keypoints(w / w.std(), seed=2, scale=0.01)
    table = kpl.kpl_table({"z": z, "w": w}, y, {"z": z[:5], "w": w[:5]}, y[:5])
    self.assertLess(table["w"]["heldout"], 1e-12)
    self.assertGreater(table["z"]["heldout"], 10 * table["w"]["heldout"])
    self.assertGreater(table["w"]["permuted_heldout"], 100 * table["w"]["heldout"])
    # Image-derived keypoints, the real faces being generated ones projected back.
    y_img = _centroid_keypoints(ims)
    for space, lat in (("z", z), ("w", w)):
      proj, renders, rmse = kpl.project_faces(self.g, self.params, ims[:2], space, num_steps=3,
                                              w_avg=w.mean(0))
      self.assertEqual(proj.shape, (2, lat.shape[1]))
      self.assertEqual(renders.shape, (2, 16, 16, 3))
      self.assertTrue(np.all(np.isfinite(rmse)))
      row = kpl.kpl_table({space: lat}, y_img, {space: proj}, _centroid_keypoints(ims[:2]),
                          extra_targets={"render": _centroid_keypoints(renders)})[space]
      for key in ("test", "permuted_test", "test_vs_render"):
        self.assertTrue(np.isfinite(row[key]), key)


class DlibTest(absltest.TestCase):

  def test_missing_dlib_names_the_extra(self):
    with mock.patch.dict(sys.modules, {"dlib": None}):
      with self.assertRaisesRegex(ImportError, r'pip install -e "\.\[kpl\]"'):
        kpl.require_dlib()
      self.assertFalse(kpl.dlib_available()[0])

  def test_dlib_keypoints_on_a_real_face(self):
    ok, reason = kpl.dlib_available()
    if not ok:
      self.skipTest(f"the [kpl] extra is not installed: {reason}")
    path = _shared_file(_CELEBA)
    if path is None:
      self.skipTest(f"shared data ../shared/data/{_CELEBA} not present")
    faces = np.load(path)["images"][:2]  # [2, 64, 64, 3] uint8
    noise = np.random.default_rng(0).integers(0, 255, size=(1, 64, 64, 3), dtype=np.uint8)
    det = kpl.DlibKeypoints(size=256, box="detect")(np.concatenate([faces, noise]))
    self.assertEqual(det.keypoints.shape, (3, 68, 2))
    np.testing.assert_array_equal(det.ok, [True, True, False])
    self.assertEqual(list(det.reason), ["detected", "detected", "no_face"])
    self.assertEqual(det.summary()["rejected"], 1)
    kp = det.keypoints[:2]
    self.assertTrue(np.all((kp > 0.0) & (kp < 1.0)))
    p = kpl.PARTS
    eye_y = kp[:, p["right_eye"][0]:p["left_eye"][1], 1].mean(1)
    mouth_y = kp[:, p["mouth"][0]:p["mouth"][1], 1].mean(1)
    self.assertTrue(np.all(eye_y < mouth_y))  # image y points down
    # The subject's right eye is on the image's left.
    self.assertTrue(np.all(kp[:, 36:42, 0].mean(1) < kp[:, 42:48, 0].mean(1)))
    full = kpl.DlibKeypoints(size=256, box="full")(faces[:1])
    self.assertEqual(list(full.reason), ["full_box"])
    self.assertTrue(full.ok.all())


if __name__ == "__main__":
  absltest.main()
