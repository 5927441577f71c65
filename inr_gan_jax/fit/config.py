"""The typed configuration of ``python -m inr_gan_jax.fit`` (one field per flag, defaults once).

The command line parser is built from :class:`FitConfig`'s fields, and the
library functions (:mod:`inr_gan_jax.fit.modes`) take a ``FitConfig``, so a
script calls them with ``FitConfig(mode="single", out=..., size=128)``.
"""
import argparse
import dataclasses
from typing import Any, Optional, Sequence

from inr_gan_jax.fit import data as data_lib

MODES = ("single", "memorize", "autodecoder", "project")


def _field(default: Any, help_: str, choices: Optional[Sequence[str]] = None,
           required: bool = False):
  return dataclasses.field(default=default,
                           metadata={"help": help_, "choices": choices, "required": required})


@dataclasses.dataclass(frozen=True)
class FitConfig:
  """Every option of the fit command; see each field's help (``--help``)."""
  mode: str = _field(None, "single: one image per architecture; memorize: one INR for many images; autodecoder: per-image codes and an INR-GAN hypernetwork fitted jointly (no D); project: a trained generator's latent for a given image", choices=MODES, required=True)
  out: str = _field(None, 'output folder (PNGs + results.json)', required=True)
  data: str = _field(data_lib.DEFAULT_64, "uint8 NHWC .npz with key 'images'")
  hires_data: str = _field(data_lib.DEFAULT_256, 'high-res reference for --upsample_to')
  num_images: int = _field(100, 'images fitted (memorize, autodecoder)')
  image_index: int = _field(0, 'first image used')
  size: int = _field(64, 'fitting resolution')
  upsample_to: int = _field(0, 'if > 0: fit images downsampled from --hires_data and compare renders at this size (memorize, autodecoder, single)')
  upsample_images: int = _field(8, 'images scored for upsampling')
  arch: str = _field('ffn', 'ffn and/or siren (comma list; memorize uses the first)')
  code: str = _field('index,binary', 'memorize: image code kinds (comma list)')
  width_mult: str = _field('1', 'memorize: hidden width multipliers (comma list)')
  width: int = _field(256, 'hidden width of the fitted MLP')
  depth: int = _field(4, 'hidden layers of the fitted MLP')
  num_fourier: int = _field(256, 'ffn: Fourier frequencies')
  fourier_scale: float = _field(0.0, 'ffn: Gaussian frequency std; 0 = size/24 (about 10 at 256 px, 2 at 48 px: larger scales fit the training pixels with noise between them)')
  code_fourier_scale: float = _field(0.0, 'memorize (ffn): > 0 puts the image code inside the Fourier features with this frequency std (about N/4 for the index code); 0 appends it as is')
  omega0: float = _field(30.0, 'siren: sine frequency factor')
  steps: int = _field(2000, 'optimiser steps')
  lr: float = _field(0.0, '0: per-architecture default')
  images_per_step: int = _field(16, 'images per step (memorize, autodecoder)')
  pixels_per_image: int = _field(0, '0: all training pixels')
  holdout: float = _field(0.1, "fraction of each image's pixels held out")
  eval_every: int = _field(100, 'steps between PSNR evaluations')
  target_psnr: float = _field(30.0, 'single: stop once reached (0: never)')
  seed: int = _field(0, 'initialisation and sampling seed')
  name: str = _field('autodecoder', 'autodecoder: sub-folder and results key')
  latent_dim: int = _field(64, 'autodecoder: latent code size')
  hyper_width: int = _field(256, 'autodecoder: hypernetwork width')
  fmm_rank: int = _field(10, 'autodecoder: FMM rank (0 = weights predicted whole)')
  ad_num_fourier: int = _field(32, 'autodecoder: Fourier frequencies')
  ad_fourier_scale: float = _field(0.0, '0 = size/24, as --fourier_scale')
  checkpoint: str = _field('runs/mnist', 'project: workdir or checkpoint of a trained generator')
  image_file: str = _field('', "project: .npz with 'images' (default: --data)")
  space: str = _field('w', 'project: optimise the latent z or the hidden code w before the connector', choices=('z', 'w'))
  scales: str = _field('1,2,4', 'project: render scales compared with the target (comma list)')
  project_lr: float = _field(0.05, 'project: Adam learning rate of the latent')
  num_starts: int = _field(4, 'project: starts optimised together')

  def replace(self, **changes) -> "FitConfig":
    return dataclasses.replace(self, **changes)


def parser() -> argparse.ArgumentParser:
  """The argparse parser of :class:`FitConfig` (flag ``--name`` per field)."""
  p = argparse.ArgumentParser(prog="python -m inr_gan_jax.fit",
                              description="Fits INRs to images (see inr_gan_jax/fit/__main__.py).",
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
  for f in dataclasses.fields(FitConfig):
    md = f.metadata
    kwargs = {"help": md["help"], "choices": md["choices"]}
    if md["required"]:
      kwargs["required"] = True
    else:
      kwargs["default"] = f.default
    if f.type is not str:
      kwargs["type"] = f.type
    p.add_argument(f"--{f.name}", **kwargs)
  return p


def from_args(argv: Optional[Sequence[str]] = None) -> FitConfig:
  return FitConfig(**vars(parser().parse_args(argv)))
