"""``python -m inr_gan_jax.fit --mode=single|memorize|autodecoder|project --out=DIR``.

Examples::

  python -m inr_gan_jax.fit --mode=single --size=256 --arch=ffn,siren --target_psnr=30 --out=/tmp/s
  python -m inr_gan_jax.fit --mode=memorize --num_images=100 --code=index,binary \
      --width_mult=1,4 --out=/tmp/m
  python -m inr_gan_jax.fit --mode=memorize --size=48 --upsample_to=256 --out=/tmp/up
  python -m inr_gan_jax.fit --mode=autodecoder --num_images=100 --out=/tmp/ad
  python -m inr_gan_jax.fit --mode=project --checkpoint=runs/mnist --image_file=X.npz \
      --image_index=0 --space=w --out=/tmp/p
"""
import argparse
import os
import sys
from typing import Optional, Sequence

import numpy as np

from inr_gan_jax.fit import data as data_lib
from inr_gan_jax.fit import models
from inr_gan_jax.fit import modes

MODES = ("single", "memorize", "autodecoder", "project")


def parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(prog="python -m inr_gan_jax.fit", description=__doc__.split("\n")[0],
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
  add = p.add_argument
  add("--mode", required=True, choices=MODES,
      help="single: one image per architecture; memorize: one INR for many images; "
           "autodecoder: per-image codes and an INR-GAN hypernetwork fitted jointly (no D); "
           "project: a trained "
           "generator's latent for a given image")
  add("--out", required=True, help="output folder (PNGs + results.json)")
  add("--data", default=data_lib.DEFAULT_64, help="uint8 NHWC .npz with key 'images'")
  add("--hires_data", default=data_lib.DEFAULT_256, help="high-res reference for --upsample_to")
  add("--num_images", type=int, default=100, help="images fitted (memorize, autodecoder)")
  add("--image_index", type=int, default=0, help="first image used")
  add("--size", type=int, default=64, help="fitting resolution")
  add("--upsample_to", type=int, default=0,
      help="if > 0: fit images downsampled from --hires_data and compare renders at this size "
           "(memorize, autodecoder, single)")
  add("--upsample_images", type=int, default=8, help="images scored for upsampling")
  add("--arch", default="ffn", help="ffn and/or siren (comma list; memorize uses the first)")
  add("--code", default="index,binary", help="memorize: image code kinds (comma list)")
  add("--width_mult", default="1", help="memorize: hidden width multipliers (comma list)")
  add("--width", type=int, default=256, help="hidden width of the fitted MLP")
  add("--depth", type=int, default=4, help="hidden layers of the fitted MLP")
  add("--num_fourier", type=int, default=256, help="ffn: Fourier frequencies")
  add("--fourier_scale", type=float, default=0.0,
      help="ffn: Gaussian frequency std; 0 = size/24 (about 10 at 256 px, 2 at 48 px: larger "
           "scales fit the training pixels with noise between them)")
  add("--code_fourier_scale", type=float, default=0.0,
      help="memorize (ffn): > 0 puts the image code inside the Fourier features with this "
           "frequency std (about N/4 for the index code); 0 appends it as is")
  add("--omega0", type=float, default=30.0, help="siren: sine frequency factor")
  add("--steps", type=int, default=2000, help="optimiser steps")
  add("--lr", type=float, default=0.0, help="0: per-architecture default")
  add("--images_per_step", type=int, default=16, help="images per step (memorize, autodecoder)")
  add("--pixels_per_image", type=int, default=0, help="0: all training pixels")
  add("--holdout", type=float, default=0.1, help="fraction of each image's pixels held out")
  add("--eval_every", type=int, default=100, help="steps between PSNR evaluations")
  add("--target_psnr", type=float, default=30.0, help="single: stop once reached (0: never)")
  add("--seed", type=int, default=0, help="initialisation and sampling seed")
  # auto-decoder
  add("--name", default="autodecoder", help="autodecoder: sub-folder and results key")
  add("--latent_dim", type=int, default=64, help="autodecoder: latent code size")
  add("--hyper_width", type=int, default=256, help="autodecoder: hypernetwork width")
  add("--fmm_rank", type=int, default=10, help="autodecoder: FMM rank (0 = weights predicted whole)")
  add("--ad_num_fourier", type=int, default=32, help="autodecoder: Fourier frequencies")
  add("--ad_fourier_scale", type=float, default=0.0, help="0 = size/24, as --fourier_scale")
  # projection
  add("--checkpoint", default="runs/mnist", help="project: workdir or checkpoint of a trained generator")
  add("--image_file", default="", help="project: .npz with 'images' (default: --data)")
  add("--space", default="w", choices=("z", "w"),
      help="project: optimise the latent z or the hidden code w before the connector")
  add("--scales", default="1,2,4", help="project: render scales compared with the target (comma list)")
  add("--project_lr", type=float, default=0.05, help="project: Adam learning rate of the latent")
  add("--num_starts", type=int, default=4, help="project: starts optimised together")
  return p


def run_project(a):
  from inr_gan_jax.checkpoints import restore
  from inr_gan_jax.utils import cli_flags
  cli_flags.quiet_library_logs()  # Orbax logs every restore step at INFO
  from inr_gan_jax.fit import analysis
  from inr_gan_jax.fit import project as project_lib
  loaded = restore.load_generator(a.checkpoint)
  gen, params = loaded.generator, loaded.params
  r, c = gen.resolution, gen.layout.out_channels
  img = data_lib.load_images(a.image_file or a.data, 1, start=a.image_index)
  if img.shape[-1] != c:  # gray <-> RGB so any image set can be projected
    img = (np.repeat(img, c, -1) if img.shape[-1] == 1
           else img.mean(-1, keepdims=True).round().astype(np.uint8))
  if img.shape[-1] == 1:
    img = data_lib.resize(np.repeat(img, 3, -1), r)[..., :1]
  else:
    img = data_lib.resize(img, r)
  target = data_lib.to_float(img)[0]
  init = project_lib.initial_latents(gen, params, a.space, a.num_starts, a.seed, loaded.w_avg)
  latent, hist = project_lib.project(gen, params, target, space=a.space, num_steps=a.steps,
                                     lr=a.project_lr, init=init, log_every=a.eval_every,
                                     scales=[int(s) for s in a.scales.split(",")])
  views = project_lib.render_views(gen, params, latent, a.space, r)
  # Shown at 4x with nearest-neighbour pixels, beside the 4x *render* of the same INR.
  show = np.stack([target, views["fit"], views["zoom_out"]]).repeat(4, axis=1).repeat(4, axis=2)
  analysis.save_grid(os.path.join(a.out, "projection.png"), show, cols=3)
  analysis.save_grid(os.path.join(a.out, "projection_4x.png"), views["upscaled"][None])
  np.save(os.path.join(a.out, "latent.npy"), np.asarray(latent))
  res = {"mode": "project", "checkpoint": a.checkpoint, "step": loaded.step, "space": a.space,
         "history": hist, "final_rmse": hist[-1]["rmse"]}
  modes.write_json(os.path.join(a.out, "results.json"), res)
  return res


def check_lists(a) -> None:
  """Comma-list flags are checked up front, so a typo fails before any fitting, by name."""
  def each(flag, cast, allowed=None):
    for item in getattr(a, flag).split(","):
      try:
        value = cast(item)
      except ValueError:
        raise ValueError(f"--{flag}: {item!r} is not a valid {cast.__name__}") from None
      if allowed and value not in allowed:
        raise ValueError(f"--{flag}: {item!r} is not one of {allowed}")
      if cast is not str and value <= 0:
        raise ValueError(f"--{flag}: {item!r} must be > 0")
  each("arch", str, models.KINDS)
  each("code", str, models.CODES)
  each("width_mult", float)
  each("scales", int)


def main(argv: Optional[Sequence[str]] = None):
  a = parser().parse_args(argv)
  check_lists(a)
  os.makedirs(a.out, exist_ok=True)
  run = {"single": modes.run_single, "memorize": modes.run_memorize,
         "autodecoder": modes.run_autodecoder, "project": run_project}[a.mode]
  return run(a)


def cli() -> None:
  """``inr-gan-fit``: the same as ``python -m inr_gan_jax.fit``."""
  main(sys.argv[1:])


if __name__ == "__main__":
  cli()
