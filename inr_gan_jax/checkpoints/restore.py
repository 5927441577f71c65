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

from inr_gan_jax.checkpoints import checkpointing
from inr_gan_jax.model import generator as generator_lib


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
