r"""Samples a trained INR-GAN at any resolution, window and aspect ratio.

  python -m inr_gan_jax.sample --workdir=runs/mnist --seeds=0-15 --resolution=128 --out=out/
  python -m inr_gan_jax.sample --checkpoint=runs/mnist/checkpoints/6000 --seeds=3 \
      --height=64 --width=160 --window=-1,0,2,1 --out=out/wide
  python -m inr_gan_jax.sample --workdir=runs/mnist --seeds=0 --resolution=8192 \
      --max_pixels_per_call=1048576 --out=out/huge          # tiled, bounded memory
  python -m inr_gan_jax.sample --workdir=runs/mnist --seeds=0-7 --truncation=0.7 \
      --export_inr --write_gradients --out=out/

Writes ``seed_XXXX.png`` per seed and ``grid.png``; ``--export_inr`` adds
``seed_XXXX.npz`` (render with ``python -m inr_gan_jax.render_inr``) and
``--write_gradients`` adds ``seed_XXXX_gradmag.png`` (|d image / d(x, y)|).
A seed always gives the same image: its latent is ``normal(key(seed))``.
"""
import dataclasses
import json
import os
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from absl import app
from absl import flags
from absl import logging
import jax
import numpy as np

from inr_gan_jax import config_lib
from inr_gan_jax.utils import cli_flags
from inr_gan_jax.model import coords
from inr_gan_jax.render import export
from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax.render import gradients
from inr_gan_jax.utils import image_utils
from inr_gan_jax.utils import progress as progress_lib
from inr_gan_jax.render import tiling
from inr_gan_jax.model import truncation

MAX_GRID_PIXELS = 1 << 26  # the grid PNG is skipped above this many pixels


def parse_seeds(text: str) -> List[int]:
  """``"0-15"``, ``"3"``, ``"1,4,10-12"`` -> sorted-as-given list of non-negative ints."""
  seeds: List[int] = []
  if not text or not text.strip():
    raise ValueError("--seeds is empty; use e.g. 0-15 or 1,4,10-12")
  for part in text.split(","):
    part = part.strip()
    m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
    if not m:
      raise ValueError(f"--seeds: cannot parse {part!r} in {text!r}; use non-negative integers "
                       "and ranges like 0-15, separated by commas")
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) is not None else lo
    if hi < lo:
      raise ValueError(f"--seeds: range {part!r} is inverted (end < start)")
    seeds.extend(range(lo, hi + 1))
  return seeds


def parse_window(text: str) -> coords.Window:
  """``"x0,y0,x1,y1"`` -> validated window (x1 > x0, y1 > y0)."""
  try:
    values = [float(v) for v in text.split(",")]
  except ValueError:
    raise ValueError(f"--window must be four numbers x0,y0,x1,y1, got {text!r}") from None
  if len(values) != 4:
    raise ValueError(f"--window must be four numbers x0,y0,x1,y1, got {text!r}")
  return coords.check_window(values)


def resolve_size(resolution: Optional[int], height: Optional[int], width: Optional[int],
                 default: int) -> Tuple[int, int]:
  """Output ``(H, W)`` from ``--resolution`` and/or ``--height/--width``."""
  base = default if resolution is None else resolution
  h = base if height is None else height
  w = base if width is None else width
  for name, v in (("resolution", resolution), ("height", height), ("width", width)):
    if v is not None and v < 1:
      raise ValueError(f"--{name}={v}: image size must be a positive number of pixels")
  return h, w


@dataclasses.dataclass
class Request:
  """Everything :func:`sample_to_dir` needs besides the generator."""
  seeds: Sequence[int]
  height: int
  width: int
  window: coords.Window = coords.UNIT_WINDOW
  psi: float = 1.0
  out: str = "samples"
  max_pixels_per_call: int = 0
  batch_size: int = 8
  export_inr: bool = False
  write_gradients: bool = False
  grid_cols: int = 0
  progress: bool = False   # bars with ETA on stderr (the CLI turns them on)


def seed_latents(generator: generator_lib.Generator, seeds: Sequence[int]) -> jax.Array:
  """One latent per seed, independent of batching: ``[len(seeds), D]``."""
  return jax.numpy.concatenate([generator.sample_z(jax.random.key(s), 1) for s in seeds], 0)


class Sampler:
  """One generator's weights and truncation centre, rendered in one call or in tiles.

  Theta and pixels come from the generator's jitted entries (``predict``,
  ``evaluate``): the one latent -> pixels path of :mod:`inr_gan_jax.model.pipeline`.
  """

  def __init__(self, generator: generator_lib.Generator, params, w_mean=None):
    self.generator = generator
    self.params = params
    self.w_mean = None if w_mean is None else jax.numpy.asarray(w_mean)

  def theta(self, z: jax.Array, psi: float = 1.0):
    return self.generator.predict(self.params, z, w_mean=self.w_mean, psi=psi)

  def render(self, theta, height: int, width: int, window: Sequence[float] = coords.UNIT_WINDOW,
             max_pixels_per_call: int = 0, progress: bool = False, to_uint8: bool = False):
    """``[B, H, W, C]``: one call, or tiles when ``max_pixels_per_call`` is below ``H * W``."""
    g, shared = self.generator, self.params["inr"]
    evaluate = lambda t, s, plan: g.evaluate(dict(self.params, inr=s), t, plan)  # noqa: E731
    if 0 < max_pixels_per_call < height * width:
      return tiling.render_tiled(g.layout, theta, shared, height, width, window, max_pixels_per_call,
                                 progress=progress, to_uint8=to_uint8, evaluate_fn=evaluate)
    plan = g.make_plan(height, width, window)
    flat = np.asarray(g.evaluate(self.params, theta, plan))  # [B, H*W, C]
    images = flat.reshape(flat.shape[0], height, width, -1)
    return image_utils.to_uint8(images) if to_uint8 else images


def sample_to_dir(sampler: Sampler, req: Request, source: Optional[Dict[str, Any]] = None
                  ) -> Dict[str, List[str]]:
  """Renders ``req.seeds`` into ``req.out``; returns the written paths by kind."""
  coords.check_size(req.height, req.width)
  coords.check_window(req.window)
  truncation.check_psi(req.psi)
  if req.batch_size < 1:
    raise ValueError(f"--render_batch must be >= 1, got {req.batch_size}")
  g = sampler.generator
  tiled = 0 < req.max_pixels_per_call < req.height * req.width
  batch = 1 if tiled else req.batch_size  # tiles bound memory per sample: go one by one
  written: Dict[str, List[str]] = {"images": [], "inr": [], "gradients": [], "grid": []}
  all_images = []
  x0, y0, x1, y1 = req.window
  starts = range(0, len(req.seeds), batch)
  # Many seeds: a bar over seeds (a tiled render has its own bar over tiles).
  for start in progress_lib.track(starts, len(starts), "batches of seeds",
                                  enabled=req.progress and not tiled and len(starts) > 1):
    seeds = list(req.seeds[start:start + batch])
    theta = sampler.theta(seed_latents(g, seeds), req.psi)
    images = sampler.render(theta, req.height, req.width, req.window, req.max_pixels_per_call,
                            progress=tiled and req.progress, to_uint8=True)  # [b, H, W, C] uint8
    for i, seed in enumerate(seeds):
      path = os.path.join(req.out, f"seed_{seed:04d}.png")
      image_utils.save_png(path, images[i])
      written["images"].append(path)
      if req.export_inr:
        path = os.path.join(req.out, f"seed_{seed:04d}.npz")
        info = dict(source or {}, seed=int(seed), truncation_psi=float(req.psi))
        export.save_inr(path, g.layout, export.take_sample(theta, i), sampler.params["inr"], info)
        written["inr"].append(path)
    if req.write_gradients:
      _, gx, gy = gradients.image_gradients(g.layout, theta, sampler.params["inr"], req.height,
                                            req.width, req.window, req.max_pixels_per_call)
      mag = gradients.gradient_magnitude(gx, gy, ((x1 - x0) / req.width, (y1 - y0) / req.height))
      for i, seed in enumerate(seeds):
        path = os.path.join(req.out, f"seed_{seed:04d}_gradmag.png")
        image_utils.save_png(path, gradients.magnitude_to_uint8(mag[i]))
        written["gradients"].append(path)
    if len(req.seeds) * req.height * req.width <= MAX_GRID_PIXELS:
      all_images.append(images)
  if all_images:
    path = os.path.join(req.out, "grid.png")
    image_utils.save_png(path, image_utils.make_grid(np.concatenate(all_images), req.grid_cols))
    written["grid"].append(path)
  else:
    logging.warning("Grid skipped: %d images of %dx%d are too large to tile into one PNG.",
                 len(req.seeds), req.height, req.width)
  return written


def load_generator_or_random(checkpoint: Optional[str], config_file: Optional[str] = None,
                             step: Optional[int] = None):
  """``(generator, params, info)`` for experiment scripts.

  From a checkpoint (EMA weights), or, for timing only, a randomly initialised
  generator of ``config_file``'s model (``info["trained"]`` says which).
  """
  if checkpoint:
    from inr_gan_jax.checkpoints import restore  # local: Orbax only when a checkpoint is read
    loaded = restore.load_generator(checkpoint, step)
    return loaded.generator, loaded.params, {"checkpoint": os.path.abspath(checkpoint),
                                             "step": int(loaded.step), "trained": True}
  if not config_file:
    raise ValueError("give --checkpoint (a trained run) or --config (random weights, timing only)")
  config = config_lib.load_config_file(config_file)
  g = generator_lib.Generator(config.model)
  return g, jax.jit(g.init)(jax.random.key(0)), {"config": config_file, "trained": False}


# ---- command line ------------------------------------------------------------------------
# (kind, name, default, help): defined by define_flags(), not at import, so that
# experiment scripts and tests can import this module next to other CLIs' flags. The
# defaults of the request are Request's (written once).
_FLAGS = (
    ("string", "workdir", None, "Training workdir (its latest checkpoint)."),
    ("string", "checkpoint", None, "A checkpoints dir or one step dir."),
    ("integer", "step", None, "Checkpoint step (default: latest)."),
    ("string", "seeds", "0-15", "Seeds: 0-15, 3, or 1,4,10-12."),
    ("integer", "resolution", None, "Square output side (default: training resolution)."),
    ("integer", "height", None, "Output height (overrides --resolution)."),
    ("integer", "width", None, "Output width (overrides --resolution)."),
    ("string", "window", ",".join(f"{v:g}" for v in Request.window),
     "x0,y0,x1,y1; the training image is 0,0,1,1."),
    ("float", "truncation", Request.psi, "psi: 1 = none, 0 = the mean image."),
    ("string", "truncation_center", config_lib.TRUNCATION_CENTERS[0],
     "estimate: mean of w under the EMA generator over --truncation_latents latents (cached "
     "next to the checkpoint); state: the train state's running w_avg."),
    ("integer", "truncation_latents", truncation.DEFAULT_NUM_LATENTS,
     "Latents for the truncation-centre estimate."),
    ("string", "out", Request.out, "Output directory."),
    ("integer", "max_pixels_per_call", Request.max_pixels_per_call, "Render in tiles of at most this many pixels (0 = one call)."),
    ("integer", "render_batch", Request.batch_size, "Seeds rendered per call (untiled)."),
    ("bool", "export_inr", Request.export_inr, "Also write each sample's INR as .npz."),
    ("bool", "write_gradients", Request.write_gradients, "Also write |d image/d(x,y)| PNGs."),
    ("integer", "grid_cols", Request.grid_cols, "Columns of grid.png (0 = square-ish)."),
)


def define_flags(flag_values=flags.FLAGS) -> None:
  """Defines the CLI flags (idempotent; a flag another module already defined is shared)."""
  cli_flags.define_missing(_FLAGS, flag_values)


def _flag(name: str):
  return flags.FLAGS[name].value


def request_from_flags(default_resolution: int) -> Request:
  """Validated :class:`Request` from the flags; ValueError names the bad flag."""
  seeds = parse_seeds(_flag("seeds"))
  height, width = resolve_size(_flag("resolution"), _flag("height"), _flag("width"), default_resolution)
  window = parse_window(_flag("window"))
  if _flag("max_pixels_per_call") < 0:
    raise ValueError(f"--max_pixels_per_call={_flag('max_pixels_per_call')} must be >= 0")
  return Request(seeds=seeds, height=height, width=width, window=window,
                 psi=truncation.check_psi(_flag("truncation")), out=_flag("out"),
                 max_pixels_per_call=_flag("max_pixels_per_call"), batch_size=_flag("render_batch"),
                 export_inr=_flag("export_inr"), write_gradients=_flag("write_gradients"),
                 grid_cols=_flag("grid_cols"), progress=True)


def checkpoint_path() -> str:
  if bool(_flag("workdir")) == bool(_flag("checkpoint")):
    raise ValueError("give exactly one of --workdir or --checkpoint")
  return _flag("workdir") or _flag("checkpoint")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  from inr_gan_jax.checkpoints import restore  # local: Orbax only for the CLI
  cli_flags.quiet_library_logs()
  try:
    path = checkpoint_path()
    # Validate the request before the (slow) restore, with a placeholder size.
    request_from_flags(default_resolution=1)
    loaded = restore.load_generator(path, _flag("step"))
    req = request_from_flags(loaded.generator.resolution)
    w_mean = restore.truncation_center(loaded, path, req.psi, _flag("truncation_center"),
                                       _flag("truncation_latents"))
  except (ValueError, FileNotFoundError) as e:
    raise app.UsageError(str(e)) from e
  source = {"checkpoint": os.path.abspath(path), "step": int(loaded.step),
            "window": list(req.window)}
  written = sample_to_dir(Sampler(loaded.generator, loaded.params, w_mean), req, source)
  with open(os.path.join(req.out, "samples.json"), "w") as f:
    json.dump({"request": dataclasses.asdict(req), "source": source, "written": written}, f,
              indent=1, default=list)
  print(f"Wrote {len(written['images'])} images ({req.height}x{req.width}, window {req.window}) "
        f"to {req.out}.")


def cli() -> None:
  """``inr-gan-sample``: the same as ``python -m inr_gan_jax.sample``."""
  define_flags()
  app.run(main)


if __name__ == "__main__":
  cli()
