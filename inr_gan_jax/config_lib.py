"""Config building blocks shared by the files in ``configs/``.

Model keys (``config.model``)::

  resolution          output side R at training time
  out_channels        3
  grey                the generator emits one value per point, repeated to out_channels
                      (greyscale data: every fake is exactly grey, as every real is, so D
                      cannot tell them apart by a colour cast); beyond the paper
  latent_dim          z size (512)
  hyper_width         hypernetwork width (1024)
  hyper_num_residual  residual layers after the first (2)
  hyper_mapping       "relu" (the paper's MLP) | "linear" (w = Dense(z)) | "tanh" (zero-mean w;
                      see hypernetwork.py)
  hyper_ref_norm      0 | N: w centred and scaled by its statistics over N fixed reference
                      latents (hypernetwork.py); beyond the paper
  hyper_bias_mult     forward multiplier of the connector bias (1.0; K multiplies its Adam step
                      by K: the common-mode speed under hyper_ref_norm)
  block_resolutions   tuple, one per INR block, increasing, last == resolution
  block_widths        tuple, hidden width per block
  block_depths        tuple, number of layers per block
  conditioning        "hypernetwork" (weights predicted) | "latent" (baseline 1)
  latent_cond_dim     size of the code fed to the latent-conditioned baseline
  coord_encoding      "fourier" | "raw"
  num_fourier         n: Fourier frequencies per block (features are 2n)
  fourier_scale       multiplies the predicted frequency matrix (paper: 10)
  fourier_block_scales  () or one scale per block, coarse to fine, in place of fourier_scale
  fmm_rank            r of A (out x r) @ B (r x in); 0 = predict full weights
  fmm_modulation      "sigmoid": W_s * 2 sigmoid(A B) (the paper) | "linear": W_s * (1 + A B)
                      (the authors' later code)
  fmm_demodulate      scale each modulated row of a hidden layer to He norm (StyleGAN2's
                      demodulation; the authors' later code), so no sample's activations drift
  fmm_logit_std       std of A B at initialisation (1.0)
  fmm_lr_mult         learning-rate multiplier of the connector's FMM-factor outputs (1.0;
                      equalized-lr style: same initial values, steps x mult)
  bias_lr_mult        the same for its hidden-bias outputs (1.0)
  fourier_lr_mult     the same for its predicted Fourier frequencies (1.0): the path that
                      carries most of the variation over z, where a small step re-draws the
                      whole basis (docs/recipe_study_mnist.md, round 4)
  latent_grid         side G of a per-sample predicted G x G grid of features, read by bilinear
                      interpolation at every point and concatenated to the first block's
                      coordinate features (0 = off, the paper's INR). Beyond the paper: a spatially
                      varying per-sample input, still a function of continuous (x, y)
  latent_grid_channels channels C of that grid (16)
  fourier_max_cycles  soft cap on every frequency row, in cycles per training image: a row w
                      is used as w * W tanh(|w| / W) / |w| with W = 2 pi * cap (0 = off). On
                      CelebA-HQ 64 single rows run away to 7-9 cycles and draw a lattice
                      (docs/analyses.md); beyond the paper
  bias_std            std of the predicted hidden biases at initialisation (0.2): the
                      additive, per-sample path from the latent into every layer
  lrelu_slope         INR activation: leaky ReLU slope
  output_activation   "tanh" (the paper) | "linear": the summed RGB as it is (StyleGAN2's
                      output; images are clipped to [-1, 1] only when quantised), so no pixel
                      saturates and loses its gradient; beyond the paper
  output_grad_floor   0.0 | f in (0, 1]: the tanh's derivative floored at f where the step leads
                      out of saturation (forward unchanged; layers.tanh_inward_floor)
  pixel_norm          every hidden INR activation vector rescaled to unit mean square at
                      each point (the conv baseline's pixel norm; a pointwise function, so
                      the image stays continuous); beyond the paper
  upsample            "nearest" (paper) | "bilinear" between blocks
  fourier_kind        "predicted" per sample (the paper) | "shared" (one learned frequency
                      matrix per block for all samples) | "offset" (shared matrix plus a
                      predicted per-sample offset of relative spread fourier_offset_std)
  fourier_offset_std  "offset" only: per-sample frequency spread / shared spread (0.1)
  to_rgb              every block's to-RGB layer: "predicted" whole per sample (the
                      default so far), "fmm" (shared W_s, per-sample modulation) or
                      "shared" (one colour projection for all samples); "fmm" falls
                      back to "predicted" when fmm_rank = 0 (the hidden layers' kind)
  generator           "inr" (INR-GAN) | "conv" (the DCGAN-style pixel baseline of
                      conv_generator.py: uses latent_dim, resolution, out_channels)
  conv_width          channels of the conv baseline at 4x4 (halved per upsampling)

Table 1 variants (:data:`VARIANTS`), applied to a dataset config with
:func:`apply_variant`:

1. ``latent_conditioned``: all INR weights shared, the hypernetwork's output
   (a ``latent_cond_dim`` code) concatenated to the raw coordinates;
2. ``hypernetwork``: every INR weight predicted whole (no factorization);
3. ``fourier``: 2 + Fourier coordinate embeddings;
4. ``fmm``: 3 + factorized multiplicative modulation;
5. ``inr_gan``: 4 + multi-scale INR (the full model).

Variants 1-4 are single-scale: one block at full resolution with the width and
depth of the dataset config's first block, so the ablation isolates each step.
"""
from typing import Optional

import ml_collections

VARIANTS = ("latent_conditioned", "hypernetwork", "fourier", "fmm", "inr_gan")


def model_config(**overrides) -> ml_collections.ConfigDict:
  """The full INR-GAN model section with defaults; ``overrides`` replace keys."""
  m = ml_collections.ConfigDict()
  m.resolution = 256
  m.out_channels = 3
  m.grey = False
  m.latent_dim = 512
  m.latent_categories = 0   # > 0: z's first K entries are a one-hot code (model/latents.py)
  m.hyper_width = 1024
  m.hyper_num_residual = 2
  m.hyper_mapping = "relu"
  m.hyper_ref_norm = 0
  m.hyper_bias_mult = 1.0
  m.block_resolutions = (128, 256)
  m.block_widths = (512, 64)
  m.block_depths = (8, 4)
  m.conditioning = "hypernetwork"
  m.latent_cond_dim = 512
  m.coord_encoding = "fourier"
  m.num_fourier = 32
  m.fourier_scale = 10.0
  m.fourier_block_scales = ()
  m.fmm_rank = 10
  m.fmm_modulation = "sigmoid"
  m.fmm_demodulate = False
  m.fmm_logit_std = 1.0
  m.bias_std = 0.2
  m.fmm_lr_mult = 1.0
  m.bias_lr_mult = 1.0
  m.fourier_lr_mult = 1.0
  m.lrelu_slope = 0.2
  m.pixel_norm = False
  m.output_activation = "tanh"
  m.output_grad_floor = 0.0
  m.upsample = "nearest"
  m.fourier_kind = "predicted"
  m.fourier_offset_std = 0.1
  m.to_rgb = "predicted"
  m.latent_grid = 0
  m.fourier_max_cycles = 0.0
  m.latent_grid_channels = 16
  m.generator = "inr"
  m.conv_width = 256
  for key, value in overrides.items():
    if key not in m:
      raise KeyError(f"unknown model key {key!r}; known keys: {sorted(m.keys())}")
    m[key] = value
  return m


def apply_variant(model: ml_collections.ConfigDict, variant: Optional[str]) -> ml_collections.ConfigDict:
  """Returns a copy of ``model`` turned into one of the Table 1 variants."""
  if variant in (None, "", "inr_gan"):
    return model.copy_and_resolve_references()
  if variant not in VARIANTS:
    raise ValueError(f"unknown variant {variant!r}; choose one of {VARIANTS}")
  m = model.copy_and_resolve_references()
  m.block_resolutions = (m.resolution,)
  m.block_widths = (m.block_widths[0],)
  m.block_depths = (m.block_depths[0],)
  if variant == "latent_conditioned":
    m.conditioning, m.coord_encoding, m.fmm_rank = "latent", "raw", 0
  elif variant == "hypernetwork":
    m.coord_encoding, m.fmm_rank = "raw", 0
  elif variant == "fourier":
    m.fmm_rank = 0
  return m


def parse_arg(arg: Optional[str]) -> dict:
  """Parses a config argument ``"key=value,key2=value2"`` or a bare variant name."""
  out = {}
  if not arg:
    return out
  for item in arg.split(","):
    if "=" in item:
      key, value = item.split("=", 1)
      out[key.strip()] = value.strip()
    else:
      out["variant"] = item.strip()
  return out


# The values that define a run: every config file states them (there is no library default),
# so a config shows its own recipe; validate() names any that is missing.
RUN_KEYS = ("num_steps", "batch_size", "lr_hyper", "lr_inr", "lr_disc", "r1_gamma",
            "r1_interval", "ema_kimg")
_RUN_KEY_TYPES = {"num_steps": int, "batch_size": int, "r1_interval": int}


# Where the truncation centre comes from (restore.truncation_center); the first is the default
# of every command that truncates.
TRUNCATION_CENTERS = ("estimate", "state")

# Evaluation settings, written once: config.eval (periodic metrics during training) and the
# evaluate command's flags share them.
EVAL_DEFAULTS = {
    "every_steps": 0,            # 0 = never
    "metrics": "fid5k",          # comma-separated metric names (metrics/evaluator.parse_metrics)
    "num_samples": 0,            # 0 = the count in the metric name
    "inception_weights": "",     # pytorch-fid's pt_inception-2015-12-05-6726825d.pth
    "feature_net": "",           # or experiments/train_feature_net.py output
    "batch_size": 64,            # images per generation / feature batch
    "truncation_psi": 1.0,
    "cache_dir": "",             # real statistics cache ("" = <workdir>/metrics_cache)
}


def dataset_config(*, data_source: str, data_name: str,
                   model: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A complete experiment config except the run's own values (:data:`RUN_KEYS`).

  The caller (a file in ``configs/``) sets ``config.train.<key>`` for every
  key of :data:`RUN_KEYS` and ends with :func:`finalize` (the Table 1 variant).
  """
  from inr_gan_jax import data as data_lib  # local: keeps config files cheap to import
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.variant = "inr_gan"
  c.model = model

  c.data = data_lib.default_data_config()
  c.data.source = data_source
  c.data.name = data_name

  c.discriminator = ml_collections.ConfigDict()
  c.discriminator.channel_preset = "small"   # the paper's config-e: half of config-f
  c.discriminator.channel_base = 0           # 0 = from the preset
  c.discriminator.channel_max = 0
  c.discriminator.mbstd_group = 4
  c.discriminator.pack = 1                   # PacGAN: images per D input (1: off)

  t = c.train = ml_collections.ConfigDict()
  for key in RUN_KEYS:  # batch_size: global, over all devices and hosts; r1_interval > 1: lazy
    t[key] = ml_collections.config_dict.placeholder(_RUN_KEY_TYPES.get(key, float))
  # "bfloat16": the INR's hidden layers and D compute in bf16 (TPU matrix units, GPU tensor
  # cores); parameters, optimiser state, EMA, losses and R1 stay float32.
  t.compute_dtype = "float32"
  t.adam_b1 = 0.0
  t.adam_b1_generator = -1.0                 # < 0: adam_b1; else G's own momentum (D keeps adam_b1)
  t.adam_b2 = 0.98
  t.adam_eps = 1e-8
  t.optimism = 0.0                           # > 0: optimistic Adam for G and D (train/optim.py)
  t.ema_rampup = 0.05                        # EMA half-life <= rampup * images seen (0 = off)
  t.random_flip = True
  t.lr_mapping_mult = 1.0                    # mapping layers train at lr_hyper * this (StyleGAN: 0.01)
  # Diversity-sensitive G loss (Yang et al. 2019, DSGAN; Mao et al. 2019, MSGAN): the G loss
  # subtracts weight * min(|G(z1) - G(z2)| / |z1 - z2|, tau), pairing the first half of
  # G's batch with the second half. 0 = off (the paper); tau = 0: no cap.
  t.diversity_weight = 0.0
  t.diversity_tau = 0.0
  t.diversity_fade_kimg = 0.0                # > 0: the weight falls linearly to 0 at this kimg
  t.feature_matching_weight = 0.0            # > 0: + weight * feature matching on D's last hidden
  # InfoGAN (Chen et al. 2016): a linear head Q on D's last hidden layer predicts the fakes'
  # categorical code (model.latent_categories); weight * its cross-entropy joins the D and
  # the G loss, so G is paid for K told-apart kinds of image. 0 = off.
  t.info_weight = 0.0
  # Differentiable augmentation of everything D sees (inr_gan_jax/train/augment.py): "" = off, or a
  # comma list of translation, color, cutout. Each op is applied per sample with probability
  # augment_p; ada_target > 0 makes the probability adaptive instead (ADA: start at 0, steer
  # E[sign(D(real))] to the target, moving at most 1 per ada_kimg thousand images).
  t.augment = ""
  t.augment_p = 1.0
  t.ada_target = 0.0
  t.ada_kimg = 100.0
  t.log_every = 100
  t.sample_every = 2_000
  t.num_sample_latents = 16

  c.checkpoint = ml_collections.ConfigDict()
  c.checkpoint.every_steps = 5_000
  c.checkpoint.keep = 3

  # Periodic metrics on the EMA generator (inr_gan_jax.metrics.periodic); off by default
  # because standard FID needs the user's Inception weights file.
  c.eval = ml_collections.ConfigDict(dict(EVAL_DEFAULTS))
  return c


def finalize(config: ml_collections.ConfigDict, arg: Optional[str]) -> ml_collections.ConfigDict:
  """Applies ``arg`` (the part after ``:`` in ``--config=configs/x.py:ARG``): a Table 1 variant.

  Every config file's ``get_config`` ends with this, after its own values.
  """
  args = parse_arg(arg)
  unknown = set(args) - {"variant"}
  if unknown:
    raise ValueError(f"unknown config argument(s) {sorted(unknown)}; only a variant name "
                     f"({', '.join(VARIANTS)}) is accepted")
  config.variant = args.get("variant", "inr_gan")
  config.model = apply_variant(config.model, config.variant)
  return config


def derive(config_file: str, base_name: str) -> ml_collections.ConfigDict:
  """The config of ``base_name`` (a file beside ``config_file``) to build a variant config on.

  ``configs/mnist.py`` calls ``derive(__file__, "quickstart.py")`` and changes
  only what differs, so each recipe value is written once.
  """
  import os
  return load_config_file(os.path.join(os.path.dirname(os.path.abspath(config_file)), base_name))


def load_config_file(path: str, arg: Optional[str] = None) -> ml_collections.ConfigDict:
  """Loads ``get_config(arg)`` from a config file path (as ``--config=path:arg`` would)."""
  import importlib.util
  import os
  if not os.path.isfile(path):
    raise FileNotFoundError(f"config file {path!r} does not exist")
  spec = importlib.util.spec_from_file_location("_inr_gan_config", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


def validate(config: ml_collections.ConfigDict, num_devices: int = 1) -> None:
  """Checks values before any work starts; raises ValueError naming the key."""
  from inr_gan_jax.model import layout as layout_lib  # local: config files import this module cheaply (no jax)
  for section in ("model", "data", "discriminator", "train", "checkpoint"):
    if section not in config:
      raise ValueError(f"config has no {section!r} section; start from config_lib.dataset_config")
  if config.get("variant", "inr_gan") not in VARIANTS:
    raise ValueError(f"config.variant={config.variant!r}; choose one of {VARIANTS}")
  layout_lib.layout_from_config(config.model)
  if config.model.get("generator", "inr") not in ("inr", "conv"):
    raise ValueError(f"config.model.generator={config.model.generator!r}; choose inr or conv")
  r = config.model.resolution
  if r < 16 or r > 1024 or r & (r - 1):
    raise ValueError(f"config.model.resolution={r}: the discriminator supports powers of two "
                     "from 16 to 1024")
  t = config.train

  def positive(name, value, allow_zero=False):
    if not (value > 0 or (allow_zero and value == 0)):
      raise ValueError(f"config.{name}={value!r} must be {'>= 0' if allow_zero else '> 0'}")

  unset = [k for k in RUN_KEYS if t.get(k) is None]
  if unset:
    raise ValueError(f"config.train.{unset[0]} is not set (unset: {', '.join(unset)}): a config "
                     "file states every value that defines its run (see configs/lsun256.py)")
  for name in ("num_steps", "batch_size", "lr_hyper", "lr_inr", "lr_disc", "log_every",
               "r1_interval", "num_sample_latents"):
    positive(f"train.{name}", t[name])
  for name in ("r1_gamma", "ema_kimg", "ema_rampup", "sample_every", "lr_mapping_mult",
               "ada_target", "diversity_weight", "diversity_tau", "diversity_fade_kimg",
               "feature_matching_weight", "optimism", "info_weight"):
    positive(f"train.{name}", t[name], allow_zero=True)
  categories = config.model.get("latent_categories", 0)
  if not (categories == 0 or 2 <= categories <= config.model.latent_dim):
    raise ValueError(f"config.model.latent_categories={categories!r} must be 0 (no code) or "
                     f"in [2, model.latent_dim={config.model.latent_dim}]")
  if t.info_weight and not categories:
    raise ValueError("config.train.info_weight > 0 needs a code to predict: set "
                     "config.model.latent_categories (e.g. 10)")
  if t.info_weight and config.discriminator.get("pack", 1) > 1:
    raise ValueError("config.train.info_weight > 0 needs one image per D input "
                     "(config.discriminator.pack=1): Q reads each fake's own features")
  positive("train.ada_kimg", t.ada_kimg)
  if t.get("compute_dtype", "float32") not in ("float32", "bfloat16"):
    raise ValueError(f"config.train.compute_dtype={t.compute_dtype!r}; choose float32 or bfloat16")
  from inr_gan_jax.train import augment as augment_lib  # local: keep config loading light
  try:
    augment_lib.parse_ops(t.augment)
  except ValueError as e:
    raise ValueError(f"config.train.augment={t.augment!r}: {e}") from None
  if not 0 <= t.augment_p <= 1:
    raise ValueError(f"config.train.augment_p={t.augment_p!r} must be in [0, 1]")
  if not t.get("adam_b1_generator", -1.0) < 1:
    raise ValueError(f"config.train.adam_b1_generator must be < 1 (< 0: adam_b1), got "
                     f"{t.adam_b1_generator}")
  if not (0 <= t.adam_b1 < 1 and 0 <= t.adam_b2 < 1):
    raise ValueError(f"config.train.adam_b1/adam_b2 must be in [0, 1), got {t.adam_b1}, {t.adam_b2}")
  positive("checkpoint.every_steps", config.checkpoint.every_steps)
  if "eval" in config:
    positive("eval.every_steps", config.eval.every_steps, allow_zero=True)
    if config.eval.every_steps and not (config.eval.inception_weights or config.eval.feature_net):
      raise ValueError("config.eval.every_steps > 0 needs config.eval.inception_weights (FID) or "
                       "config.eval.feature_net (offline feature network)")
  positive("checkpoint.keep", config.checkpoint.keep)
  if t.batch_size % num_devices:
    raise ValueError(f"config.train.batch_size={t.batch_size} must be divisible by the number "
                     f"of devices ({num_devices}): the global batch is split evenly")
  pack = config.discriminator.get("pack", 1)
  per_device = t.batch_size // num_devices
  if pack < 1 or per_device % pack:
    raise ValueError(f"config.discriminator.pack={pack}: the per-device batch {per_device} "
                     "must be a multiple of it (D judges packs of that many images)")
  group = min(config.discriminator.mbstd_group, per_device // pack)
  if group < 1 or (per_device // pack) % group:
    raise ValueError(f"per-device batch {per_device} (in packs of {pack}) must be a multiple "
                     f"of the minibatch-stddev group ({config.discriminator.mbstd_group})")
  from inr_gan_jax.data import config as data_config  # local: keep config loading light
  if config.data.source not in data_config.SOURCES:
    raise ValueError(f"config.data.source={config.data.source!r}; choose one of "
                     f"{', '.join(data_config.SOURCES)}")
