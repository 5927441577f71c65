"""The fitting modes: ``single``, ``memorize`` and ``autodecoder`` (``project``: project.py).

Every mode writes PNG figures and ``results.json`` under its output folder.
"""
import json
import os
import time
from typing import Any, Dict

import jax
import numpy as np

from inr_gan_jax.utils import plotting
from inr_gan_jax.fit import config as config_lib
from inr_gan_jax.fit import analysis
from inr_gan_jax.fit import autodecoder as autodecoder_lib
from inr_gan_jax.fit import data as data_lib
from inr_gan_jax.fit import engine
from inr_gan_jax.fit import image_set
from inr_gan_jax.fit import models
from inr_gan_jax.fit import objectives

# Tuned on a 256x256 CelebA-HQ fit with 16384 random pixels per step (docs/inr_exercise.md):
# SIREN at 3e-4 reached 30 dB in 500 steps where 1e-4 (its paper's value) was at 28.7 after 600.
DEFAULT_LR = {"ffn": 2e-3, "siren": 3e-4, "autodecoder": 1e-3}


def write_json(path: str, obj: Any) -> None:
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(path, "w") as f:
    json.dump(obj, f, indent=1)


def auto_scale(fourier_scale: float, size: int) -> float:
  """``fourier_scale``, or ``size / 24`` when 0: frequencies a ``size``-pixel fit can resolve
  without fitting noise between its pixels (10.7 at 256, 2 at 48)."""
  if fourier_scale < 0:
    raise ValueError(f"fourier_scale must be >= 0 (0 = auto), got {fourier_scale}")
  return fourier_scale or size / 24.0


def mlp_spec(a: config_lib.FitConfig, kind: str, code_dim: int = 0, width_mult: float = 1.0,
             channels: int = 3) -> models.MLPSpec:
  return models.MLPSpec(
      kind=kind, width=int(round(a.width * width_mult)), depth=a.depth,
      num_fourier=a.num_fourier, fourier_scale=auto_scale(a.fourier_scale, a.size),
      omega0=a.omega0, code_dim=code_dim, out_channels=channels,
      code_fourier_scale=a.code_fourier_scale if code_dim else 0.0)


def load_set(a: config_lib.FitConfig, num: int = 0):
  """``(fit images uint8 [N, S, S, C], high-res reference uint8 or None)``; N = ``num`` or
  ``a.num_images``. With ``a.upsample_to`` the fit images are downsampled from the reference."""
  num = num or a.num_images
  if a.upsample_to:
    hi = data_lib.load_images(a.hires_data, num, a.upsample_to, start=a.image_index)
    return data_lib.resize(hi, a.size), hi
  return data_lib.load_images(a.data, num, a.size, start=a.image_index), None


# ---- mode 1 --------------------------------------------------------------------------------


def run_single(a: config_lib.FitConfig) -> Dict[str, Any]:
  """Fits one image with each architecture in ``a.arch``; PSNR against steps and wall time.

  With ``a.upsample_to``, the image is downsampled from ``a.hires_data`` and each fit is
  also rendered at that size and scored against the real image and bicubic.
  """
  img, hi = load_set(a, num=1)
  c = img.shape[-1]
  target = data_lib.to_float(img).reshape(1, -1, c)  # [1, P, C]
  p = target.shape[1]
  train_index = np.arange(p, dtype=np.int32)[None]  # [1, P]
  results, renders = {}, [data_lib.to_float(img)[0]]
  for kind in a.arch.split(","):
    model = image_set.MLPImageSet(mlp_spec(a, kind, channels=c), 1, a.size)
    params = model.init(jax.random.PRNGKey(a.seed))

    def eval_fn(params, model=model):
      recon = np.asarray(model.render(params, model.codes(params), a.size, a.size))
      return {"psnr": float(objectives.psnr(recon.reshape(1, -1, c), target))}

    t0 = time.perf_counter()
    params, hist = engine.fit(
        model.predict, params, target, train_index, num_steps=a.steps,
        lr=a.lr or DEFAULT_LR[kind], images_per_step=1, pixels_per_image=a.pixels_per_image or p,
        seed=a.seed, eval_fn=eval_fn, eval_every=a.eval_every, lr_decay=False,
        stop=(lambda r: r["psnr"] >= a.target_psnr) if a.target_psnr else None)
    reached = next((r for r in hist if a.target_psnr and r["psnr"] >= a.target_psnr), None)
    results[kind] = {"num_params": model.num_params(params), "history": hist,
                     "final_psnr": hist[-1]["psnr"], "wall_seconds": time.perf_counter() - t0,
                     "target_psnr": a.target_psnr,
                     "steps_to_target": reached["step"] if reached else None,
                     "seconds_to_target": reached["seconds"] if reached else None}
    renders.append(np.asarray(model.render(params, model.codes(params), a.size, a.size))[0])
    if hi is not None:
      hs = hi.shape[1]
      up = np.asarray(model.render(params, model.codes(params), hs, hs))  # [1, hs, hs, C]
      results[kind]["upsampling"], bic = analysis.upsampling_scores(up, img, hi)
      results[kind]["upsampling"].update(low_size=a.size, high_size=hs, num_images=1)
      analysis.save_grid(os.path.join(a.out, f"upsampling_{kind}.png"),
                         np.concatenate([data_lib.to_float(hi), bic, up]), cols=3)
  analysis.save_grid(os.path.join(a.out, "single_fits.png"), np.stack(renders), cols=len(renders))
  curve = lambda key: {k: ([r[key] for r in v["history"]], [r["psnr"] for r in v["history"]])
                       for k, v in results.items()}
  plotting.save_panels(os.path.join(a.out, "psnr_curves.png"),
                       [("PSNR against training time", curve("seconds")),
                        ("PSNR against steps", curve("step"))],
                       xlabel=("training seconds", "step"), ylabels=("PSNR (dB)", "PSNR (dB)"))
  write_json(os.path.join(a.out, "results.json"), {"mode": "single", "size": a.size, **results})
  return results


# ---- modes 2-6 -----------------------------------------------------------------------------


def evaluate_set(model, params, images_u8, hi_u8, train_index, heldout_index, out: str,
                 a) -> Dict[str, Any]:
  """Memorization, held-out pixels, upsampling and interpolation of a fitted set; writes PNGs."""
  n, s, c = images_u8.shape[0], images_u8.shape[1], images_u8.shape[-1]
  targets = data_lib.to_float(images_u8).reshape(n, s * s, c)
  recon = analysis.render_all(model, params, model.codes(params), s, s)  # [N, S, S, C]
  res: Dict[str, Any] = {"num_params": model.num_params(params)}
  flat = recon.reshape(n, s * s, c)  # [N, P, C]
  res["psnr_per_image"] = [float(v) for v in objectives.psnr(flat, targets, axis=(1, 2))]
  res["psnr_mean"] = float(np.mean(res["psnr_per_image"]))
  res.update(analysis.split_psnr(flat, targets, train_index, heldout_index))
  show = min(n, 8)
  analysis.save_grid(os.path.join(out, "reconstructions.png"),
                     np.concatenate([data_lib.to_float(images_u8[:show]), recon[:show]]), cols=show)
  if hi_u8 is not None:
    hs = hi_u8.shape[1]
    k = min(n, a.upsample_images)
    up = analysis.render_all(model, params, np.asarray(model.codes(params))[:k], hs, hs, chunk=1)
    res["upsampling"], bic = analysis.upsampling_scores(up, images_u8[:k], hi_u8[:k])
    res["upsampling"].update(low_size=s, high_size=hs, num_images=k)
    show = min(k, 2 if hs >= 256 else 4)  # two 256px columns keep the PNG under ~0.5 MB
    analysis.save_grid(os.path.join(out, "upsampling.png"), np.concatenate(
        [data_lib.to_float(hi_u8[:show]), bic[:show], up[:show]]), cols=show)
    zoom = analysis.render_all(model, params, np.asarray(model.codes(params))[:show], s, s,
                               window=(-0.5, -0.5, 1.5, 1.5))
    analysis.save_grid(os.path.join(out, "zoom_out.png"), zoom, cols=show)
  if n >= 2:
    (i, j, cs), (k2, l2, cd) = analysis.cosine_pairs(np.asarray(model.embed(params)))
    strips, res["interpolation"] = [], {}
    for name, (p, q, c) in (("similar", (i, j, cs)), ("dissimilar", (k2, l2, cd))):
      strip, m = analysis.interpolation(model, params, p, q, s, gallery=recon)
      strips.append(strip)
      res["interpolation"][name] = {**m, "cosine": c}
    analysis.save_grid(os.path.join(out, "interpolation.png"), np.concatenate(strips),
                       cols=len(strips[0]))
  return res


def fit_set(model, images_u8, hi_u8, a: config_lib.FitConfig, out: str, lr: float) -> Dict[str, Any]:
  """Trains ``model`` on the set with a fixed held-out split, then :func:`evaluate_set`."""
  n, s = images_u8.shape[:2]
  targets = data_lib.to_float(images_u8).reshape(n, s * s, -1)  # [N, P, C]
  train_index, heldout_index = objectives.holdout_split(
      np.random.default_rng(a.seed), n, s * s, a.holdout)
  params = model.init(jax.random.PRNGKey(a.seed))

  def eval_fn(params):
    recon = analysis.render_all(model, params, model.codes(params), s, s)
    return analysis.split_psnr(recon.reshape(n, s * s, -1), targets, train_index, heldout_index)

  t0 = time.perf_counter()
  params, hist = engine.fit(
      model.predict, params, targets, train_index, num_steps=a.steps, lr=lr,
      images_per_step=a.images_per_step, pixels_per_image=a.pixels_per_image or s * s,
      seed=a.seed, eval_fn=eval_fn, eval_every=a.eval_every)
  res = {"history": hist, "train_seconds": time.perf_counter() - t0, "num_images": n,
         "size": s, "holdout": a.holdout, "steps": a.steps}
  steps = [r["step"] for r in hist]
  plotting.save_panels(os.path.join(out, "psnr_curves.png"), [
      ("PSNR (dB) over training: training pixels vs held-out pixels",
       {"train": (steps, [r["train_psnr"] for r in hist]),
        "held-out": (steps, [r["heldout_psnr"] for r in hist])})], ylabels=("PSNR (dB)",))
  res.update(evaluate_set(model, params, images_u8, hi_u8, train_index, heldout_index, out, a))
  return res


def run_memorize(a: config_lib.FitConfig) -> Dict[str, Any]:
  """Memorizing MLP for each code kind x width multiplier."""
  images, hi = load_set(a)
  results: Dict[str, Any] = {}
  for code in a.code.split(","):
    for mult in [float(m) for m in a.width_mult.split(",")]:
      tag = (f"{a.arch.split(',')[0]}_{code}" + (f"_cf{a.code_fourier_scale:g}"
                                                  if a.code_fourier_scale else "")
             + f"_w{mult:g}x")
      spec = mlp_spec(a, a.arch.split(",")[0], models.code_dim(code, len(images)), mult,
                      channels=images.shape[-1])
      model = image_set.MLPImageSet(spec, len(images), a.size, code)
      print(f"== memorize {tag}: width {spec.width}")
      results[tag] = fit_set(model, images, hi, a, os.path.join(a.out, tag),
                             a.lr or DEFAULT_LR[spec.kind])
      results[tag].update(code=code, width_mult=mult, width=spec.width)
  write_json(os.path.join(a.out, "results.json"), {"mode": "memorize", **results})
  return results


def run_autodecoder(a: config_lib.FitConfig) -> Dict[str, Any]:
  """Learned latents + FMM hypernetwork + INR on the same set."""
  images, hi = load_set(a)
  cfg = autodecoder_lib.autodecoder_config(
      a.size, latent_dim=a.latent_dim, hyper_width=a.hyper_width, width=a.width, depth=a.depth,
      num_fourier=a.ad_num_fourier, fourier_scale=auto_scale(a.ad_fourier_scale, a.size),
      fmm_rank=a.fmm_rank, out_channels=images.shape[-1])
  model = autodecoder_lib.AutoDecoderImageSet(cfg, len(images), a.size)
  res = fit_set(model, images, hi, a, os.path.join(a.out, a.name),
                a.lr or DEFAULT_LR["autodecoder"])
  res["config"] = cfg.to_dict()
  write_json(os.path.join(a.out, "results.json"), {"mode": "autodecoder", a.name: res})
  return {a.name: res}
