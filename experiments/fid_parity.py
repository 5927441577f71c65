r"""FID parity: our Flax InceptionV3 + FID against pytorch-fid's, with random weights.

  python -m experiments.fid_parity --torch_python=/work/venv_torch/bin/python \
      --out=runs/fid_parity [--cross_fid]

About 6 minutes (11.5 with ``--cross_fid``) on the 2-core AMD EPYC (AVX-512) development
machine while a training job shares it; most of it is scipy's ``sqrtm`` inside
pytorch-fid's FID (~45-85 s per call), not feature extraction. Results and discussion:
docs/metrics.md, "FID parity with pytorch-fid".

``--torch_python`` is an interpreter of a separate virtual environment with torch,
torchvision, pytorch-fid and clean-fid; the project's own interpreter never imports torch.
Set it up once, outside the repository (torchvision must be the build that matches torch):

  python3 -m venv /work/venv_torch
  /work/venv_torch/bin/pip install torch torchvision pytorch-fid clean-fid numpy scipy pillow

The real FID weights cannot be downloaded here, so the stages are:

1. ``fid_parity_torch --stage=torch`` (the venv): builds pytorch-fid's ``InceptionV3([3])``
   -- its own ``fid_inception_v3`` construction (torchvision skeleton + ``FIDInceptionA/C/E_1/E_2``)
   with ``load_state_dict_from_url`` replaced by a function that returns a seeded random
   state dict (He-normal convolutions, randomised batch-norm scale / shift / running
   statistics). PyTorch's default init (what ``init_weights=False`` leaves) shrinks the
   2048-d features to ~1e-8 (max ~5e-7), so that init is only checked on 16 images.
   Saves both state dicts with ``torch.save``, writes the test images (uint8, at 64 and
   299 px), pytorch-fid's features and FIDs, and clean-fid's resizer outputs.
2. ours (the project's interpreter, this file): loads the ``.pth`` with
   ``inception_weights`` (no torch), extracts features with the evaluation path
   (``feature_nets.inception`` + ``stats.FeatureExtractor``), computes FID with
   ``stats.FeatureStats`` + ``frechet.frechet_distance``, compares, and compares
   ``inception.resize_bilinear`` with each clean-fid resizer.
3. ``fid_parity_torch --stage=torch_fid`` (the venv, with ``--cross_fid``): pytorch-fid's
   ``calculate_frechet_distance`` on our features, completing the 2x2 table (features x
   FID code).

Image sets (``--num`` each): faces A = CelebA-HQ images [0, num), faces B = [num, 2 num)
from ``../shared/data/celebahq_200`` (64 px: the 64x64 file, else 2x2 means of the
128x128 file; 299 px: the 256x256 file upsampled by PIL Lanczos), and random shapes
(ellipses and rectangles on noise, numpy seed). Without the shared data, faces A and B
are shapes with other seeds. Results: ``<out>/results.json`` and a printed summary.
"""
import argparse
import json
import os
import subprocess
import time

import numpy as np

from experiments.fid_parity_images import CLEANFID_RESIZERS, DEFAULT_INIT_IMAGES, PAIRS
from experiments.fid_parity_images import RESIZE_SIZES, RESOLUTIONS

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- stage 2: ours (the project's interpreter); stages 1 and 3: fid_parity_torch.py ----
def _compare(ours: np.ndarray, ref: np.ndarray) -> dict:
  diff = np.abs(ours - ref)
  row_rel = np.linalg.norm(ours - ref, axis=1) / np.maximum(np.linalg.norm(ref, axis=1), 1e-30)
  return {"max_abs_diff": float(diff.max()), "max_abs_feature": float(np.abs(ref).max()),
          "mean_abs_feature": float(np.abs(ref).mean()),
          "max_abs_diff_over_max_feature": float(diff.max() / np.abs(ref).max()),
          "max_row_rel_l2": float(row_rel.max())}


def _run_venv(args, stage: str) -> None:
  cmd = [args.torch_python, "-m", "experiments.fid_parity_torch", f"--stage={stage}",
         f"--out={args.out}", f"--num={args.num}", f"--seed={args.seed}",
         f"--batch_size={args.batch_size}", f"--threads={args.threads}"]
  print("+", " ".join(cmd), flush=True)
  # From the repository root, so that the venv finds the experiments package.
  subprocess.run(cmd, check=True, cwd=_REPO_ROOT)


def stage_ours(args) -> None:
  import jax
  import jax.numpy as jnp
  from inr_gan_jax.metrics import feature_nets
  from inr_gan_jax.metrics import frechet
  from inr_gan_jax.metrics import inception
  from inr_gan_jax.metrics import stats as stats_lib

  t0 = time.time()
  if not args.skip_torch:
    _run_venv(args, "torch")
  t_torch = time.time() - t0
  with open(os.path.join(args.out, "torch_results.json")) as f:
    torch_res = json.load(f)
  with np.load(os.path.join(args.out, "images.npz")) as f:
    images = dict(f)
  with np.load(os.path.join(args.out, "torch_features.npz")) as f:
    tfeats = dict(f)

  t1 = time.time()
  net = feature_nets.inception(os.path.join(args.out, "inception_random.pth"))
  ex = stats_lib.FeatureExtractor(net.apply_fn, net.params, batch_size=args.batch_size)
  feats = {}
  for key, x in images.items():
    t = time.time()
    feats[key] = ex(x)
    print(f"[ours] {key}: {x.shape} -> {feats[key].shape} in {time.time() - t:.1f}s", flush=True)
  default = feature_nets.inception(os.path.join(args.out, "inception_default_init.pth"))
  ex_default = stats_lib.FeatureExtractor(default.apply_fn, default.params,
                                          batch_size=args.batch_size)
  feats["default_init_64"] = ex_default(images["faces_a_64"][:DEFAULT_INIT_IMAGES])
  np.savez(os.path.join(args.out, "our_features.npz"), **feats)
  t_ours = time.time() - t1

  def our_fid(a, b):
    sa = stats_lib.FeatureStats(a.shape[1]).update(a)
    sb = stats_lib.FeatureStats(b.shape[1]).update(b)
    return frechet.frechet_distance(sa.mean, sa.cov, sb.mean, sb.cov)

  features = {k: _compare(feats[k], tfeats[k]) for k in feats}
  fid = {}
  t2 = time.time()
  torch_fid_on_ours = {}
  if args.cross_fid:
    _run_venv(args, "torch_fid")
    with open(os.path.join(args.out, "torch_fid_on_ours.json")) as f:
      torch_fid_on_ours = json.load(f)
  for r in RESOLUTIONS:
    for a, b in PAIRS:
      k = f"{a}-{b}_{r}"
      row = {"pytorch_fid(torch features)": torch_res["pytorch_fid_fid_on_torch_features"][k],
             "ours(our features)": our_fid(feats[f"{a}_{r}"], feats[f"{b}_{r}"]),
             "ours(torch features)": our_fid(tfeats[f"{a}_{r}"], tfeats[f"{b}_{r}"]),
             "pytorch_fid(our features)": torch_fid_on_ours.get(k, "not run (--cross_fid)")}
      ref = row["pytorch_fid(torch features)"]
      if isinstance(ref, float):
        row["rel_diff ours vs pytorch_fid"] = abs(row["ours(our features)"] - ref) / abs(ref)
      fid[k] = row

  # Resize: ours (float 0..255 in, no clipping needed: bilinear weights are convex).
  with np.load(os.path.join(args.out, "cleanfid_resized.npz")) as f:
    resized = dict(f)
  resize = {}
  for s in RESIZE_SIZES:
    src = resized[f"src_{s}"].astype(np.float32)[None]
    ours = np.asarray(inception.resize_bilinear(jnp.asarray(src)))[0]
    for name in CLEANFID_RESIZERS:
      resize.setdefault(name, {})[str(s)] = float(np.abs(ours - resized[f"{name}|{s}"]).max())
  matches = [n for n, v in resize.items() if max(v.values()) < 1e-3]

  results = {"info": dict(torch_res["info"], jax=jax.__version__, jax_backend=jax.default_backend(),
                          seconds={"torch_stage": t_torch, "ours": t_ours,
                                   "torch_fid_stage": time.time() - t2,
                                   "total": time.time() - t0}),
             "features": features, "fid": fid,
             "resize_max_abs_diff_0_255": resize, "resize_equal_to": matches}
  with open(os.path.join(args.out, "results.json"), "w") as f:
    json.dump(results, f, indent=1)
  _summary(results)


def parity_figure(out: str, path: str, points: int = 20000, seed: int = 0) -> None:
  """Ours against pytorch-fid's pool features (a sample of all sets' values), and each set's
  distribution of |ours - torch| / max |f|, from the two feature files in ``out``."""
  from inr_gan_jax.utils import plotting
  ours, ref = (np.load(os.path.join(out, f"{k}_features.npz")) for k in ("our", "torch"))
  keys = [k for k in ref.files if k in ours.files]
  x = np.concatenate([ref[k].ravel() for k in keys])
  y = np.concatenate([ours[k].ravel() for k in keys])
  pick = np.random.default_rng(seed).choice(x.size, min(points, x.size), replace=False)
  fig, (a, b) = plotting.plt.subplots(1, 2, figsize=(10, 4))
  a.scatter(x[pick], y[pick], s=2, alpha=0.4)
  lim = [min(x.min(), y.min()), max(x.max(), y.max())]
  a.plot(lim, lim, "k--", lw=0.8, label="y = x")
  a.set(xlabel="pytorch-fid feature", ylabel="ours", title=f"pool3 features, {len(pick)} of "
        f"{x.size} values ({len(keys)} sets)")
  a.legend(loc="upper left")
  for k in keys:
    rel = np.abs(ours[k] - ref[k]).ravel() / max(np.abs(ref[k]).max(), 1e-30)
    b.hist(np.log10(np.maximum(rel, 1e-12)), bins=60, histtype="step", label=k)
  b.set(xlabel="log10 |ours - torch| / max |f| (1e-12 = equal)", ylabel="values",
        title="differences per set")
  b.legend(fontsize=7)
  fig.tight_layout()
  plotting.save(path, fig)


def _summary(res: dict) -> None:
  print("\n== features (2048-d pool3): ours vs pytorch-fid ==")
  print(f"{'set':22s} {'max|f|':>10s} {'mean|f|':>10s} {'max|diff|':>10s} "
        f"{'diff/max|f|':>11s} {'row rel L2':>10s}")
  for k, v in res["features"].items():
    print(f"{k:22s} {v['max_abs_feature']:10.3e} {v['mean_abs_feature']:10.3e} "
          f"{v['max_abs_diff']:10.3e} {v['max_abs_diff_over_max_feature']:11.3e} "
          f"{v['max_row_rel_l2']:10.3e}")
  print("\n== FID ==")
  for k, row in res["fid"].items():
    print(k, json.dumps(row))
  print("\n== resize to 299: max |ours - clean-fid resizer| (0..255 units), by source size ==")
  for name, v in res["resize_max_abs_diff_0_255"].items():
    print(f"{name:36s} " + "  ".join(f"{s}: {d:.2e}" for s, d in v.items()))
  print("ours equals:", res["resize_equal_to"])
  print("seconds:", json.dumps(res["info"]["seconds"]))


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--torch_python", default="/work/venv_torch/bin/python",
                      help="Interpreter of the venv with torch, pytorch-fid and clean-fid.")
  parser.add_argument("--out", default="runs/fid_parity")
  parser.add_argument("--num", type=int, default=64, help="Images per set.")
  parser.add_argument("--seed", type=int, default=0, help="Seed of the random weights.")
  parser.add_argument("--batch_size", type=int, default=16)
  parser.add_argument("--threads", type=int, default=2, help="torch CPU threads.")
  parser.add_argument("--cross_fid", action="store_true",
                      help="Also run pytorch-fid's FID on our features (4 more scipy sqrtm "
                           "calls of 2048x2048, ~1 min each on 2 cores).")
  parser.add_argument("--skip_torch", action="store_true",
                      help="Reuse the torch stage's files already in --out.")
  parser.add_argument("--figure", default="",
                      help="Also draw ours against pytorch-fid's features (PNG).")
  parser.add_argument("--figure_only", action="store_true",
                      help="Only draw --figure from the feature files already in --out.")
  args = parser.parse_args()
  args.out = os.path.abspath(args.out)
  if not args.figure_only:
    stage_ours(args)
  if args.figure:
    parity_figure(args.out, args.figure)


if __name__ == "__main__":
  main()
