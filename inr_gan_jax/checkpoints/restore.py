"""Loading a trained generator (EMA weights) from a training checkpoint.

Checkpoints carry their config in the metadata, so a checkpoint path alone is
enough to rebuild the generator: sampling, evaluation, export and fitting all
start here.
"""
import dataclasses
from typing import Any, Optional

import jax
import ml_collections
import numpy as np
from jax.sharding import Mesh
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from inr_gan_jax import config_lib
from inr_gan_jax.checkpoints import checkpointing
from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax.model import truncation


@dataclasses.dataclass
class LoadedGenerator:
  generator: generator_lib.Generator
  params: Any               # the EMA generator's params
  w_avg: jax.Array          # [width] mean hidden representation (truncation centre)
  config: ml_collections.ConfigDict
  step: int


def config_from_meta(meta: dict) -> ml_collections.ConfigDict:
  if "config" not in meta:
    raise ValueError("checkpoint metadata has no config; it was not written by inr_gan_jax.train.loop")
  return ml_collections.ConfigDict(meta["config"])


def load_generator(path: str, step: Optional[int] = None) -> LoadedGenerator:
  """EMA generator from ``path``: a workdir, its ``checkpoints`` dir, or one step dir.

  Reads only ``g_ema`` and ``w_avg`` from the checkpoint and builds nothing of
  training (no discriminator, no optimisers): inference imports no training code.
  """
  meta, step = checkpointing.load_meta(path, step)
  config = config_from_meta(meta)
  generator = generator_lib.build(config.model)
  replicated = NamedSharding(Mesh(np.array(jax.local_devices()[:1]), ("data",)), P())
  shapes = jax.eval_shape(generator.init, jax.random.key(0))
  abstract = {
      "g_ema": jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=replicated),
                            shapes),
      "w_avg": jax.ShapeDtypeStruct((generator.hidden_dim,), np.float32, sharding=replicated),
  }
  subset, _, step = checkpointing.load_subset(path, abstract, step)
  return LoadedGenerator(generator=generator, params=subset["g_ema"], w_avg=subset["w_avg"],
                         config=config, step=step)


def truncation_center(loaded: LoadedGenerator, path: str, psi: float,
                      center: str = config_lib.TRUNCATION_CENTERS[0],
                      num_latents: int = truncation.DEFAULT_NUM_LATENTS) -> Optional[np.ndarray]:
  """The one place the truncation centre is resolved (sample, evaluate, fit): ``None`` at psi 1.

  Args:
    center: ``"estimate"``: the mean hidden code of the EMA generator over
      ``num_latents`` latents, cached next to the checkpoint; ``"state"``: the
      train state's running ``w_avg``.
  """
  if center not in config_lib.TRUNCATION_CENTERS:
    raise ValueError(f"truncation_center must be one of {config_lib.TRUNCATION_CENTERS}, "
                     f"got {center!r}")
  if truncation.check_psi(psi) == 1.0:
    return None
  if center == "state":
    w_avg = np.asarray(loaded.w_avg)
    if not np.any(w_avg):
      raise ValueError("the checkpoint's w_avg is all zeros; use truncation_center=estimate")
    return w_avg
  return truncation.load_or_estimate(path, loaded.generator, loaded.params, loaded.step,
                                     loaded.w_avg, num_latents)
