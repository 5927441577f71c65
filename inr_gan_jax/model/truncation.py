"""psi-truncation toward the mean hidden representation (the paper's appendix B.3).

The arithmetic is :func:`inr_gan_jax.model.pipeline.truncate`, applied by every
``Generator.generate`` / ``predict`` call given ``w_mean`` and ``psi``; this module
says where ``w_mean`` comes from.

The hypernetwork maps ``z -> w`` (its hidden representation, ``[width]``) and a
*linear* connector maps ``w -> theta``. Truncation pulls ``w`` toward the mean
``w_bar = E_z[w]``::

    w' = w_bar + psi * (w - w_bar),   theta' = connector(w')

``psi = 1`` is the plain generator, ``psi = 0`` gives every latent the "mean
image" ``connector(w_bar)``. Because the connector is affine, this is the same
as ``theta' = theta_bar + psi * (theta - theta_bar)``: truncation interpolates
the INR parameters themselves.

Where the mean comes from
-------------------------
The train state carries ``w_avg``, an EMA (beta 0.995, about the last 200
minibatches) of minibatch means of ``w`` under the *training* generator ``g``.
Samples, however, come from the EMA generator ``g_ema``, whose hypernetwork is
a different function, and the running mean lags the weights it tracks. So the
truncation centre used by default is estimated directly: the mean of ``w``
under ``g_ema`` over ``num_latents`` (10k) latents drawn from a fixed seed. It
is computed once per checkpoint step and stored as a sidecar file next to the
step directories, ``<checkpoints>/truncation/step_<step>.npz`` (a folder name
without digits, so it can never be mistaken for a checkpoint step, and files
keyed by step, so a sidecar never describes another step's weights). The
state's ``w_avg`` stays available (``center="state"``) and the sidecar records
its distance to the estimate.
"""
import os
from typing import Optional, Tuple

from absl import logging
import jax
import numpy as np

from inr_gan_jax.checkpoints import checkpointing
from inr_gan_jax.model import generator as generator_lib

DEFAULT_NUM_LATENTS = 10_000
DEFAULT_SEED = 0x7A0C  # latents used for the estimate, distinct from sampling seeds
SIDECAR_DIR = "truncation"


def check_psi(psi: float) -> float:
  psi = float(psi)
  if not np.isfinite(psi):
    raise ValueError(f"truncation psi must be finite, got {psi}")
  return psi


def estimate_mean_hidden(generator: generator_lib.Generator, params, num_latents: int = DEFAULT_NUM_LATENTS,
                         seed: int = DEFAULT_SEED, batch_size: int = 1000) -> np.ndarray:
  """Mean of the hidden representation over ``num_latents`` latents: ``[width]`` float32.

  Latents are drawn in fixed-size chunks (one compilation) from
  ``fold_in(key(seed), chunk)``; sums are accumulated in float64.
  """
  if num_latents < 1:
    raise ValueError(f"num_latents must be >= 1, got {num_latents}")
  hidden = jax.jit(generator.hidden)
  key = jax.random.key(seed)
  total, count, chunk = None, 0, 0
  while count < num_latents:
    n = min(batch_size, num_latents - count)
    z = generator.sample_z(jax.random.fold_in(key, chunk), batch_size)[:n]  # [n, D]
    w = np.asarray(hidden(params, z), np.float64)  # [n, width]
    total = w.sum(0) if total is None else total + w.sum(0)
    count += n
    chunk += 1
  return (total / count).astype(np.float32)


def sidecar_path(checkpoint_path: str, step: Optional[int] = None) -> Tuple[str, int]:
  """``(<checkpoints>/truncation/step_<step>.npz, step)`` for a workdir/checkpoints/step path."""
  directory, step = checkpointing.resolve_checkpoint(checkpoint_path, step)
  return os.path.join(str(directory), SIDECAR_DIR, f"step_{step}.npz"), step


def load_or_estimate(checkpoint_path: str, generator: generator_lib.Generator, params,
                     step: Optional[int] = None, state_w_avg=None,
                     num_latents: int = DEFAULT_NUM_LATENTS, seed: int = DEFAULT_SEED) -> np.ndarray:
  """The sidecar mean for a checkpoint, computing and writing it on first use.

  A sidecar made with other ``num_latents``/``seed`` is recomputed. If the
  checkpoint directory is read-only the estimate is used without being stored.
  """
  path, step = sidecar_path(checkpoint_path, step)
  if os.path.exists(path):
    with np.load(path) as f:
      if int(f["num_latents"]) == num_latents and int(f["seed"]) == seed:
        return np.asarray(f["w_mean"], np.float32)
  w_mean = estimate_mean_hidden(generator, params, num_latents, seed)
  record = dict(w_mean=w_mean, num_latents=np.int64(num_latents), seed=np.int64(seed),
                step=np.int64(step))
  if state_w_avg is not None:
    state_w_avg = np.asarray(state_w_avg, np.float32)
    record["state_w_avg_distance"] = np.float32(np.linalg.norm(state_w_avg - w_mean))
  try:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp.npz"
    np.savez(tmp, **record)
    os.replace(tmp, path)
    logging.info("Stored the truncation centre (%d latents) in %s.", num_latents, path)
  except OSError as e:
    logging.warning("Could not store the truncation centre in %s (%s); using it unsaved.", path, e)
  return w_mean
