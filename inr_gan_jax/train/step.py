"""The GAN train state and one jitted training step (D step, G step, EMA).

State (a plain dict pytree, replicated over the mesh)::

  step    int32 []            optimizer steps taken; also the data position
  rng     uint32 [2]          base key; step randomness is fold_in(rng, step)
  g       generator params    {"hyper": ..., "inr": ...}
  g_ema   generator params    EMA of g: used for every sample, metric and export
  d       discriminator params
  opt_g   optax state (two Adam groups)
  opt_d   optax state
  w_avg   float32 [width]     running mean of the hypernetwork's hidden w
                              (the truncation centre; StyleGAN-style tracking)
  aug_p   float32 []          only with adaptive augmentation (train.ada_target > 0):
                              the current probability of each D-input augmentation
  q       InfoGAN's Q head    only with train.info_weight > 0 (losses.q_head_init), and
  opt_q   optax state         its Adam state (D's optimiser)
"""
import functools
from typing import Any, Dict, Tuple

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from inr_gan_jax.train import augment as augment_lib
from inr_gan_jax.train import discriminator as disc_lib
from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax.model import latents
from inr_gan_jax.utils import image_utils
from inr_gan_jax.train import losses
from inr_gan_jax.train import optim

State = Dict[str, Any]
W_AVG_BETA = 0.995  # StyleGAN's tracking rate for the mean latent
COMPUTE_DTYPES = {"float32": None, "bfloat16": jnp.bfloat16}  # config.train.compute_dtype


def build_discriminator(config) -> disc_lib.Discriminator:
  d = config.discriminator
  return disc_lib.Discriminator(
      resolution=config.model.resolution, in_channels=config.model.out_channels,
      channel_preset=d.channel_preset, channel_base=d.channel_base or None,
      channel_max=d.channel_max or None, mbstd_group_size=d.mbstd_group,
      pack=d.get("pack", 1))


class Trainer:
  """Pure init/step functions for one config; jit them with :meth:`jit_step`."""

  def __init__(self, config, mesh: Mesh):
    self.config = config
    self.mesh = mesh
    self.generator = generator_lib.build(config.model)
    self.discriminator = build_discriminator(config)
    self.opt_g = optim.generator_optimizer(config.train,
                                           conv=config.model.get("generator", "inr") == "conv")
    self.opt_d = optim.discriminator_optimizer(config.train)
    self.replicated = NamedSharding(mesh, P())
    self.batch_sharding = NamedSharding(mesh, P("data"))
    t = config.train
    self.augment_ops = augment_lib.parse_ops(t.get("augment", ""))
    # Mixed precision: INR and D compute in bf16; parameters, optimiser state, EMA, losses
    # and R1 stay float32 (the casts' transposes give float32 gradients).
    self.compute_dtype = COMPUTE_DTYPES[t.get("compute_dtype", "float32")]
    self.adaptive_augment = bool(self.augment_ops) and t.get("ada_target", 0.0) > 0
    self.info_weight = float(t.get("info_weight", 0.0))
    self.categories = int(config.model.get("latent_categories", 0))

  # ---- state -------------------------------------------------------------------
  def init_state(self, seed: jax.Array) -> State:
    """Fresh state from an integer seed (jit this with ``out_shardings``)."""
    key = jax.random.key(seed)
    k_g, k_d, k_run = jax.random.split(key, 3)
    g = self.generator.init(k_g)
    r = self.config.model.resolution
    # One D input: a pack of images when D packs them (PacGAN).
    dummy = jnp.zeros((self.discriminator.pack, r, r, self.config.model.out_channels), jnp.float32)
    d = self.discriminator.init(k_d, dummy)["params"]
    state = {
        "step": jnp.zeros((), jnp.int32),
        "rng": jax.random.key_data(k_run),
        "g": g,
        "g_ema": jax.tree.map(jnp.copy, g),
        "d": d,
        "opt_g": self.opt_g.init(g),
        "opt_d": self.opt_d.init(d),
        "w_avg": jnp.zeros((self.generator.hidden_dim,), jnp.float32),
    }
    if self.adaptive_augment:
      state["aug_p"] = jnp.zeros((), jnp.float32)  # ADA starts unaugmented
    if self.info_weight:  # its own key, so runs without Q draw what they drew before
      q = losses.q_head_init(jax.random.fold_in(key, 11), d["b4_fc"]["bias"].shape[0],
                             self.categories)
      state["q"], state["opt_q"] = q, self.opt_d.init(q)
    return state

  def abstract_state(self, seed: int = 0) -> State:
    """Shapes, dtypes and (replicated) shardings of the state, without allocating it."""
    shapes = jax.eval_shape(self.init_state, seed)
    return jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=self.replicated),
                        shapes)

  def create_state(self, seed: int) -> State:
    """The state born replicated on the mesh (no host copy of the full state)."""
    return jax.jit(self.init_state, out_shardings=self.replicated)(seed)

  # ---- step --------------------------------------------------------------------
  def _fakes(self, g_params, z):
    w = self.generator.hidden(g_params, z)  # [B, width]
    theta = self.generator.theta_from_hidden(g_params, w)
    images = self.generator.render(g_params, theta, compute_dtype=self.compute_dtype)
    return images, w  # [B, R, R, C] float32

  def _d_apply(self, d_params):
    # D's layers cast their float32 weights to the input's dtype (discriminator.py), so a
    # bf16 input runs D in bf16; the logits come back as float32 for the losses and R1.
    if self.compute_dtype is None:
      return lambda x: self.discriminator.apply({"params": d_params}, x)
    return lambda x: self.discriminator.apply(
        {"params": d_params}, x.astype(self.compute_dtype)).astype(jnp.float32)

  def _d_features(self, d_params, x):
    """``x [B, R, R, C] -> (logits [B], features [B, K])``, K: D's last hidden layer."""
    x_in = x if self.compute_dtype is None else x.astype(self.compute_dtype)
    logits, state = self.discriminator.apply(
        {"params": d_params}, x_in, mutable=["intermediates"],
        capture_intermediates=lambda mdl, method: mdl.name == "b4_fc")
    (features,) = state["intermediates"]["b4_fc"]["__call__"]
    return logits.astype(jnp.float32), features.astype(jnp.float32)

  def train_step(self, state: State, reals: jax.Array, apply_r1: bool = True
                 ) -> Tuple[State, Dict[str, jax.Array]]:
    """One D update, one G update, EMA. ``reals``: uint8 ``[B, R, R, C]`` (global batch)."""
    t = self.config.train
    batch = reals.shape[0]
    step = state["step"]
    key = jax.random.fold_in(jax.random.wrap_key_data(state["rng"]), step)
    k_zd, k_zg, k_flip = jax.random.split(key, 3)
    # A stream of its own, so runs without augmentation draw exactly what they did before.
    k_aug_real, k_aug_fake, k_aug_g = jax.random.split(jax.random.fold_in(key, 7), 3)
    shard = lambda x: jax.lax.with_sharding_constraint(x, self.batch_sharding)  # noqa: E731

    x = image_utils.to_float_jnp(reals)  # [B, R, R, C] in [-1, 1]
    if t.random_flip:
      flip = jax.random.bernoulli(k_flip, 0.5, (batch,))
      x = jnp.where(flip[:, None, None, None], x[:, :, ::-1, :], x)
    x = shard(x)
    z_d = shard(self.generator.sample_z(k_zd, batch))
    z_g = shard(self.generator.sample_z(k_zg, batch))

    # Everything D sees goes through one augmentation pipeline (identity when off); R1 is
    # taken on the augmented reals, as ADA does.
    aug_p = state["aug_p"] if self.adaptive_augment else t.get("augment_p", 1.0)
    aug = lambda images, k: augment_lib.augment(images, k, self.augment_ops, aug_p)  # noqa: E731

    # Discriminator: logistic loss on fakes of the current G + R1 on reals.
    fakes, _ = self._fakes(state["g"], z_d)
    fakes = aug(jax.lax.stop_gradient(fakes), k_aug_fake)
    x = aug(x, k_aug_real)

    info_w = self.info_weight
    if info_w:  # the code each fake was drawn with, Q's target in both steps
      code_d, code_g = (latents.code(z, self.categories) for z in (z_d, z_g))  # [B] each

    def d_loss_fn(d_params, q_params):
      loss, aux = losses.d_loss_with_r1(self._d_apply(d_params), x, fakes, t.r1_gamma,
                                        t.r1_interval, apply_r1)
      if not info_w:
        return loss, aux
      # Q shares D's body, as in InfoGAN: one more D pass, on the same (augmented) fakes.
      ce = losses.info_loss(losses.q_head_apply(q_params, self._d_features(d_params, fakes)[1]),
                            code_d)
      return loss + info_w * ce, {**aux, "d_info": ce}

    if info_w:
      (d_loss, d_aux), (d_grads, q_grads) = jax.value_and_grad(
          d_loss_fn, argnums=(0, 1), has_aux=True)(state["d"], state["q"])
      q_updates, opt_q = self.opt_d.update(q_grads, state["opt_q"], state["q"])
      q_params = optax.apply_updates(state["q"], q_updates)
    else:
      (d_loss, d_aux), d_grads = jax.value_and_grad(d_loss_fn, has_aux=True)(state["d"], None)
    d_updates, opt_d = self.opt_d.update(d_grads, state["opt_d"], state["d"])
    d_params = optax.apply_updates(state["d"], d_updates)

    # Generator: non-saturating loss against the updated D.
    fm_weight = t.get("feature_matching_weight", 0.0)
    if fm_weight:  # the reals' features under the updated D: constants for G
      real_features = jax.lax.stop_gradient(self._d_features(d_params, x)[1])  # [B, K]

    def g_loss_fn(g_params):
      images, w = self._fakes(g_params, z_g)
      fm = jnp.zeros((), jnp.float32)
      if fm_weight or info_w:
        logits, fake_features = self._d_features(d_params, aug(images, k_aug_g))
        adv = losses.g_nonsaturating_loss(logits)
        if fm_weight:
          fm = losses.feature_matching(real_features, fake_features)
          adv = adv + fm_weight * fm
        if info_w:  # against the Q of this step's D update
          adv = adv + info_w * losses.info_loss(losses.q_head_apply(q_params, fake_features),
                                                code_g)
      else:
        adv = losses.g_nonsaturating_loss(self._d_apply(d_params)(aug(images, k_aug_g)))
      weight = t.get("diversity_weight", 0.0)
      if not weight:
        return adv, (w, jnp.zeros((), jnp.float32), fm)
      diversity = losses.diversity_ratio(images, z_g, t.get("diversity_tau", 0.0))
      weight = losses.diversity_weight_at(weight, t.get("diversity_fade_kimg", 0.0), step * batch)
      return adv - weight * diversity, (w, diversity, fm)

    (g_loss, (w, diversity, fm)), g_grads = jax.value_and_grad(g_loss_fn, has_aux=True)(
        state["g"])
    g_updates, opt_g = self.opt_g.update(g_grads, state["opt_g"], state["g"])
    g_params = optax.apply_updates(state["g"], g_updates)

    beta = optim.ema_beta(step, batch, t.ema_kimg, t.ema_rampup)
    new_state = {
        "step": step + 1,
        "rng": state["rng"],
        "g": g_params,
        "g_ema": optim.ema_update(state["g_ema"], g_params, beta),
        "d": d_params,
        "opt_g": opt_g,
        "opt_d": opt_d,
        "w_avg": jnp.mean(w, axis=0) + W_AVG_BETA * (state["w_avg"] - jnp.mean(w, axis=0)),
    }
    if self.adaptive_augment:
      new_state["aug_p"] = augment_lib.adapt_p(state["aug_p"], d_aux["d_real_sign"],
                                               t.ada_target, batch, t.ada_kimg)
    if info_w:
      new_state["q"], new_state["opt_q"] = q_params, opt_q
    metrics = {"d_loss": d_loss, "g_loss": g_loss, **d_aux,
               "grad_norm_d": optax.tree.norm(d_grads),
               "grad_norm_g": optax.tree.norm(g_grads), "ema_beta": beta,
               "aug_p": jnp.asarray(aug_p if self.augment_ops else 0.0, jnp.float32),
               "g_diversity": diversity, "g_feature_matching": fm,
               "d_info": d_aux.get("d_info", jnp.zeros((), jnp.float32))}
    metrics["finite"] = jnp.all(jnp.isfinite(jnp.stack(
        [d_loss, g_loss, metrics["grad_norm_d"], metrics["grad_norm_g"]])))
    return new_state, metrics

  @functools.cached_property
  def jit_step(self):
    """``train_step`` jitted (call ``jit_step(state, batch, apply_r1)``, positionally).

    State replicated and donated, batch sharded over ``data``; ``apply_r1`` is static.
    """
    return jax.jit(self.train_step, static_argnums=(2,), donate_argnums=(0,),
                   in_shardings=(self.replicated, self.batch_sharding),
                   out_shardings=(self.replicated, self.replicated))
