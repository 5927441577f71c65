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

from inr_gan_jax.checkpoints import checkpointing
from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax.train import step as train_step_lib


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
  """EMA generator from ``path``: a workdir, its ``checkpoints`` dir, or one step dir."""
  meta, step = checkpointing.load_meta(path, step)
  config = config_from_meta(meta)
  mesh = Mesh(np.array(jax.local_devices()[:1]), ("data",))
  trainer = train_step_lib.Trainer(config, mesh)
  state, _, step = checkpointing.load_checkpoint(path, trainer.abstract_state(config.seed), step)
  return LoadedGenerator(generator=trainer.generator, params=state["g_ema"],
                         w_avg=state["w_avg"], config=config, step=step)
