"""``python -m inr_gan_jax.fit --mode=single|memorize|autodecoder|project --out=DIR``.

Options: :class:`inr_gan_jax.fit.config.FitConfig` (``--help`` lists them).

Examples::

  python -m inr_gan_jax.fit --mode=single --size=256 --arch=ffn,siren --target_psnr=30 --out=/tmp/s
  python -m inr_gan_jax.fit --mode=memorize --num_images=100 --code=index,binary \
      --width_mult=1,4 --out=/tmp/m
  python -m inr_gan_jax.fit --mode=memorize --size=48 --upsample_to=256 --out=/tmp/up
  python -m inr_gan_jax.fit --mode=autodecoder --num_images=100 --out=/tmp/ad
  python -m inr_gan_jax.fit --mode=project --checkpoint=runs/mnist --image_file=X.npz \
      --image_index=0 --space=w --out=/tmp/p
"""
import os
import sys
from typing import Optional, Sequence

import numpy as np

from inr_gan_jax.fit import config as config_lib
from inr_gan_jax.fit import data as data_lib
from inr_gan_jax.fit import models
from inr_gan_jax.fit import modes

def run_project(a: config_lib.FitConfig):
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


def check_lists(a: config_lib.FitConfig) -> None:
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
  a = config_lib.from_args(argv)  # a typed FitConfig; the parser is built from its fields
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
