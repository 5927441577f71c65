r"""Generator regression: how fast can G steer fixed latents onto real images, with no D?

  python -m experiments.g_regression --settings=current,dcgan --seed_list=0,1
  python -m experiments.g_regression --settings=current,current_grey --num_images=256 --steps=1000
  python -m experiments.g_regression --settings=current --num_images=16 --free_theta --suffix=_free16

A GAN-free probe of what a generator parameterisation can learn in a budget. ``N`` latents
``z_i ~ N(0, I)`` (the training prior) are paired, once and at random, with ``N`` real images
``x_i``, and G alone is trained on the squared error ``|G(z_i) - x_i|^2`` by its own optimiser
groups and rates (``train/optim.py``), minibatches of the setting's batch size, for as many
steps as a recipe-study run. There is no game, so a run is nearly deterministic: a settings
difference that a 16-kimg GAN run cannot resolve (single runs differ by ~50 FD there,
``docs/recipe_study_mnist.md``) shows here in minutes. What it measures is how much one step of
G can move *every* sample towards its own target: the steering a GAN's G needs to follow D.

Settings are those of ``experiments/recipe_settings.py`` (the same overrides on the same base, the
same pins), so ``dcgan`` is the pixel generator with its own rates, or a Table 1 variant
(``fourier``, ``fmm``, ... on the base config's rates). Reported per setting: PSNR
(dB, images in [-1, 1]) on all ``N`` pairs against step, the pixel spread over z of the fitted
generator, and the PSNR of the best constant image (the pixel mean of the targets, what a G that
ignores z reaches).

Cost (2-core AMD EPYC, AVX-512): 1.2-2.7 min per 1000-step INR run at batch 16 (no D), ~4 min
for the conv generator (``docs/recipe_study_mnist.md``, round 9); without AVX-512 2-2.8 min
per INR run and 5.2 min for the conv (round 10).
Output: ``runs/g_regression/<dataset>/results.json`` and a table on stdout.
"""
import ast
import functools
import json
import os
import time

from absl import app
from absl import flags
import jax
import jax.numpy as jnp
import numpy as np
import optax

from experiments import recipe_settings
from experiments import study
from inr_gan_jax import config_lib
from inr_gan_jax.data import npz
from inr_gan_jax.model import generator as generator_lib
from inr_gan_jax.train import optim

_DATASET = flags.DEFINE_enum("dataset", "mnist", sorted(recipe_settings.BASES), "Base config.")
_SETTINGS = flags.DEFINE_list("settings", ["current", "dcgan"], "experiments/recipe_settings.py "
                              "settings or Table 1 variants.")
# Not --seeds: the sampling commands declare that flag with another default, and the tests
# import both into one process.
_SEED_LIST = flags.DEFINE_list("seed_list", ["0"], "Seeds (init, latents and the pairing).")
_NUM = flags.DEFINE_integer("num_images", 256, "Latent-image pairs.")
_STEPS = flags.DEFINE_integer("steps", 1000, "G steps per run.")
_EVERY = flags.DEFINE_integer("eval_every", 250, "Steps between PSNR evaluations.")
_SET = flags.DEFINE_multi_string("set", [], "Extra override on every setting, "
                                  "'section.key=value' (repeatable), e.g. train.lr_hyper=1e-3.")
_SUFFIX = flags.DEFINE_string("suffix", "", "Suffix of the run names (to tell --set runs apart).")
_FREE = flags.DEFINE_bool("free_theta", False, "Optimise every sample's INR tensors directly "
                          "(initialised from G(z_i)) with the shared INR, no hypernetwork: the "
                          "best the per-sample parameterisation does in the budget.")
_FREE_LEAVES = flags.DEFINE_list("free_leaves", [], "--free_theta: only the predicted leaves "
                                 "whose path contains one of these (e.g. 'a,b' FMM factors, "
                                 "'bias', 'fourier'); the others stay at G(z_i). Empty: all.")
_THETA_LR = flags.DEFINE_float("theta_lr", 1e-2, "--free_theta: Adam(0.9, 0.999) rate of theta.")
_RESULTS = flags.DEFINE_string("results", "runs/g_regression", "Results folder.")


def parse_set(items):
  """``["train.lr_hyper=1e-3", ...]`` -> ``{"train.lr_hyper": 0.001, ...}`` (Python literals)."""
  out = {}
  for item in items:
    key, sep, value = item.partition("=")
    if not sep or key.count(".") != 1:
      raise SystemExit(f"--set {item!r}: expected section.key=value, e.g. train.lr_hyper=1e-3")
    try:
      out[key.strip()] = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
      out[key.strip()] = value.strip()
  return out


def setting_config(dataset: str, setting: str, extra=None):
  """The base config with the study's pins and ``setting``'s overrides (a recipe_settings
  setting), or the base config's Table 1 variant ``setting`` (``config_lib.VARIANTS``)."""
  variant = setting if setting in config_lib.VARIANTS else None
  overrides = {**study.BASE_PINS.get(dataset, {}),
               **({} if variant else recipe_settings.SETTINGS[dataset][setting][1]), **(extra or {})}
  return study.load_config(recipe_settings.BASES[dataset], variant, overrides)


def psnr(mse) -> float:
  """PSNR in dB for images in [-1, 1] (peak-to-peak 2)."""
  return float(10.0 * np.log10(4.0 / max(float(mse), 1e-12)))


def targets(c, num: int) -> np.ndarray:
  """The first ``num`` real images at the model's resolution, float32 in [-1, 1]."""
  src = npz.load_array_source(c.data.path, int(c.model.resolution), num_examples=num)
  x = src.get(np.arange(num)).astype(np.float32) / 127.5 - 1.0  # [N, R, R, 3]
  return x[..., :int(c.model.out_channels)]


def leaf_is_free(path, names) -> bool:
  """Whether a theta leaf at ``path`` (a key path) is optimised under ``--free_leaves names``."""
  keys = [str(getattr(k, "key", k)) for k in path]
  return not names or any(n in keys for n in names)


def free_theta_setup(g, params, z, c, names, theta_lr):
  """Trainable ``{"inr": shared, "theta": per-sample tensors [N, ...]}`` and its optimiser.

  theta starts at the hypernetwork's prediction ``G(z_i)``; the shared INR keeps its group's
  Adam (``lr_inr``), theta gets Adam(0.9, 0.999) at ``theta_lr``; leaves outside ``names``
  get no updates.
  """
  theta = jax.jit(g.theta)(params, z)  # leaves [N, ...]
  train = {"inr": params["inr"], "theta": theta}
  def label(path, _):
    return "free" if leaf_is_free(path, names) else "held"
  labels = {"inr": jax.tree.map(lambda _: "inr", params["inr"]),
            "theta": jax.tree_util.tree_map_with_path(label, theta)}
  tx = optax.multi_transform({"inr": optax.adam(c.train.lr_inr, b1=c.train.adam_b1,
                                                b2=c.train.adam_b2, eps=c.train.adam_eps),
                              "free": optax.adam(theta_lr, b1=0.9, b2=0.999),
                              "held": optax.set_to_zero()}, labels)
  return train, tx


def fit(c, x: np.ndarray, seed: int, steps: int, every: int, free_theta: bool = False,
        free_leaves=(), theta_lr: float = 1e-2) -> dict:
  """Regresses G(z_i) onto x_i; returns the PSNR curve and the fitted spread over z.

  ``free_theta``: sample i's INR tensors are free parameters (see :func:`free_theta_setup`),
  indexed by i in place of the hypernetwork's ``G(z_i)``.
  """
  g = generator_lib.build(c.model)
  res = int(c.model.resolution)
  plan = g.make_plan(res, res)
  key_init, key_z, _ = jax.random.split(jax.random.PRNGKey(seed), 3)  # 3: the recorded runs' keys
  params = g.init(key_init)
  z = jax.random.normal(key_z, (len(x), g.latent_dim), jnp.float32)  # [N, D]
  x = jnp.asarray(x).reshape(len(x), res * res, -1)                    # [N, R*R, C]
  if free_theta:
    params, tx = free_theta_setup(g, params, z, c, list(free_leaves), theta_lr)
    ids = jnp.arange(len(x))
  else:
    tx = optim.generator_optimizer(c.train, conv=c.model.get("generator", "inr") == "conv")
    ids = z
  opt_state = tx.init(params)
  batch = int(c.train.batch_size)

  def images(p, code):  # [B, R*R, C], the one latent-to-pixels path (code: z, or ids)
    if free_theta:
      theta = jax.tree.map(lambda t: t[code], p["theta"])
      return g.render_plan(p, theta, plan)
    return g.render_plan(p, g.predict_fn(p, code), plan)

  def loss_fn(p, zb, xb):
    return jnp.mean(jnp.square(images(p, zb) - xb))

  @functools.partial(jax.jit, donate_argnums=(0, 1))
  def step(p, s, idx):
    grads = jax.grad(loss_fn)(p, ids[idx], x[idx])
    updates, s = tx.update(grads, s, p)
    return optax.apply_updates(p, updates), s

  @jax.jit
  def all_images(p):
    return jnp.concatenate([images(p, ids[i:i + 64]) for i in range(0, len(x), 64)])

  def evaluate(p):
    out = all_images(p)
    return psnr(jnp.mean(jnp.square(out - x))), float(jnp.mean(jnp.std(out, axis=0)))

  curve = [{"step": 0, "psnr": evaluate(params)[0]}]
  rng = np.random.default_rng(seed)
  t0 = time.time()
  order = np.empty(0, np.int64)
  for i in range(1, steps + 1):
    if len(order) < batch:  # epochs over the pairs, reshuffled
      order = np.concatenate([order, rng.permutation(len(x))])
    idx, order = order[:batch], order[batch:]
    params, opt_state = step(params, opt_state, jnp.asarray(idx))
    if i % every == 0 or i == steps:
      value, spread = evaluate(params)
      curve.append({"step": i, "psnr": value, "spread": spread})
      print(f"  step {i}: PSNR {value:.2f} dB, pixel spread over z {spread:.3f}", flush=True)
  return {"curve": curve, "seconds": time.time() - t0,
          "mean_image_psnr": psnr(jnp.mean(jnp.square(x - jnp.mean(x, 0))))}


def main(argv):
  del argv
  dataset, settings = _DATASET.value, _SETTINGS.value
  unknown = [s for s in settings
             if s not in recipe_settings.SETTINGS[dataset] and s not in config_lib.VARIANTS]
  if unknown:
    raise SystemExit(f"unknown setting(s) {unknown}: use experiments/recipe_settings.py:SETTINGS "
                     f"or a Table 1 variant {sorted(config_lib.VARIANTS)}")
  out_dir = os.path.join(_RESULTS.value, dataset)
  os.makedirs(out_dir, exist_ok=True)
  path = os.path.join(out_dir, "results.json")
  results = {}
  if os.path.isfile(path):
    with open(path) as f:
      results = json.load(f)
  extra = parse_set(_SET.value)
  for setting in settings:
    try:
      c = setting_config(dataset, setting, extra)
    except ValueError as e:  # an unknown --set key: one line, not a traceback
      raise SystemExit(str(e)) from None
    x = targets(c, _NUM.value)
    for seed in map(int, _SEED_LIST.value):
      name = f"{setting}{_SUFFIX.value}_s{seed}_n{_NUM.value}_t{_STEPS.value}"
      print(f"== {name}", flush=True)
      results[name] = {**fit(c, x, seed, _STEPS.value, _EVERY.value, _FREE.value,
                             _FREE_LEAVES.value, _THETA_LR.value),
                       "set": extra, "cpu": study.cpu_model(),
                       **({"free_theta": {"leaves": _FREE_LEAVES.value, "lr": _THETA_LR.value}}
                          if _FREE.value else {})}
      with open(path, "w") as f:
        json.dump(results, f, indent=1)
  print("| run | PSNR at steps " + " / ".join(str(p["step"]) for p in
                                              next(iter(results.values()))["curve"]) + " | best constant | s |")
  for name, r in results.items():
    print(f"| {name} | " + " / ".join(f"{p['psnr']:.1f}" for p in r["curve"])
          + f" | {r['mean_image_psnr']:.1f} | {r['seconds']:.0f} |")


if __name__ == "__main__":
  app.run(main)
