"""Where an analysis script's generator comes from: a trained run, or random weights.

  --checkpoint=runs/mnist       the EMA generator of a run (workdir, checkpoints dir or step dir)
  --config=configs/mnist.py     random weights of that config's model (timing and memory only)

The two flags are defined here, once, for every script in ``experiments/`` that reads a
generator (extrapolation, superresolution, interpolation, export_size, lowres_speed,
tiled_memory); :func:`load` turns them into a :class:`Source`.
"""
import dataclasses
from typing import Any, Dict, List, Sequence

from absl import flags

from inr_gan_jax import sample

CHECKPOINT = flags.DEFINE_string("checkpoint", None, "Workdir, checkpoints dir or step dir.")
CONFIG = flags.DEFINE_string("config", None,
                             "Config file: random weights of its model (no checkpoint).")


@dataclasses.dataclass
class Source:
  """A generator, its parameters, a :class:`~inr_gan_jax.sample.Sampler` and where they came from."""
  generator: Any
  params: Any
  info: Dict[str, Any]
  sampler: sample.Sampler

  def theta_of_seeds(self, seeds: Sequence[int]):
    """Predicted INR parameters of the latents of ``seeds`` (leaves ``[len(seeds), ...]``)."""
    return self.sampler.theta(sample.seed_latents(self.generator, seeds))


def load() -> Source:
  """The generator ``--checkpoint`` or ``--config`` names."""
  g, params, info = sample.load_generator_or_random(CHECKPOINT.value, CONFIG.value)
  return Source(g, params, info, sample.Sampler(g, params))


def flag_args() -> List[str]:
  """The same choice as command-line arguments, for a worker subprocess."""
  if CHECKPOINT.value:
    return [f"--checkpoint={CHECKPOINT.value}"]
  return [f"--config={CONFIG.value}"] if CONFIG.value else []
