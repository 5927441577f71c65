r"""Size of an exported INR (.npz) against PNGs of the same sample at several resolutions.

  python -m experiments.export_size --checkpoint=runs/mnist --seeds=0-3 --out=figs/export

The INR's size does not depend on the resolution; a PNG's grows with it.
Writes ``export_size.json`` (bytes per seed and resolution, and the INR's).
"""
import json
import os
import tempfile

from absl import app
from absl import flags
import jax
import numpy as np

from inr_gan_jax.render import export
from inr_gan_jax.utils import image_utils
from experiments import source
from inr_gan_jax import sample

_SEEDS = flags.DEFINE_string("seeds", "0-3", "Seeds.")
_SIZES = flags.DEFINE_string("sizes", "256,1024,4096", "PNG sides.")
_OUT = flags.DEFINE_string("out", "figures/export_size", "Output directory.")


def main(argv):
  del argv
  src = source.load()
  g, params, sampler, info = src.generator, src.params, src.sampler, src.info
  seeds = sample.parse_seeds(_SEEDS.value)
  theta = src.theta_of_seeds(seeds)
  rows = []
  with tempfile.TemporaryDirectory() as tmp:
    for i, seed in enumerate(seeds):
      row = {"seed": seed, "inr_npz_bytes": export.save_inr(
          os.path.join(tmp, "s.npz"), g.layout, export.take_sample(theta, i), params["inr"])}
      for size in (int(s) for s in _SIZES.value.split(",")):
        one = jax.tree.map(lambda x: x[i:i + 1], theta)  # keep the batch axis
        img = sampler.render(one, size, size, max_pixels_per_call=1 << 20, to_uint8=True)
        row[f"png_{size}_bytes"] = len(image_utils.png_bytes(img[0]))
      rows.append(row)
      print(row)
  result = {"source": info, "rows": rows,
            "mean": {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "seed"}}
  os.makedirs(_OUT.value, exist_ok=True)
  with open(os.path.join(_OUT.value, "export_size.json"), "w") as f:
    json.dump(result, f, indent=1)
  print(json.dumps(result["mean"], indent=1))


if __name__ == "__main__":
  app.run(main)
