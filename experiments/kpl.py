r"""Keypoints Prediction Loss (the paper's Table 2 and Fig. 4) of a face-trained generator.

  pip install -e ".[kpl]"
  python -m experiments.kpl --checkpoint=runs/celebahq64_nocutout --num_samples=10000 \
      --num_real=50 --project_steps=400 --project_starts=2 --doc=docs/kpl.md

(932 s on the 2-core AMD EPYC CPU machine, 2026-12-01, most of it projecting the 50
faces twice; docs/kpl.md says how long each stage took). ``--reuse=runs/kpl`` rewrites
the report from a finished run's saved latents, keypoints and projections in seconds.

Protocol (``inr_gan_jax.metrics.kpl`` has the definitions):

1. Sample ``--num_samples`` faces ``z ~ N(0, I)``, ``w = hidden(z)`` (the hidden code
   before the connector), images rendered from ``w`` at the training resolution.
2. dlib's 68 landmarks on each image, upsampled (bicubic) to ``--detect_size``;
   the shape predictor runs in the box of dlib's face detector (``--box``), faces
   with no detection are rejected and counted.
3. Least squares (with bias, ``--ridge``) z -> keypoints and w -> keypoints on
   ``1 - --holdout`` of the kept samples; the rest scores the fit on unseen
   generated faces. The permuted baseline is the same fit on latents shuffled
   against their keypoints.
4. ``--num_real`` real faces (``--real_data``, from index ``--real_start``) are
   projected into z and into w with ``inr_gan_jax.fit.project.project`` (the
   ``--mode=project`` optimiser: ``--project_steps`` Adam steps, ``--project_starts``
   starts, the CLI's lr and scales); their keypoints are detected on the real
   images the same way. KPL (test) = MSE between the keypoints predicted from
   the projected latent and those detected on the real face, coordinates in
   [0, 1] of the image side.

Writes ``--doc`` (markdown: Table-2-like table, protocol, rejections, timings),
``--figure`` (Fig. 4-like: detected vs predicted points on real faces) and
``--out``/kpl.json (every number, the latents and keypoints in kpl.npz).
"""
import json
import os
import platform
import subprocess
import time

from absl import app
from absl import flags
import numpy as np

from experiments import kpl_doc

_CHECKPOINT = flags.DEFINE_string("checkpoint", "runs/celebahq64_nocutout",
                                  "Face-trained generator: workdir, checkpoints dir or step dir.")
_REAL = flags.DEFINE_string("real_data", "../shared/data/celebahq_200/celebahq200_64x64.npz",
                            "npz of real faces (key 'images', uint8 NHWC).")
_REAL_START = flags.DEFINE_integer("real_start", 0, "First real face projected.")
_NUM_REAL = flags.DEFINE_integer("num_real", 40, "Real faces projected (test set).")
_NUM = flags.DEFINE_integer("num_samples", 10000, "Generated faces the regression is fitted on.")
_SEED = flags.DEFINE_integer("seed", 0, "Sampling, split and permutation seed.")
_HOLDOUT = flags.DEFINE_float("holdout", 0.2, "Fraction of generated faces kept out of the fit.")
_RIDGE = flags.DEFINE_float("ridge", 0.0, "Ridge penalty on the weights (0 = least squares).")
_DETECT_SIZE = flags.DEFINE_integer("detect_size", 256, "Images are upsampled to this for dlib.")
_BOX = flags.DEFINE_enum("box", "detect", ["detect", "full", "detect_or_full"],
                         "Shape-predictor box: dlib's detector (reject misses), the whole image, "
                         "or the detector falling back to the whole image.")
_STEPS = flags.DEFINE_integer("project_steps", 200, "Projection Adam steps per face and space.")
_STARTS = flags.DEFINE_integer("project_starts", 2, "Projection starts per face.")
_BATCH = flags.DEFINE_integer("batch_size", 250, "Generation batch.")
_NUM_SHOW = flags.DEFINE_integer("num_show", 6, "Real faces in the figure.")
_OUT = flags.DEFINE_string("out", "runs/kpl", "Directory for kpl.json and kpl.npz.")
_DOC = flags.DEFINE_string("doc", "docs/kpl.md", "Markdown report ('' = none).")
_REUSE = flags.DEFINE_string("reuse", "", "A previous --out: reuse its samples' latents and "
                             "keypoints and its projections (re-rendered), redo the rest.")
_NOTE = flags.DEFINE_string("note", "", "A sentence added to the report (e.g. machine load).")
_FIGURE = flags.DEFINE_string("figure", "docs/figures/kpl_real_faces.png", "Fig. 4-like figure.")


_SWEEP = (0.0, 1e2, 1e3, 1e4, 1e5)  # ridge penalties of the robustness table


def _load_previous(out_dir):
  with open(os.path.join(out_dir, "kpl.json")) as f:
    previous = json.load(f)
  return {"json": previous, "npz": dict(np.load(os.path.join(out_dir, "kpl.npz")))}


def _machine() -> str:
  try:
    out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    info = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return f"{info['Model name'].strip()}, {info['CPU(s)'].strip()} CPUs"
  except (OSError, subprocess.CalledProcessError, KeyError):
    return platform.processor() or platform.machine()


def _masked_kpl(kpl_lib, pred, target) -> tuple:
  """KPL over the faces where both keypoint sets exist (either may hold rejected NaN rows)."""
  ok = ~np.isnan(target).any(axis=(1, 2)) & ~np.isnan(pred).any(axis=(1, 2))
  return (kpl_lib.kpl(pred[ok], target[ok]) if ok.any() else float("nan")), int(ok.sum())


def figure(path, real_u8, detected, preds, renders, per_face, size=256):
  """Rows = real faces; columns: real + detected + predicted from each space, then renders."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  from PIL import Image

  spaces = list(preds)
  cols = 2 * len(spaces)
  n = len(real_u8)
  fig, axes = plt.subplots(n, cols, figsize=(2.2 * cols, 2.3 * n), dpi=100, squeeze=False)
  up = lambda im: np.asarray(Image.fromarray(im).resize((size, size), Image.BICUBIC))  # noqa: E731
  colours = {"z": "tab:blue", "w": "tab:red"}
  for i in range(n):
    for j, s in enumerate(spaces):
      ax = axes[i, j]
      ax.imshow(up(real_u8[i]))
      d, p = detected[i] * size, preds[s][i] * size
      ax.scatter(d[:, 0], d[:, 1], s=6, c="lime", marker="o", linewidths=0, label="detected")
      ax.scatter(p[:, 0], p[:, 1], s=10, c=colours.get(s, "tab:orange"), marker="x",
                 linewidths=0.8, label=f"predicted from {s.upper()}")
      ax.set_title(f"real + {s.upper()} pred, KPL {per_face[s][i]:.4f}", fontsize=7)
      ax.set_xlim(0, size)
      ax.set_ylim(size, 0)
      ax.axis("off")
      ax2 = axes[i, len(spaces) + j]
      ax2.imshow(up(renders[s][i]))
      ax2.set_title(f"projection into {s.upper()}", fontsize=7)
      ax2.axis("off")
  handles, labels = [], []
  for s in spaces:
    h, lab = axes[0, spaces.index(s)].get_legend_handles_labels()
    for a, b in zip(h, lab):
      if b not in labels:
        handles.append(a)
        labels.append(b)
  fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
  fig.tight_layout(rect=(0, 0.03, 1, 1))
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  fig.savefig(path)
  plt.close(fig)


def main(argv):
  del argv
  t0 = time.time()
  from inr_gan_jax.checkpoints import restore
  from inr_gan_jax.metrics import kpl
  from inr_gan_jax.utils import cli_flags
  cli_flags.quiet_library_logs()

  seconds = {}
  tick = [time.time()]

  def lap(name):
    now = time.time()
    seconds[name] = now - tick[0]
    tick[0] = now
    print(f"[kpl] {name}: {seconds[name]:.1f} s", flush=True)

  detector = kpl.DlibKeypoints(size=_DETECT_SIZE.value, box=_BOX.value)
  loaded = restore.load_generator(_CHECKPOINT.value)
  g, params = loaded.generator, loaded.params
  lap("load")

  reuse = _load_previous(_REUSE.value) if _REUSE.value else None
  if reuse is None:
    z, w, ims = kpl.generate_faces(g, params, _NUM.value, seed=_SEED.value,
                                   batch_size=min(_BATCH.value, _NUM.value))
    lap("generate")
    det_gen = detector(ims)
    gen_kp, gen_summary = det_gen.keypoints, det_gen.summary()
    print("[kpl] generated detections:", gen_summary, flush=True)
    lap("detect_generated")
  else:  # the saved samples' latents and keypoints: no generation, no detection
    z, w, gen_kp = reuse["npz"]["z"], reuse["npz"]["w"], reuse["npz"]["keypoints"]
    gen_summary = reuse["json"]["detections"]["generated"]

  real_all = np.load(_REAL.value)["images"]
  real = real_all[_REAL_START.value:_REAL_START.value + _NUM_REAL.value]
  if real.shape[1] != g.resolution:
    from inr_gan_jax.fit import data as data_lib
    real = data_lib.resize(real, g.resolution)
  det_real = detector(real)
  print("[kpl] real detections:", det_real.summary(), flush=True)
  real_ok = real[det_real.ok]
  kp_real = det_real.keypoints[det_real.ok]

  projection, proj_lat, renders = {}, {}, {}
  for space in ("z", "w"):
    if reuse is None:
      lat, rend, rmse = kpl.project_faces(
          g, params, real_ok, space, num_steps=_STEPS.value, num_starts=_STARTS.value,
          seed=_SEED.value, w_avg=loaded.w_avg,
          log=lambda m: print("[kpl]", m, flush=True))
    else:  # re-render the saved projections
      lat = reuse["npz"][f"proj_{space}"]
      if len(lat) != len(real_ok):
        raise ValueError(f"--reuse: {len(lat)} saved projections, {len(real_ok)} real faces")
      rend = kpl.to_uint8(np.asarray(g.generate(params, **{space: lat})))
      rmse = np.asarray(reuse["json"]["projection"][space]["rmse"])
    det_r = detector(rend)
    d, nd = _masked_kpl(kpl, det_r.keypoints, kp_real)
    proj_lat[space], renders[space] = lat, rend
    projection[space] = {"rmse_mean": float(rmse.mean()), "rmse": rmse.tolist(),
                         "render_vs_real": d, "render_detected": nd,
                         "render_keypoints": det_r.keypoints}
    lap(f"project_{space}")
  ok = ~np.isnan(gen_kp).any(axis=(1, 2))
  latents = {"z": z[ok], "w": w[ok], "w_of_z": w[ok]}
  test_latents = {"z": proj_lat["z"], "w": proj_lat["w"],
                  "w_of_z": np.asarray(g.hidden(params, proj_lat["z"]))}
  table = kpl.kpl_table(latents, gen_kp[ok], test_latents, kp_real,
                        holdout=_HOLDOUT.value, ridge=_RIDGE.value, seed=_SEED.value)
  for s, src in (("z", "z"), ("w", "w"), ("w_of_z", "z")):
    table[s]["test_vs_render"] = _masked_kpl(kpl, table[s]["pred_test"],
                                             projection[src]["render_keypoints"])[0]
  kp_fit = gen_kp[ok]
  train, held = kpl.split(len(kp_fit), _HOLDOUT.value, _SEED.value)
  spread = {"generated_heldout": kpl.kpl(np.broadcast_to(kp_fit[held].mean(0), kp_fit[held].shape),
                                         kp_fit[held]),
            "real": kpl.kpl(np.broadcast_to(kp_real.mean(0), kp_real.shape), kp_real)}
  # How far the projected latents are from the generated ones: mean distance to the
  # samples' mean, over the samples' own mean distance (1 = a typical sample).
  latent_distance = {}
  for s in test_latents:
    mu = latents[s].mean(0)
    typical = np.linalg.norm(latents[s] - mu, axis=1).mean()
    latent_distance[s] = float(np.linalg.norm(test_latents[s] - mu, axis=1).mean() / typical)
  sweep = {}
  for lam in _SWEEP:
    for s in ("z", "w"):
      m = kpl.fit_linear(latents[s][train], kp_fit[train], lam)
      sweep.setdefault(str(lam), {})[s] = {"heldout": kpl.kpl(m(latents[s][held]), kp_fit[held]),
                                           "test": kpl.kpl(m(test_latents[s]), kp_real)}
  lap("regression")

  k = min(_NUM_SHOW.value, len(real_ok))
  figure(_FIGURE.value, real_ok[:k], kp_real[:k],
         {"w": table["w"]["pred_test"][:k], "z": table["z"]["pred_test"][:k]},
         {"w": renders["w"][:k], "z": renders["z"][:k]},
         {"w": table["w"]["test_per_face"][:k], "z": table["z"]["test_per_face"][:k]})
  lap("figure")
  if reuse is None:
    seconds["total"] = time.time() - t0
  else:  # the original run's costs (this rerun only re-rendered and refitted)
    seconds = dict(reuse["json"]["seconds"])

  flags_used = (f"--checkpoint={_CHECKPOINT.value} --num_samples={_NUM.value} "
                f"--num_real={_NUM_REAL.value} --project_steps={_STEPS.value} "
                f"--project_starts={_STARTS.value}")
  for f, default in ((_REAL_START, 0), (_SEED, 0), (_RIDGE, 0.0), (_HOLDOUT, 0.2),
                     (_BOX, "detect"), (_DETECT_SIZE, 256)):
    if f.value != default:
      flags_used += f" --{f.name}={f.value}"
  command = f"python -m experiments.kpl {flags_used}"
  if reuse is not None:
    command = reuse["json"]["command"]
  result = {
      "command": command,
      "checkpoint": _CHECKPOINT.value, "step": int(loaded.step), "resolution": g.resolution,
      "machine": _machine(), "seconds": seconds, "real_data": _REAL.value,
      "real_start": _REAL_START.value, "num_test": int(len(real_ok)),
      "detect_size": _DETECT_SIZE.value, "box": _BOX.value, "holdout": _HOLDOUT.value,
      "ridge": _RIDGE.value, "seed": _SEED.value, "project_steps": _STEPS.value,
      "project_starts": _STARTS.value, "figure": _FIGURE.value,
      "detections": {"generated": gen_summary, "real": det_real.summary()},
      "reused": _REUSE.value or None, "note": _NOTE.value,
      "spread": spread, "ridge_sweep": sweep, "latent_distance": latent_distance,
      "table": {s: {k2: v for k2, v in row.items()
                    if k2 not in ("map", "pred_test", "test_per_face")}
                for s, row in table.items()},
      "projection": {s: {k2: v for k2, v in p.items() if k2 != "render_keypoints"}
                     for s, p in projection.items()},
  }
  result["reading"] = kpl_doc.reading(result)
  os.makedirs(_OUT.value, exist_ok=True)
  with open(os.path.join(_OUT.value, "kpl.json"), "w") as f:
    json.dump(result, f, indent=1)
  np.savez_compressed(os.path.join(_OUT.value, "kpl.npz"), z=z, w=w,
                      keypoints=gen_kp, real_keypoints=kp_real,
                      proj_z=proj_lat["z"], proj_w=proj_lat["w"],
                      pred_z=table["z"]["pred_test"], pred_w=table["w"]["pred_test"])
  if _DOC.value:
    kpl_doc.write_doc(_DOC.value, result)
  print(json.dumps({s: {k2: result["table"][s][k2] for k2 in
                        ("train", "heldout", "test", "permuted_test", "permuted_heldout")}
                    for s in result["table"]}, indent=1))


if __name__ == "__main__":
  app.run(main)
