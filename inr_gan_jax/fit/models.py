"""Coordinate networks for fitting: Fourier-feature ReLU MLP and SIREN.

Both are pure functions of a params dict built from the core's layers
(:func:`layers.fourier_features`, :func:`layers.dense`, weights ``[out, in]``).
A memorizing network is the same MLP with an extra per-image input ("code"),
either a continuous index coordinate or the binary code of the index.

params::

  {"fourier": {"w": [n, 2 (+ code_dim)]},  # ffn only; frozen (stop_gradient)
   "hidden": [{"w": [out, in], "bias": [out]}, ...],
   "to_rgb": {"w": [C, width], "bias": [C]}}
"""
import dataclasses
import math
from typing import Any, Dict, Optional

import jax
import jax.numpy as jnp
import numpy as np

from inr_gan_jax.model import layers
from inr_gan_jax.model import complexity

KINDS = ("ffn", "siren")


@dataclasses.dataclass(frozen=True)
class MLPSpec:
  """Static description of a coordinate MLP.

  Attributes:
    kind: "ffn" (Fourier features + ReLU, Tancik et al. 2020) or "siren" (Sitzmann et al. 2020).
    width: hidden width.
    depth: number of hidden layers.
    num_fourier: ffn: frequencies n (features are 2n).
    fourier_scale: ffn: std of the Gaussian frequency matrix (times 2 pi).
    omega0: siren: frequency factor of every sine layer (paper: 30).
    code_dim: size of the per-image code appended to the coordinate input (0 = one image).
    code_fourier_scale: ffn: 0 appends the code to the Fourier features as is; > 0
      makes it extra input coordinates inside the Fourier features, with frequency
      std ``code_fourier_scale`` along them (the index then acts like a third axis,
      as time does for video; it needs about N/4 to tell N neighbouring images apart).
    out_channels: C.
  """
  kind: str = "ffn"
  width: int = 256
  depth: int = 4
  num_fourier: int = 256
  fourier_scale: float = 10.0
  omega0: float = 30.0
  code_dim: int = 0
  code_fourier_scale: float = 0.0
  out_channels: int = 3

  def __post_init__(self):
    if self.kind not in KINDS:
      raise ValueError(f"unknown MLP kind {self.kind!r}; choose one of {KINDS}")
    if self.width < 1 or self.depth < 1:
      raise ValueError(f"width and depth must be >= 1, got {self.width}, {self.depth}")
    if self.code_fourier_scale < 0 or (self.code_fourier_scale and self.kind != "ffn"):
      raise ValueError("code_fourier_scale must be >= 0 and needs kind='ffn', got "
                       f"{self.code_fourier_scale} with kind={self.kind!r}")

  @property
  def code_in_fourier(self) -> bool:
    return bool(self.code_dim and self.code_fourier_scale)

  @property
  def coord_dim(self) -> int:
    return 2 * self.num_fourier if self.kind == "ffn" else 2

  @property
  def in_dim(self) -> int:
    return self.coord_dim + (0 if self.code_in_fourier else self.code_dim)


def siren_bound(fan_in: int, omega0: float, first: bool) -> float:
  """SIREN's uniform init bound: ``1/fan_in`` (first layer), ``sqrt(6/fan_in)/omega0`` (others)."""
  return 1.0 / fan_in if first else math.sqrt(6.0 / fan_in) / omega0


def init(spec: MLPSpec, rng: jax.Array) -> Dict[str, Any]:
  """Fresh parameters for ``spec``."""
  keys = jax.random.split(rng, spec.depth + 2)
  params: Dict[str, Any] = {}
  if spec.kind == "ffn":
    w = 2 * np.pi * spec.fourier_scale * jax.random.normal(keys[-1], (spec.num_fourier, 2))
    if spec.code_in_fourier:  # frequency columns for the code axes, at their own scale
      w_code = jax.random.normal(jax.random.fold_in(keys[-1], 1),
                                 (spec.num_fourier, spec.code_dim))
      w = jnp.concatenate([w, 2 * np.pi * spec.code_fourier_scale * w_code], axis=1)
    params["fourier"] = {"w": w}  # [n, 2 (+ code_dim)]
  hidden, fan_in = [], spec.in_dim
  for i in range(spec.depth):
    kw, kb = jax.random.split(keys[i])
    if spec.kind == "siren":
      # Uniform bounds keep pre-activations ~U-shaped arcsine distributed through depth.
      bound = siren_bound(fan_in, spec.omega0, first=(i == 0))
      w = jax.random.uniform(kw, (spec.width, fan_in), minval=-bound, maxval=bound)
      b = jax.random.uniform(kb, (spec.width,), minval=-1 / math.sqrt(fan_in),
                             maxval=1 / math.sqrt(fan_in))
    else:  # He-normal for ReLU
      w = jax.random.normal(kw, (spec.width, fan_in)) * math.sqrt(2.0 / fan_in)
      b = jnp.zeros((spec.width,))
    hidden.append({"w": w, "bias": b})
    fan_in = spec.width
  bound = (siren_bound(fan_in, spec.omega0, first=False) if spec.kind == "siren"
           else math.sqrt(1.0 / fan_in))
  params["hidden"] = hidden
  params["to_rgb"] = {"w": jax.random.uniform(keys[spec.depth], (spec.out_channels, fan_in),
                                              minval=-bound, maxval=bound),
                      "bias": jnp.zeros((spec.out_channels,))}
  return params


def num_params(params) -> int:
  """Trainable scalars (the frozen Fourier matrix excluded)."""
  return complexity.tree_size({k: v for k, v in params.items() if k != "fourier"})


def apply(spec: MLPSpec, params: Dict[str, Any], points: jax.Array,
          code: Optional[jax.Array] = None, return_hidden: bool = False):
  """One image's network at ``points [N, 2]`` (unit square) -> ``[N, C]`` (unbounded).

  Args:
    code: ``[code_dim]`` per-image input, constant over pixels (memorizing network).
    return_hidden: also return the last hidden layer ``[N, width]`` (the embedding).
  """
  if spec.code_dim:
    if code is None or code.shape[-1] != spec.code_dim:
      raise ValueError(f"spec.code_dim={spec.code_dim} needs a code of that size, got "
                       f"{None if code is None else code.shape}")
    code = jnp.broadcast_to(code, (points.shape[0], spec.code_dim))  # [N, k]
  if spec.code_in_fourier:
    points = jnp.concatenate([points, code], axis=-1)  # [N, 2 + k]
  if spec.kind == "ffn":
    e = layers.fourier_features(points, jax.lax.stop_gradient(params["fourier"]["w"]))  # [N, 2n]
  else:
    e = 2.0 * points - 1.0  # [N, 2] in [-1, 1]^2 as in the SIREN paper
  if spec.code_dim and not spec.code_in_fourier:
    e = jnp.concatenate([e, code], axis=-1)  # [N, 2n + k]
  h = e
  for lyr in params["hidden"]:
    pre = layers.dense(h, lyr["w"], lyr["bias"])  # [N, width]
    h = jnp.sin(spec.omega0 * pre) if spec.kind == "siren" else jax.nn.relu(pre)
  out = layers.dense(h, params["to_rgb"]["w"], params["to_rgb"]["bias"])  # [N, C]
  return (out, h) if return_hidden else out


# ---- per-image codes for the memorizing network ----------------------------------

CODES = ("index", "binary")


def code_dim(kind: str, num_images: int) -> int:
  if kind == "index":
    return 1
  if kind == "binary":
    return max(1, int(math.ceil(math.log2(max(num_images, 2)))))
  raise ValueError(f"unknown code kind {kind!r}; choose one of {CODES}")


def image_codes(kind: str, num_images: int) -> np.ndarray:
  """``[N, code_dim]`` float32 inputs identifying each image.

  "index": the continuous coordinate ``2 i / (N - 1) - 1`` in ``[-1, 1]`` (0 for N = 1);
  "binary": the bits of ``i`` (least significant first) mapped to ``{-1, +1}``.
  """
  if num_images < 1:
    raise ValueError(f"num_images must be >= 1, got {num_images}")
  i = np.arange(num_images)
  if kind == "index":
    return (2.0 * i / max(num_images - 1, 1) - (1.0 if num_images > 1 else 0.0)
            )[:, None].astype(np.float32)
  bits = (i[:, None] >> np.arange(code_dim(kind, num_images))[None, :]) & 1  # [N, k]
  return (2.0 * bits - 1.0).astype(np.float32)
