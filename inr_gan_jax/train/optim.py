"""Optimizers and the generator EMA.

The generator has two parameter groups with the paper's learning rates: the
hypernetwork (mapping network + connector; 1e-5 in the appendix, 5e-5 in the
authors' code) and the shared INR weights (5e-4). Both use Adam with
``b1 = 0, b2 = 0.98`` (StyleGAN2's setting), as does the discriminator (3e-3).
"""
import jax
import jax.numpy as jnp
import optax


def _adam(lr: float, train_cfg, generator: bool = False) -> optax.GradientTransformation:
  """Adam; with ``train.optimism = o > 0`` its optimistic form for both players.

  Optimistic Adam (Daskalakis et al. 2018) steps along ``(1 + o) r_t - o r_{t-1}``,
  ``r`` being Adam's normalised direction: the extrapolation that damps the limit
  cycles of a min-max game, where plain gradient steps orbit (o = 1 in the paper).
  """
  b1 = float(train_cfg.adam_b1)
  if generator and float(train_cfg.get("adam_b1_generator", -1.0)) >= 0:
    b1 = float(train_cfg.adam_b1_generator)  # G's own momentum; D keeps adam_b1
  optimism = float(train_cfg.get("optimism", 0.0))
  if optimism == 0.0:  # plain Adam keeps its optimiser-state structure (old checkpoints restore)
    return optax.adam(lr, b1=b1, b2=train_cfg.adam_b2, eps=train_cfg.adam_eps)
  return optax.chain(optax.scale_by_adam(b1=b1, b2=train_cfg.adam_b2, eps=train_cfg.adam_eps),
                     optax.scale_by_optimistic_gradient(alpha=1.0, beta=optimism),
                     optax.scale(-lr))


def generator_labels(params, split_mapping: bool = False):
  """The optimiser group of every generator leaf: its top-level key (``hyper`` / ``inr``).

  With ``split_mapping`` the hypernetwork's mapping layers (everything but the
  connector) form a group ``mapping`` of their own.
  """
  def group_of(top, path):
    if split_mapping and top == "hyper" and getattr(path[0], "key", None) != "connector":
      return "mapping"
    return top
  return {top: jax.tree_util.tree_map_with_path(lambda path, _, top=top: group_of(top, path), sub)
          for top, sub in params.items()}


def generator_optimizer(train_cfg, conv: bool = False) -> optax.GradientTransformation:
  """Adam with one learning rate for ``params["hyper"]`` and one for ``params["inr"]``.

  ``train_cfg.lr_mapping_mult != 1`` gives the mapping layers of the hypernetwork
  ``lr_hyper * lr_mapping_mult`` (StyleGAN's mapping-network multiplier, 0.01 there);
  the connector keeps ``lr_hyper``. The group exists only then, so optimiser states of
  runs without it keep their structure. ``conv``: the one group ``conv`` of the
  pixel baseline (``lr_inr``).
  """
  if conv:  # the conv baseline's synthesis weights (conv_generator.py)
    return optax.multi_transform({"conv": _adam(train_cfg.lr_inr, train_cfg, True)},
                                 generator_labels)
  mult = float(train_cfg.get("lr_mapping_mult", 1.0))
  groups = {"hyper": _adam(train_cfg.lr_hyper, train_cfg, True),
            "inr": _adam(train_cfg.lr_inr, train_cfg, True)}
  if mult != 1.0:
    groups["mapping"] = _adam(train_cfg.lr_hyper * mult, train_cfg, True)
  return optax.multi_transform(groups, lambda p: generator_labels(p, mult != 1.0))


def discriminator_optimizer(train_cfg) -> optax.GradientTransformation:
  return _adam(train_cfg.lr_disc, train_cfg)


def ema_beta(step: jax.Array, batch_size: int, ema_kimg: float, ema_rampup: float) -> jax.Array:
  """Per-step EMA decay for a half-life of ``ema_kimg`` thousand images.

  With ramp-up (StyleGAN2-ADA), the half-life is capped at ``ema_rampup``
  times the images seen so far, so early samples are not dominated by the
  random initialisation.
  """
  half_life = jnp.asarray(ema_kimg * 1000.0, jnp.float32)
  if ema_rampup > 0:
    seen = (step.astype(jnp.float32) + 1.0) * batch_size
    half_life = jnp.minimum(half_life, seen * ema_rampup)
  return 0.5 ** (batch_size / jnp.maximum(half_life, 1e-8))


def ema_update(ema, params, beta: jax.Array):
  """``ema <- beta * ema + (1 - beta) * params`` leaf-wise."""
  return jax.tree.map(lambda e, p: p + beta * (e - p), ema, params)
