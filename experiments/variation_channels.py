r"""Which predicted INR tensors carry a trained generator's variation over z?

  python -m experiments.variation_channels --runs=runs/recipe_study/mnist/current_s0,...

For each kind of predicted tensor (per block: Fourier frequencies, FMM factors
A and B, hidden biases, to-RGB weights and biases) the tensor is replaced by its
mean over 256 samples while every other tensor keeps its per-sample value. Two
numbers per kind: the mean absolute change of the images (in [-1, 1] units),
and the pixel std over samples that remains. A kind that carries much of the
variation changes the images a lot and leaves little spread. Cost: seconds per
run on a 2-core CPU. Output: a markdown table on stdout, and
``--out`` (JSON) if given.
"""
import json
from typing import Any, Dict, Tuple

from absl import app
from absl import flags
import jax
import jax.numpy as jnp
import numpy as np

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defined when run as a command only (other experiments share the names --runs, --num)."""
  flags.DEFINE_list("runs", [], "Workdirs (or checkpoint dirs) of trained INR-GAN runs.")
  flags.DEFINE_integer("num", 256, "Samples.")
  flags.DEFINE_string("out", "", "Optional JSON output.")


def kind_of(path: Tuple[str, ...]) -> str:
  """``("block0", "layer2", "a") -> "block0/hidden/a"``; other tensors keep their path."""
  if len(path) == 3 and path[1].startswith("layer"):
    return f"{path[0]}/hidden/{path[2]}"
  return "/".join(path)


def channel_effects(generator, params, z: jax.Array) -> Dict[str, Any]:
  """Image change and remaining spread when each predicted tensor kind is mean-replaced."""
  theta = generator.predict(params, z)
  plan = generator.make_plan(generator.resolution, generator.resolution)
  r = generator.resolution
  render = lambda params, t: generator.evaluate(params, t, plan).reshape(len(z), r, r, -1)  # noqa: E731
  base = np.asarray(render(params, theta))  # [B, H, W, C]
  flat = jax.tree_util.tree_flatten_with_path(theta)[0]
  kinds = sorted({kind_of(tuple(k.key for k in kp)) for kp, _ in flat})
  out = {"image_std": float(base.std(0).mean()), "kinds": {}}
  for kind in kinds:
    def replace(kp, x, kind=kind):
      if kind_of(tuple(k.key for k in kp)) != kind:
        return x
      return jnp.broadcast_to(x.mean(0, keepdims=True), x.shape)
    images = np.asarray(render(params, jax.tree_util.tree_map_with_path(replace, theta)))
    out["kinds"][kind] = {"change": float(np.abs(images - base).mean()),
                          "remaining_std": float(images.std(0).mean())}
  return out


def main(argv):
  del argv
  from inr_gan_jax.checkpoints import restore  # local: keeps --help fast
  results = {}
  for path in FLAGS.runs:
    loaded = restore.load_generator(path)
    z = loaded.generator.sample_z(jax.random.key(0), FLAGS.num)
    results[path] = channel_effects(loaded.generator, loaded.params, z)
  kinds = sorted({k for r in results.values() for k in r["kinds"]})
  print("| tensor mean-replaced | " + " | ".join(p.rstrip("/").split("/")[-1] for p in results) + " |")
  print("|---|" + "---|" * len(results))
  print("| (none: pixel std over z) | " + " | ".join(
      f"{r['image_std']:.3f}" for r in results.values()) + " |")
  for kind in kinds:
    cells = []
    for r in results.values():
      e = r["kinds"].get(kind)
      cells.append(f"{e['change']:.3f} / {e['remaining_std']:.3f}" if e else "-")
    print(f"| `{kind}` | " + " | ".join(cells) + " |")
  if FLAGS.out:
    with open(FLAGS.out, "w") as f:
      json.dump(results, f, indent=1)


if __name__ == "__main__":
  define_flags()
  app.run(main)
