"""Static INR layout: every tensor of the INR, its shape, and who owns it.

An INR-GAN image is an MLP whose parameters come from two places:

* **predicted** tensors, one copy per sample, emitted by the hypernetwork's
  connector (FMM factors ``A``/``B``, biases, Fourier frequencies, to-RGB);
* **shared** tensors, one copy for all samples, trained directly (the full-rank
  FMM base weight ``W_s``; everything in the latent-conditioned baseline).

:class:`INRLayout` is derived from the model config and is the single source
of truth for both pytrees, the flat connector size, the per-tensor output
scales and the analytic MAC count. Nothing here touches Flax.

Tensor names (``theta`` = predicted, per sample; ``shared`` = shared)::

  block{k}/fourier/w        [n, 2]           Fourier frequencies (rows = frequencies)
  block{k}/layer{l}/w       [out, fan_in]    full weight (shared kind, predicted kind,
                                             or the FMM base W_s, always shared)
  block{k}/layer{l}/a       [out, r]         FMM left factor   (predicted)
  block{k}/layer{l}/b       [r, fan_in]      FMM right factor  (predicted)
  block{k}/layer{l}/bias    [out]
  block{k}/layer0/w_cond    [out, d]         latent-conditioned baseline only (shared)
  block{k}/to_rgb/w, bias   [C, width], [C]
  block0/grid/v             [G, G, c]        latent grid (predicted; model.latent_grid only)
  cond                      [d]              latent-conditioned baseline only (predicted)

``fan_in = in_dim + coord_dim``: every layer sees the previous activations
concatenated with its block's coordinate features (coordinate skip connections).
"""
import dataclasses
import math
from typing import Any, Dict, Iterator, Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from inr_gan_jax.model import coords

FMM = "fmm"            # W = W_s * 2 sigmoid(A @ B); W_s shared, A, B, bias predicted
PREDICTED = "predicted"  # W and bias predicted whole
SHARED = "shared"      # W and bias shared by all samples
OFFSET = "offset"      # Fourier frequencies only: shared matrix + small predicted offset

# The connector's raw outputs are ~unit variance at initialisation (see
# hypernetwork.py); these constants turn them into INR parameters with sane
# statistics, in the spirit of StyleGAN's equalized learning rate.
RGB_STD = 0.5          # target std of the summed pre-tanh RGB (tanh stays unsaturated)
FMM_MODULATIONS = ("sigmoid", "linear")


def modulation_second_moment(kind: str, logit_std: float) -> float:
  """``E[m(x)^2]`` for ``x ~ N(0, logit_std^2)``: ``m = 2 sigmoid`` or ``1 + x``.

  ``W_s`` is scaled down by its square root so that the modulated weight keeps
  He variance at initialisation (1.1726 for the paper's sigmoid at std 1).
  """
  if kind == "linear":
    return 1.0 + logit_std ** 2
  if logit_std == 1.0:
    # The paper's default. The quadrature gives 1.17352; 1.1726 is the value every run
    # before these options used, kept so that those runs reproduce bit for bit.
    return 1.1726
  nodes, weights = np.polynomial.hermite_e.hermegauss(64)  # probabilists' Hermite: N(0, 1)
  mod = 2.0 / (1.0 + np.exp(-logit_std * nodes))
  return float(np.sum(weights * mod ** 2) / np.sum(weights))


@dataclasses.dataclass(frozen=True)
class LayerSpec:
  """One dense layer ``x -> act(W [x, e] + bias)``.

  ``in_dim`` counts activations from the previous layer, ``coord_dim`` the
  coordinate features concatenated to them, ``cond_dim`` the latent code
  concatenated in the latent-conditioned baseline (first layer only).
  """
  name: str
  in_dim: int
  coord_dim: int
  out_dim: int
  kind: str
  rank: int = 0
  cond_dim: int = 0
  activation: bool = True

  @property
  def fan_in(self) -> int:
    return self.in_dim + self.coord_dim


@dataclasses.dataclass(frozen=True)
class BlockSpec:
  """A group of layers evaluated on one grid (one scale of the multi-scale INR)."""
  name: str
  resolution: int        # grid side when the generator outputs `INRLayout.resolution`
  coord_encoding: str    # "fourier" | "raw"
  num_fourier: int       # frequencies n; features are [sin(Wp), cos(Wp)] -> 2n
  fourier_kind: str      # PREDICTED | SHARED | OFFSET
  layers: Tuple[LayerSpec, ...]
  to_rgb: LayerSpec
  grid_size: int = 0      # side of the per-sample latent grid read at every point (0 = none)
  grid_channels: int = 0  # its channels, appended to the coordinate features
  fourier_max_cycles: float = 0.0  # soft cap on frequency rows, cycles per image (0 = none)
  # The block's frequency scale: model.fourier_scale, or its entry of fourier_block_scales.
  fourier_scale: float = 1.0

  @property
  def coord_dim(self) -> int:
    base = 2 * self.num_fourier if self.coord_encoding == "fourier" else 2
    return base + (self.grid_channels if self.grid_size else 0)

  @property
  def width(self) -> int:
    return self.layers[-1].out_dim


@dataclasses.dataclass(frozen=True)
class INRLayout:
  """Everything static about the INR; build with :func:`layout_from_config`."""
  resolution: int
  out_channels: int
  blocks: Tuple[BlockSpec, ...]
  lrelu_slope: float
  upsample: str          # "nearest" | "bilinear"
  cond_dim: int = 0      # latent-conditioned baseline: size of the predicted code
  fmm_modulation: str = "sigmoid"  # "sigmoid": W_s 2 sigmoid(AB) | "linear": W_s (1 + AB)
  fmm_demodulate: bool = False     # hidden FMM rows rescaled to the He norm per sample
  fmm_logit_std: float = 1.0       # std of A @ B at initialisation
  bias_std: float = 0.2            # per-sample bias spread, relative to unit pre-activations
  fourier_offset_std: float = 0.1  # fourier_kind "offset": per-sample spread / shared spread
  fmm_lr_mult: float = 1.0         # learning-rate multiplier of the connector's A, B outputs
  bias_lr_mult: float = 1.0        # ... and of its hidden-bias outputs
  fourier_lr_mult: float = 1.0     # ... and of its predicted Fourier frequencies
  grey: bool = False               # to-RGB layers emit 1 channel, repeated to out_channels
  pixel_norm: bool = False         # hidden activations rescaled to unit mean square per point
  output_activation: str = "tanh"  # "tanh" | "linear" on the summed RGB
  output_grad_floor: float = 0.0   # > 0: tanh's inward derivative floored (layers.py)

  @property
  def he_gain(self) -> float:
    """Leaky-ReLU gain: a weight row of this norm keeps unit second moment through a layer."""
    return math.sqrt(2.0 / (1.0 + self.lrelu_slope ** 2))

  # ---- pytree shapes -------------------------------------------------------
  def _tensors(self) -> Iterator[Tuple[Tuple[str, ...], Tuple[int, ...], str, float]]:
    """Yields ``(path, shape, owner, scale)`` for every INR tensor.

    ``scale`` multiplies a unit-variance value: the connector's raw output for
    predicted tensors, a standard normal draw for shared ones (0 = zero init).
    """
    he = self.he_gain
    mod_rms = math.sqrt(modulation_second_moment(self.fmm_modulation, self.fmm_logit_std))
    if self.cond_dim:
      yield ("cond",), (self.cond_dim,), PREDICTED, 1.0
    for blk in self.blocks:
      scale = blk.fourier_scale
      if blk.coord_encoding == "fourier" and blk.fourier_kind == OFFSET:
        # Shared frequencies plus a small per-sample offset (fourier_offset_std of them).
        yield (blk.name, "fourier", "w"), (blk.num_fourier, 2), SHARED, scale
        yield ((blk.name, "fourier", "dw"), (blk.num_fourier, 2), PREDICTED,
               scale * self.fourier_offset_std)
      elif blk.coord_encoding == "fourier":
        yield (blk.name, "fourier", "w"), (blk.num_fourier, 2), blk.fourier_kind, scale
      if blk.grid_size:  # unit-variance features, like the sines and cosines beside them
        yield (blk.name, "grid", "v"), (blk.grid_size, blk.grid_size, blk.grid_channels), PREDICTED, 1.0
      for lyr in blk.layers + (blk.to_rgb,):
        p = (blk.name, lyr.name)
        if lyr.activation:
          gain, bias_std = he, self.bias_std
        else:  # to-RGB: several blocks are summed before the tanh
          gain, bias_std = RGB_STD / math.sqrt(len(self.blocks)), 0.0
        w_std = gain / math.sqrt(lyr.fan_in + lyr.cond_dim)
        if lyr.kind == FMM:
          yield p + ("w",), (lyr.out_dim, lyr.fan_in), SHARED, w_std / mod_rms
          ab_std = (self.fmm_logit_std ** 2 / lyr.rank) ** 0.25  # std(A @ B) = fmm_logit_std
          yield p + ("a",), (lyr.out_dim, lyr.rank), PREDICTED, ab_std
          yield p + ("b",), (lyr.rank, lyr.fan_in), PREDICTED, ab_std
          yield p + ("bias",), (lyr.out_dim,), PREDICTED, bias_std
        else:
          yield p + ("w",), (lyr.out_dim, lyr.fan_in), lyr.kind, w_std
          # Shared biases start at zero; predicted ones vary around zero.
          yield p + ("bias",), (lyr.out_dim,), lyr.kind, bias_std if lyr.kind == PREDICTED else 0.0
        if lyr.cond_dim:
          yield p + ("w_cond",), (lyr.out_dim, lyr.cond_dim), SHARED, w_std

  def _tree(self, owner: str, leaf) -> Dict[str, Any]:
    """Nested dict of ``leaf(shape, scale, path)`` over the tensors that ``owner`` holds."""
    tree: Dict[str, Any] = {}
    for path, shape, own, scale in self._tensors():
      if own != owner:
        continue
      node = tree
      for key in path[:-1]:
        node = node.setdefault(key, {})
      node[path[-1]] = leaf(shape, scale, path)
    return tree

  def predicted_shapes(self) -> Dict[str, Any]:
    """Pytree of shapes of one sample's predicted tensors (``theta``)."""
    return self._tree(PREDICTED, lambda shape, *_: shape)

  def shared_shapes(self) -> Dict[str, Any]:
    """Pytree of shapes of the shared INR tensors."""
    return self._tree(SHARED, lambda shape, *_: shape)

  def predicted_scales(self) -> Dict[str, Any]:
    return self._tree(PREDICTED, lambda _, scale, __: scale)

  def connector_lr_mults(self) -> Optional[np.ndarray]:
    """Per-output learning-rate multipliers ``[P]`` of the connector, ``None`` if all are 1.

    Equalized-learning-rate style: the generator multiplies the connector's raw
    outputs by these and divides its initial kernel columns by them, so the
    initial distribution is unchanged while Adam's steps (fixed in raw units)
    move those INR tensors ``mult`` times faster.
    """
    if self.fmm_lr_mult == self.bias_lr_mult == self.fourier_lr_mult == 1.0:
      return None
    def mult(path: Tuple[str, ...]) -> float:
      if len(path) == 3 and path[1].startswith("layer"):
        return {"a": self.fmm_lr_mult, "b": self.fmm_lr_mult, "bias": self.bias_lr_mult}.get(
            path[2], 1.0)
      if len(path) == 3 and path[1] == "fourier" and path[2] == "w":
        return self.fourier_lr_mult
      return 1.0
    tree = self._tree(PREDICTED, lambda shape, _, path: np.full(math.prod(shape), mult(path),
                                                                np.float32))
    return np.concatenate(jax.tree.leaves(tree))  # the order unflatten cuts in

  @property
  def connector_size(self) -> int:
    """Length of the flat vector the connector emits per sample."""
    return sum(math.prod(s) for _, s, own, _ in self._tensors() if own == PREDICTED)

  @property
  def num_shared(self) -> int:
    return sum(math.prod(s) for _, s, own, _ in self._tensors() if own == SHARED)

  # ---- conversions -----------------------------------------------------------
  def unflatten(self, flat: jax.Array) -> Dict[str, Any]:
    """Connector output ``[..., P]`` -> ``theta`` pytree with leaves ``[..., *shape]``.

    Leaves are cut in ``jax.tree`` (sorted-key) order and multiplied by their
    static scale, so ``theta`` holds the actual INR parameters (what gets
    exported, interpolated or fitted).
    """
    if flat.shape[-1] != self.connector_size:
      raise ValueError(f"expected {self.connector_size} connector outputs, got {flat.shape[-1]}")
    shapes = self.predicted_shapes()
    leaves, treedef = jax.tree.flatten(shapes, is_leaf=lambda s: isinstance(s, tuple))
    scales = jax.tree.leaves(self.predicted_scales())
    out, start = [], 0
    batch = flat.shape[:-1]
    for shape, scale in zip(leaves, scales):
      size = math.prod(shape)
      out.append(flat[..., start:start + size].reshape(batch + shape) * scale)
      start += size
    return jax.tree.unflatten(treedef, out)

  def init_shared(self, rng: jax.Array) -> Dict[str, Any]:
    """Initial shared INR tensors: scaled normals (zeros for shared biases)."""
    paths = [(p, s, sc) for p, s, own, sc in self._tensors() if own == SHARED]
    keys = jax.random.split(rng, max(1, len(paths)))
    tree: Dict[str, Any] = {}
    for key, (path, shape, scale) in zip(keys, paths):
      node = tree
      for k in path[:-1]:
        node = node.setdefault(k, {})
      node[path[-1]] = scale * jax.random.normal(key, shape, jnp.float32)
    return tree

  # ---- cost --------------------------------------------------------------------
  def inr_macs(self, height: Optional[int] = None, width: Optional[int] = None) -> int:
    """Multiply-accumulates to evaluate one sample's INR on an ``H x W`` image.

    Counts matrix products only (the convention of the paper's GMACs): per
    pixel of each block ``fan_in * out`` for every layer and ``2n`` for the
    Fourier projection; per sample ``out * r * fan_in`` to form each FMM weight
    and ``out * cond_dim`` for the latent code. Element-wise work is not MACs.
    """
    height = self.resolution if height is None else height
    width = self.resolution if width is None else width
    total = 0
    for blk in self.blocks:
      pixels = (coords.scaled_size(height, blk.resolution, self.resolution)
                * coords.scaled_size(width, blk.resolution, self.resolution))
      if blk.coord_encoding == "fourier":
        total += pixels * blk.num_fourier * 2
      if blk.grid_size:  # 4 bilinear taps per channel
        total += pixels * 4 * blk.grid_channels
      for lyr in blk.layers + (blk.to_rgb,):
        total += pixels * lyr.fan_in * lyr.out_dim
        total += lyr.out_dim * lyr.cond_dim
        if lyr.kind == FMM:
          total += lyr.out_dim * lyr.rank * lyr.fan_in
    return total


def _layer_kind(conditioning: str, fmm_rank: int) -> str:
  if conditioning == "latent":
    return SHARED
  return FMM if fmm_rank > 0 else PREDICTED


def layout_from_config(model) -> INRLayout:
  """Builds the layout from a ``config.model`` ConfigDict (see config_lib)."""
  res = tuple(int(r) for r in model.block_resolutions)
  widths = tuple(int(w) for w in model.block_widths)
  depths = tuple(int(d) for d in model.block_depths)
  if not (len(res) == len(widths) == len(depths)) or not res:
    raise ValueError("model.block_resolutions, block_widths and block_depths must be "
                     f"non-empty and of equal length, got {res}, {widths}, {depths}")
  if list(res) != sorted(set(res)) or res[-1] != model.resolution:
    raise ValueError(f"model.block_resolutions {res} must increase strictly and end at "
                     f"model.resolution={model.resolution}")
  for key, (allowed, default) in _CHOICES.items():
    if model.get(key, default) not in allowed:
      raise ValueError(f"model.{key} must be one of {sorted(allowed)}, got {model.get(key)!r}")
  if not 0.0 <= float(model.get("output_grad_floor", 0.0)) <= 1.0:
    raise ValueError("model.output_grad_floor must be in [0, 1] (0: off), got "
                     f"{model.output_grad_floor!r}")
  if not all(float(model.get(k, 1.0)) > 0 for k in ("fmm_lr_mult", "bias_lr_mult",
                                                     "fourier_lr_mult")):
    raise ValueError("model.fmm_lr_mult, bias_lr_mult and fourier_lr_mult must be > 0")
  if not float(model.get("fmm_logit_std", 1.0)) > 0:
    raise ValueError(f"model.fmm_logit_std must be > 0, got {model.fmm_logit_std!r}")
  # One scale per block (coarse to fine), or () for model.fourier_scale everywhere.
  block_scales = tuple(float(x) for x in model.get("fourier_block_scales", ()))
  if block_scales and (len(block_scales) != len(res) or min(block_scales) <= 0):
    raise ValueError(f"model.fourier_block_scales {block_scales} must hold one positive scale "
                     f"per block ({len(res)}: block_resolutions {res}), or be empty")
  grid, grid_c = int(model.get("latent_grid", 0)), int(model.get("latent_grid_channels", 16))
  max_cycles = float(model.get("fourier_max_cycles", 0.0))
  if max_cycles < 0:
    raise ValueError(f"model.fourier_max_cycles must be >= 0 (0 = off), got {max_cycles}")
  if grid < 0 or (grid and grid_c < 1):
    raise ValueError(f"model.latent_grid must be >= 0 and latent_grid_channels >= 1, got "
                     f"{grid}, {grid_c}")
  if grid and model.conditioning == "latent":
    raise ValueError("model.latent_grid needs a hypernetwork: the latent-conditioned baseline "
                     "predicts no per-sample tensors")
  if min(widths) < 1 or min(depths) < 1 or model.fmm_rank < 0:
    raise ValueError("block widths/depths must be >= 1 and model.fmm_rank >= 0")
  latent = model.conditioning == "latent"
  kind = _layer_kind(model.conditioning, model.fmm_rank)
  cond_dim = int(model.latent_cond_dim) if latent else 0
  n = int(model.num_fourier) if model.coord_encoding == "fourier" else 0
  blocks = []
  prev = 0
  for k, (r, w, d) in enumerate(zip(res, widths, depths)):
    grid_k = grid if k == 0 else 0  # the coarsest block reads the grid; finer ones upsample it
    coord_dim = (2 * n if n else 2) + (grid_c if grid_k else 0)
    layers = []
    for l in range(d):
      in_dim = prev if l == 0 else w
      layers.append(LayerSpec(
          name=f"layer{l}", in_dim=in_dim, coord_dim=coord_dim, out_dim=w, kind=kind,
          rank=int(model.fmm_rank) if kind == FMM else 0,
          cond_dim=cond_dim if (k == 0 and l == 0) else 0))
    rgb_kind = SHARED if latent else _TO_RGB_KINDS[model.get("to_rgb", "predicted")]
    if rgb_kind == FMM and kind != FMM:  # "fmm" follows the hidden layers: whole when rank 0
      rgb_kind = PREDICTED
    rgb_dim = 1 if model.get("grey", False) else int(model.out_channels)
    to_rgb = LayerSpec(name="to_rgb", in_dim=w, coord_dim=0, out_dim=rgb_dim,
                       kind=rgb_kind, rank=int(model.fmm_rank) if rgb_kind == FMM else 0,
                       activation=False)
    blocks.append(BlockSpec(
        name=f"block{k}", resolution=r, coord_encoding=model.coord_encoding, num_fourier=n,
        fourier_kind=SHARED if latent else _FOURIER_KINDS[model.get("fourier_kind", "predicted")],
        layers=tuple(layers), to_rgb=to_rgb, grid_size=grid_k, grid_channels=grid_c if grid_k else 0,
        fourier_max_cycles=max_cycles,
        fourier_scale=block_scales[k] if block_scales else float(model.fourier_scale)))
    prev = w
  return INRLayout(resolution=int(model.resolution), out_channels=int(model.out_channels),
                   blocks=tuple(blocks),
                   lrelu_slope=float(model.lrelu_slope), upsample=model.upsample,
                   cond_dim=cond_dim, fmm_modulation=model.get("fmm_modulation", "sigmoid"),
                   fmm_demodulate=bool(model.get("fmm_demodulate", False)),
                   fmm_logit_std=float(model.get("fmm_logit_std", 1.0)),
                   bias_std=float(model.get("bias_std", 0.2)),
                   fourier_offset_std=float(model.get("fourier_offset_std", 0.1)),
                   fmm_lr_mult=float(model.get("fmm_lr_mult", 1.0)),
                   bias_lr_mult=float(model.get("bias_lr_mult", 1.0)),
                   fourier_lr_mult=float(model.get("fourier_lr_mult", 1.0)),
                   grey=bool(model.get("grey", False)),
                   pixel_norm=bool(model.get("pixel_norm", False)),
                   output_activation=model.get("output_activation", "tanh"),
                   output_grad_floor=float(model.get("output_grad_floor", 0.0)))


_FOURIER_KINDS = {"predicted": PREDICTED, "shared": SHARED, "offset": OFFSET}
# config.model.to_rgb -> the kind of every block's to-RGB layer (hypernetwork models).
_TO_RGB_KINDS = {"predicted": PREDICTED, "fmm": FMM, "shared": SHARED}
# The string-valued model keys: {key: (allowed values, default when the key is absent)}.
_CHOICES = {
    "conditioning": (("hypernetwork", "latent"), None),
    "coord_encoding": (("fourier", "raw"), None),
    "upsample": (("nearest", "bilinear"), None),
    "hyper_mapping": (("relu", "linear", "tanh"), "relu"),
    "fourier_kind": (tuple(_FOURIER_KINDS), "predicted"),
    "to_rgb": (tuple(_TO_RGB_KINDS), "predicted"),
    "output_activation": (("tanh", "linear"), "tanh"),
    "fmm_modulation": (FMM_MODULATIONS, "sigmoid"),
}

