"""Analytic image gradients ``d image / d(x, y)``: an INR is differentiable in its coordinates.

What the gradient means for the multi-scale INR
-----------------------------------------------
For a point ``p`` of the final grid the image is

    I(p) = tanh( sum_k to_rgb_k(h_k) ),   h_K(p) = f_K( up(h_{K-1})(p), e_K(p) ),

where every coarse block ``h_k, k < K`` is evaluated on its own grid of cell
centres and reaches ``p`` through the upsampling taps of the last step.

* With **nearest** upsampling, ``up(h_{K-1})(p)`` is the coarse value of the
  cell containing ``p``: piecewise constant in ``p``. Its derivative is zero
  inside a cell and undefined (a jump) on cell borders. The gradient returned
  here is that of the final block's smooth dependence on ``p`` through its
  coordinate features ``e_K(p)`` with the coarse context held fixed: the exact
  derivative almost everywhere (away from coarse-cell borders), and what a
  finite difference converges to for steps that stay inside the cell.
  Pixel-centred grids put no pixel centre on a border for integer scale
  factors, so at pixel centres it is the true one-sided-free derivative.
* With **bilinear** upsampling the last step's tap *weights* depend on ``p``
  (continuously, piecewise linearly), so their derivative is included:
  ``d up(v)/dx = (v_right - v_left) * n_coarse / (x1 - x0)`` inside a cell,
  zero in the clamped border band. Coarser steps use fixed grids and do not move.

Units: derivatives are per unit of the coordinate (the training square has side
1). Multiply by the pixel size ``(x1 - x0) / W`` for a per-pixel change.

Implementation: two forward-mode products (``jax.jvp``) with tangents
``(1, 0)`` and ``(0, 1)`` at *every* final point at once. Each output pixel
depends only on its own point, so one JVP gives ``dI/dx`` for all pixels.
"""
import functools
from typing import Any, Dict, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from inr_gan_jax.model import coords
from inr_gan_jax.model import inr
from inr_gan_jax.model import layout as layout_lib
from inr_gan_jax.render import tiling


def _axis_step(n_coarse: int, lo: float, hi: float) -> float:
  """d(coarse index coordinate)/d(coordinate): coarse cells per unit length."""
  return n_coarse / (hi - lo)


def image_fn(layout: layout_lib.INRLayout, plan: inr.GridPlan, coarse_shape: Tuple[int, int],
             window: coords.Window):
  """``(theta_one, shared, p [N, 2]) -> [N, C]``, differentiable in ``p``.

  Values equal ``inr.evaluate`` on ``plan`` at ``p = plan.points[-1]``; the
  last upsampling step's bilinear weights get their dependence on ``p``
  (a zero-valued, straight-through term), see the module docstring.
  """
  x0, y0, x1, y1 = window
  hc, wc = coarse_shape
  sx, sy = _axis_step(wc, x0, x1), _axis_step(hc, y0, y1)

  def fn(theta_one, shared, p):
    points = plan.points[:-1] + (p,)
    up_weight = plan.up_weight
    if layout.upsample == "bilinear" and len(layout.blocks) > 1:
      w = plan.up_weight[-1]  # [N, 4], taps ordered (row tap, col tap) = 00, 01, 10, 11
      wy = jnp.stack([w[:, 0] + w[:, 1], w[:, 2] + w[:, 3]], -1)  # [N, 2] row weights
      wx = jnp.stack([w[:, 0] + w[:, 2], w[:, 1] + w[:, 3]], -1)  # [N, 2] col weights
      same_x = plan.up_index[-1][:, 0] == plan.up_index[-1][:, 1]  # clamped: no dependence
      same_y = plan.up_index[-1][:, 0] == plan.up_index[-1][:, 2]
      dx = (p[:, 0] - jax.lax.stop_gradient(p[:, 0])) * sx * (~same_x)  # value 0, slope sx
      dy = (p[:, 1] - jax.lax.stop_gradient(p[:, 1])) * sy * (~same_y)
      sign = jnp.array([-1.0, 1.0])
      # d w_ab = wy_a * d wx_b + wx_b * d wy_a, with d wx_b = sign_b * dx.
      delta = (wy[:, :, None] * (sign[None, None, :] * dx[:, None, None])
               + wx[:, None, :] * (sign[None, :, None] * dy[:, None, None]))  # [N, 2, 2]
      up_weight = plan.up_weight[:-1] + (w + delta.reshape(-1, 4),)
    local = inr.GridPlan(points, plan.up_index, up_weight)
    return inr.evaluate(layout, theta_one, shared, local)
  return fn


@functools.partial(jax.jit, static_argnums=(0, 4, 5))
def _jvp_xy(layout, theta, shared, plan, coarse_shape, window):
  fn = image_fn(layout, plan, coarse_shape, window)
  p = plan.points[-1]  # [N, 2]

  def one(theta_one):
    f = lambda q: fn(theta_one, shared, q)  # noqa: E731
    tx = jnp.zeros_like(p).at[:, 0].set(1.0)
    ty = jnp.zeros_like(p).at[:, 1].set(1.0)
    value, gx = jax.jvp(f, (p,), (tx,))
    _, gy = jax.jvp(f, (p,), (ty,))
    return value, gx, gy
  return jax.vmap(one)(theta)


def image_gradients(layout: layout_lib.INRLayout, theta: Dict[str, Any], shared: Dict[str, Any],
                    height: int, width: int, window: Sequence[float] = coords.UNIT_WINDOW,
                    max_pixels_per_call: int = 0):
  """Images and their coordinate gradients at the pixel centres of an ``H x W`` render.

  Args:
    theta: predicted tensors, leaves ``[B, ...]``.
    max_pixels_per_call: if > 0 and smaller than ``H * W``, evaluate in tiles
      (:mod:`inr_gan_jax.render.tiling`; same values as one call).

  Returns:
    ``(image, d_dx, d_dy)``, each ``[B, H, W, C]`` float32.
  """
  height, width = coords.check_size(height, width)
  window = coords.check_window(window)
  if len(layout.blocks) > 1:
    b = layout.blocks[-2].resolution
    coarse = (coords.scaled_size(height, b, layout.resolution),
              coords.scaled_size(width, b, layout.resolution))
  else:
    coarse = (1, 1)
  tile = (height, width)
  if 0 < max_pixels_per_call < height * width:
    tile = tiling.choose_tile(height, width, max_pixels_per_call)
  renderer = tiling.TiledRenderer(layout, height, width, window, tile)
  batch = jax.tree.leaves(theta)[0].shape[0]
  outs = [np.empty((batch, height, width, layout.out_channels), np.float32) for _ in range(3)]
  for (rs, cs), plan, (th, tw) in renderer.plans():
    for out, a in zip(outs, _jvp_xy(layout, theta, shared, plan, coarse, window)):
      out[:, rs, cs] = np.asarray(a)[:, :th * tw].reshape(batch, th, tw, -1)
  return tuple(outs)


def gradient_magnitude(d_dx: np.ndarray, d_dy: np.ndarray, pixel_size: Tuple[float, float]
                       ) -> np.ndarray:
  """Per-pixel ``sqrt(sum_c (dI_c/dx)^2 + (dI_c/dy)^2)`` in image units per *pixel*: ``[..., H, W]``.

  ``pixel_size = ((x1 - x0) / W, (y1 - y0) / H)``.
  """
  gx = d_dx * pixel_size[0]
  gy = d_dy * pixel_size[1]
  return np.sqrt(np.sum(gx * gx + gy * gy, axis=-1))


def magnitude_to_uint8(mag: np.ndarray, percentile: float = 99.5) -> np.ndarray:
  """``[H, W]`` magnitudes -> ``[H, W, 1]`` uint8, scaled so the given percentile is white."""
  top = float(np.percentile(mag, percentile)) or 1.0
  return np.clip(np.rint(255.0 * mag / top), 0, 255).astype(np.uint8)[..., None]
