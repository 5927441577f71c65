"""Keypoints Prediction Loss (KPL, Table 2 of Skorokhodov et al., CVPR 2021).

Do a generator's latents encode face geometry linearly? Sample faces, detect
their 68 landmarks, fit a linear map latent -> landmarks on the generated set,
then predict the landmarks of real faces from their projected latents. KPL is
the mean squared error of those predictions; a low KPL means the latent space
carries face geometry along (nearly) linear directions. The reference is the
same regression fitted on latents randomly permuted against their landmarks:
it can only learn the mean face, so its KPL is the geometry's variance.

Conventions (everything here is numpy; only the generator helpers use JAX):

* Keypoints are ``[N, 68, 2]`` ``(x, y)``, normalised to ``[0, 1]`` of the image
  side with pixel centres: a landmark in pixel column ``i`` of an ``S``-wide
  image is at ``(i + 0.5) / S``, so the number does not depend on the resolution
  the detector ran at. ``NaN`` rows are faces the detector rejected.
* ``KPL = mean over faces, points and both coordinates of (pred - true)^2``, in
  those units (``sqrt(KPL) * S`` is the RMS error in pixels of an ``S`` px image).
* The regression is ordinary least squares with a bias, optionally ridge
  (``ridge * ||W||^2``, the bias not penalised).

The detector is dlib's 68-point shape predictor, the ``.dat`` file shipped in the
``face-recognition-models`` package, run with the ``dlib-bin`` wheel: the
``[kpl]`` extra. dlib is imported only when a detector is built.
"""
import dataclasses
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from inr_gan_jax.utils import image_utils

NUM_POINTS = 68
INSTALL_HINT = 'pip install -e ".[kpl]"  (dlib-bin and face-recognition-models)'
BOX_MODES = ("detect", "full", "detect_or_full")
# dlib's 68-point layout: index ranges of the parts (for plots and sanity checks).
PARTS = {"jaw": (0, 17), "right_brow": (17, 22), "left_brow": (22, 27), "nose": (27, 36),
         "right_eye": (36, 42), "left_eye": (42, 48), "mouth": (48, 68)}


# ---- the detector --------------------------------------------------------------------------

def require_dlib():
  """``(dlib, path of shape_predictor_68_face_landmarks.dat)``, or one clear ImportError."""
  try:
    import dlib  # noqa: PLC0415  (optional dependency, imported on use)
    import face_recognition_models  # noqa: PLC0415
  except ImportError as e:
    raise ImportError(f"KPL keypoints need dlib and its 68-point model: {INSTALL_HINT} "
                      f"({e})") from None
  return dlib, face_recognition_models.pose_predictor_model_location()


def dlib_available() -> Tuple[bool, str]:
  """``(True, "")`` when the ``[kpl]`` extra is importable, else ``(False, reason)``."""
  try:
    require_dlib()
  except ImportError as e:
    return False, str(e)
  return True, ""


def to_uint8(images) -> np.ndarray:
  """``[N, H, W, C]`` uint8, or float in ``[-1, 1]`` (the generator's range) -> uint8 RGB."""
  images = np.asarray(images)
  if images.dtype != np.uint8:
    images = image_utils.to_uint8(images)
  if images.shape[-1] == 1:
    images = np.repeat(images, 3, axis=-1)
  return images


@dataclasses.dataclass
class Detections:
  keypoints: np.ndarray   # [N, 68, 2] in [0, 1] of the image side; NaN where rejected
  ok: np.ndarray          # [N] bool
  reason: np.ndarray      # [N] str: "detected", "full_box" (whole image used), "no_face"
  num_faces: np.ndarray   # [N] faces dlib's detector found (the largest one is used)

  def summary(self) -> Dict[str, int]:
    out = {"num": int(len(self.ok)), "kept": int(self.ok.sum()),
           "rejected": int((~self.ok).sum()),
           "several_faces": int((self.num_faces > 1).sum())}
    for r in ("detected", "full_box", "no_face"):
      out[r] = int((self.reason == r).sum())
    return out


class DlibKeypoints:
  """dlib's 68 landmarks of face images: ``__call__(images) -> Detections``.

  Args:
    size: images are resized (bicubic) to ``size x size`` first; dlib's frontal
      face detector rarely fires on 64 px faces and finds nearly all at 256 px.
    box: where the shape predictor looks. "detect": dlib's HOG face detector's
      box (the largest face; none found = rejected); "full": the whole image
      (aligned faces; never rejects, but the predictor was trained on detector
      boxes, which are tighter); "detect_or_full": the detector's box, else the
      whole image.
    upsample_detector: dlib's own pyramid upsampling for the detector (0 or 1).
  """

  def __init__(self, size: int = 256, box: str = "detect", upsample_detector: int = 0):
    if box not in BOX_MODES:
      raise ValueError(f"box must be one of {BOX_MODES}, got {box!r}")
    dlib, model = require_dlib()
    self._dlib = dlib
    self._predictor = dlib.shape_predictor(model)
    self._detector = dlib.get_frontal_face_detector() if box != "full" else None
    self.size, self.box, self.upsample_detector = int(size), box, int(upsample_detector)

  def _resize(self, image: np.ndarray) -> np.ndarray:
    if image.shape[0] == self.size and image.shape[1] == self.size:
      return np.ascontiguousarray(image)
    from PIL import Image  # noqa: PLC0415
    return np.asarray(Image.fromarray(image).resize((self.size, self.size), Image.BICUBIC))

  def one(self, image: np.ndarray) -> Tuple[Optional[np.ndarray], str, int]:
    """uint8 ``[H, W, 3]`` -> ``(keypoints [68, 2] in [0, 1] or None, reason, faces found)``."""
    im = self._resize(image)
    s = self.size
    rect, reason, found = None, "full_box", 0
    if self._detector is not None:
      faces = list(self._detector(im, self.upsample_detector))
      found = len(faces)
      if faces:
        rect, reason = max(faces, key=lambda r: r.width() * r.height()), "detected"
      elif self.box == "detect":
        return None, "no_face", 0
    if rect is None:
      rect = self._dlib.rectangle(0, 0, s - 1, s - 1)
    shape = self._predictor(im, rect)
    pts = np.array([(shape.part(i).x, shape.part(i).y) for i in range(shape.num_parts)],
                   np.float64)
    return (pts + 0.5) / s, reason, found

  def __call__(self, images) -> Detections:
    images = to_uint8(images)
    n = len(images)
    kp = np.full((n, NUM_POINTS, 2), np.nan)
    reason = np.empty(n, dtype=object)
    found = np.zeros(n, np.int64)
    for i, im in enumerate(images):
      pts, reason[i], found[i] = self.one(im)
      if pts is not None:
        kp[i] = pts
    reason = reason.astype(str)
    return Detections(keypoints=kp, ok=~np.isnan(kp).any(axis=(1, 2)), reason=reason,
                      num_faces=found)


# ---- regression and the loss ---------------------------------------------------------------

@dataclasses.dataclass
class LinearMap:
  weight: np.ndarray   # [D, K]
  bias: np.ndarray     # [K]
  shape: Tuple[int, ...]  # one target's shape, e.g. (68, 2)

  def __call__(self, x) -> np.ndarray:
    """``x [N, D] -> [N, *shape]``."""
    x = np.asarray(x, np.float64)
    return (x @ self.weight + self.bias).reshape((len(x),) + tuple(self.shape))


def fit_linear(x, y, ridge: float = 0.0) -> LinearMap:
  """Least squares ``y ~ x W + b`` (``ridge * ||W||_F^2`` added; b is not penalised).

  Args:
    x: ``[N, D]`` latents.
    y: ``[N, ...]`` targets (e.g. keypoints ``[N, 68, 2]``), no NaNs.
  With ``ridge = 0`` this is ``numpy.linalg.lstsq`` on ``[x, 1]`` (the minimum-norm
  solution when ``N <= D``); otherwise the centred normal equations.
  """
  x = np.asarray(x, np.float64)
  y = np.asarray(y, np.float64)
  shape = y.shape[1:]
  y = y.reshape(len(y), -1)
  if len(x) != len(y):
    raise ValueError(f"{len(x)} latents but {len(y)} targets")
  if not np.all(np.isfinite(x)) or not np.all(np.isfinite(y)):
    raise ValueError("fit_linear got NaN/inf: drop rejected detections first")
  if ridge < 0:
    raise ValueError(f"ridge must be >= 0, got {ridge}")
  if ridge == 0:
    aug = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    sol = np.linalg.lstsq(aug, y, rcond=None)[0]  # [D + 1, K]
    return LinearMap(weight=sol[:-1], bias=sol[-1], shape=shape)
  mx, my = x.mean(0), y.mean(0)
  xc, yc = x - mx, y - my
  weight = np.linalg.solve(xc.T @ xc + ridge * np.eye(x.shape[1]), xc.T @ yc)
  return LinearMap(weight=weight, bias=my - mx @ weight, shape=shape)


def kpl(pred, true) -> float:
  """Mean squared error over faces, points and coordinates (keypoints in [0, 1] units)."""
  pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
  if pred.shape != true.shape:
    raise ValueError(f"prediction {pred.shape} vs detection {true.shape}")
  return float(np.mean(np.square(pred - true)))


def kpl_per_face(pred, true) -> np.ndarray:
  """``[N]`` each face's mean squared error."""
  d = np.square(np.asarray(pred, np.float64) - np.asarray(true, np.float64))
  return d.reshape(len(d), -1).mean(axis=1)


def fit_permuted(x, y, seed: int = 0, ridge: float = 0.0) -> LinearMap:
  """The baseline: :func:`fit_linear` on latents randomly permuted against their targets."""
  perm = np.random.default_rng(seed).permutation(len(x))
  return fit_linear(np.asarray(x)[perm], y, ridge)


def split(n: int, holdout: float, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
  """Random ``(train indices, held-out indices)`` of ``n`` items (``holdout`` a fraction)."""
  perm = np.random.default_rng(seed).permutation(n)
  k = int(round(n * holdout))
  return np.sort(perm[k:]), np.sort(perm[:k])


def kpl_table(latents: Dict[str, np.ndarray], keypoints: np.ndarray,
              test_latents: Dict[str, np.ndarray], test_keypoints: np.ndarray, *,
              holdout: float = 0.2, ridge: float = 0.0, seed: int = 0,
              extra_targets: Optional[Dict[str, np.ndarray]] = None) -> Dict[str, Dict]:
  """Fits every latent space to the generated keypoints and scores it.

  Args:
    latents: space name (e.g. "z", "w") -> generated latents ``[N, D_s]`` (kept faces only).
    keypoints: ``[N, 68, 2]`` detected on the generated images (no NaNs).
    test_latents: space -> the real faces' projected latents ``[M, D_s]``.
    test_keypoints: ``[M, 68, 2]`` detected on the real faces.
    holdout: fraction of the generated set kept out of the fit (scored as "heldout").
    extra_targets: other ``[M, 68, 2]`` references for the projected latents, each
      scored as ``"test_vs_<name>"`` (e.g. keypoints of the projections' renders).

  Returns:
    space -> {"train", "heldout", "test", "permuted_train", "permuted_heldout",
    "permuted_test", "mean_face_test", ...: KPL values, "map": the LinearMap, "pred_test"}.
  """
  train, held = split(len(keypoints), holdout, seed)
  mean_face = keypoints[train].mean(0)
  out = {}
  for name, x in latents.items():
    x = np.asarray(x, np.float64)
    m = fit_linear(x[train], keypoints[train], ridge)
    p = fit_permuted(x[train], keypoints[train], seed + 1, ridge)
    xt = np.asarray(test_latents[name], np.float64)
    row = {"train": kpl(m(x[train]), keypoints[train]),
           "heldout": kpl(m(x[held]), keypoints[held]) if len(held) else float("nan"),
           "test": kpl(m(xt), test_keypoints),
           "permuted_train": kpl(p(x[train]), keypoints[train]),
           "permuted_heldout": kpl(p(x[held]), keypoints[held]) if len(held) else float("nan"),
           "permuted_test": kpl(p(xt), test_keypoints),
           "mean_face_test": kpl(np.broadcast_to(mean_face, test_keypoints.shape),
                                 test_keypoints),
           "test_per_face": kpl_per_face(m(xt), test_keypoints),
           "num_train": int(len(train)), "num_heldout": int(len(held)),
           "num_test": int(len(xt)), "dim": int(x.shape[1]),
           "map": m, "pred_test": m(xt)}
    for ref, target in (extra_targets or {}).items():
      row[f"test_vs_{ref}"] = kpl(m(xt), target)
    out[name] = row
  return out


# ---- the generator side (JAX) --------------------------------------------------------------

def generate_faces(generator, params, num: int, seed: int = 0,
                   batch_size: int = 250) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
  """``(z [N, D], w [N, width], images uint8 [N, H, W, C])``: images rendered from ``w``.

  ``w = generator.hidden(params, z)`` is the hidden code before the connector (untruncated).
  """
  import jax  # noqa: PLC0415

  z = np.asarray(generator.sample_z(jax.random.PRNGKey(seed), num))
  ws, ims = [], []
  for i in range(0, num, batch_size):
    zb = z[i:i + batch_size]
    if len(zb) < batch_size:  # one compiled batch shape: pad the last batch
      zb = np.concatenate([zb, np.repeat(zb[-1:], batch_size - len(zb), 0)])
    w = generator.hidden(params, zb)
    img = generator.generate(params, w=w)
    k = min(batch_size, num - i)
    ws.append(np.asarray(w)[:k])
    ims.append(to_uint8(np.asarray(img)[:k]))
  return z, np.concatenate(ws), np.concatenate(ims)


def project_faces(generator, params, images, space: str, *, num_steps: int = 200,
                  num_starts: int = 1, seed: int = 0, w_avg=None, lr: float = 0.05,
                  scales: Sequence[int] = (1, 2, 4),
                  log: Optional[Callable[[str], None]] = None
                  ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Projects each face with :func:`inr_gan_jax.fit.project.project` (the ``project`` mode).

  Args:
    images: uint8 ``[M, H, W, C]`` (or float in [-1, 1]) at the generator's resolution.
    num_starts, seed, w_avg: as the CLI: ``initial_latents(..., num_starts, seed, w_avg)``.

  Returns:
    ``(latents [M, D], renders uint8 [M, H, W, C], rmse [M])``.
  """
  from inr_gan_jax.fit import project as project_lib  # noqa: PLC0415

  images = to_uint8(images)
  init = project_lib.initial_latents(generator, params, space, num_starts, seed, w_avg)
  lats, rmse = [], []
  for i, im in enumerate(images):
    target = image_utils.to_float(im)
    lat, hist = project_lib.project(generator, params, target, space=space, num_steps=num_steps,
                                    lr=lr, scales=scales, init=init)
    lats.append(np.asarray(lat))
    rmse.append(hist[-1]["rmse"])
    if log:
      log(f"project {space} {i + 1}/{len(images)}: rmse {rmse[-1]:.3f}")
  lats = np.stack(lats)
  h, w = images.shape[1:3]
  renders = generator.generate(params, height=h, width=w, **{space: lats})
  return lats, to_uint8(np.asarray(renders)), np.asarray(rmse)
