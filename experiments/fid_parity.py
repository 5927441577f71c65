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

1. ``--stage=torch`` (the venv): builds pytorch-fid's ``InceptionV3([3])`` -- its own
   ``fid_inception_v3`` construction (torchvision skeleton + ``FIDInceptionA/C/E_1/E_2``)
   with ``load_state_dict_from_url`` replaced by a function that returns a seeded random
   state dict (He-normal convolutions, randomised batch-norm scale / shift / running
   statistics). PyTorch's default init (what ``init_weights=False`` leaves) shrinks the
   2048-d features to ~1e-8 (max ~5e-7), so that init is only checked on 16 images.
   Saves both state dicts with ``torch.save``, writes the test images (uint8, at 64 and
   299 px), pytorch-fid's features and FIDs, and clean-fid's resizer outputs.
2. ``--stage=ours`` (the project's interpreter, run by default): loads the ``.pth`` with
   ``inception_weights`` (no torch), extracts features with the evaluation path
   (``feature_nets.inception`` + ``stats.FeatureExtractor``), computes FID with
   ``stats.FeatureStats`` + ``frechet.frechet_distance``, compares, and compares
   ``inception.resize_bilinear`` with each clean-fid resizer.
3. ``--stage=torch_fid`` (the venv, with ``--cross_fid``): pytorch-fid's
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
import math
import os
import subprocess
import time

import numpy as np

SETS = ("faces_a", "faces_b", "shapes")
PAIRS = (("faces_a", "faces_b"), ("faces_a", "shapes"))
RESOLUTIONS = (64, 299)
RESIZE_SIZES = (64, 128, 256, 512)
# clean-fid resizers compared with ours: name -> make_resizer(library, quantize_after, filter).
# "clean" and "legacy_pytorch" are clean-fid's build_resizer(mode) for those modes.
CLEANFID_RESIZERS = {
    "clean (PIL bicubic)": ("PIL", False, "bicubic"),
    "legacy_pytorch (PyTorch bilinear)": ("PyTorch", False, "bilinear"),
    "PIL bilinear": ("PIL", False, "bilinear"),
    "PIL lanczos": ("PIL", False, "lanczos"),
    "PyTorch bicubic": ("PyTorch", False, "bicubic"),
}
DEFAULT_INIT_IMAGES = 16


def _shared_data_dir() -> str:
  here = os.path.dirname(os.path.abspath(__file__))
  return os.path.join(os.path.dirname(os.path.dirname(here)), "shared", "data", "celebahq_200")


# ---- images (numpy + PIL only: runs in the venv) -----------------------------------
def shapes(n: int, size: int, seed: int) -> np.ndarray:
  """``[n, size, size, 3]`` uint8: 3-6 random ellipses / rectangles on a noisy background."""
  rng = np.random.default_rng(seed)
  yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
  out = np.empty((n, size, size, 3), np.uint8)
  for i in range(n):
    img = rng.uniform(0, 255, 3).astype(np.float32) + rng.normal(0, 20, (size, size, 3))
    for _ in range(rng.integers(3, 7)):
      cy, cx = rng.uniform(0.1, 0.9, 2)
      ry, rx = rng.uniform(0.05, 0.35, 2)
      if rng.random() < 0.5:
        mask = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
      else:
        mask = (np.abs(yy - cy) <= ry) & (np.abs(xx - cx) <= rx)
      img[mask] = rng.uniform(0, 255, 3)
    out[i] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
  return out


def faces(resolution: int, start: int, n: int):
  """CelebA-HQ images ``[start, start + n)`` at ``resolution`` (64 or 299), or None."""
  from PIL import Image
  d = _shared_data_dir()
  if resolution == 64:
    f64, f128 = os.path.join(d, "celebahq200_64x64.npz"), os.path.join(d, "celebahq200_128x128.npz")
    if os.path.isfile(f64):
      return np.load(f64)["images"][start:start + n], "celebahq200_64x64"
    if os.path.isfile(f128):
      x = np.load(f128)["images"][start:start + n].astype(np.float32)
      x = x.reshape(len(x), 64, 2, 64, 2, 3).mean(axis=(2, 4))
      return np.clip(np.rint(x), 0, 255).astype(np.uint8), "celebahq200_128x128, 2x2 means"
    return None
  for src in ("celebahq200_256x256.npz", "celebahq200_128x128.npz"):
    path = os.path.join(d, src)
    if os.path.isfile(path):
      x = np.load(path)["images"][start:start + n]
      up = [np.asarray(Image.fromarray(im).resize((resolution, resolution), Image.LANCZOS))
            for im in x]
      return np.stack(up), f"{src[:-4]}, PIL Lanczos to {resolution}"
  return None


def image_sets(num: int):
  """{f"{set}_{res}": uint8 [num, res, res, 3]} and a description of the sources."""
  out, desc = {}, {}
  for res in RESOLUTIONS:
    for k, (name, start) in enumerate((("faces_a", 0), ("faces_b", num))):
      got = faces(res, start, num) if 2 * num <= 200 else None
      if got is None:
        got = (shapes(num, res, seed=100 + 10 * k + res), "shapes (no shared data)")
      out[f"{name}_{res}"], desc[f"{name}_{res}"] = got
    out[f"shapes_{res}"], desc[f"shapes_{res}"] = shapes(num, res, seed=res), "random shapes"
  return out, desc


# ---- stage 1: pytorch-fid in the venv ------------------------------------------------
def _randomise(net, seed: int) -> None:
  """He-normal convs, batch norm scale U(0.8, 1.2), shift / running mean N(0, 0.1),
  running var U(0.5, 1.5); fc N(0, 0.01). In place, from one seeded generator."""
  import torch
  g = torch.Generator().manual_seed(seed)
  with torch.no_grad():
    for m in net.modules():
      if isinstance(m, torch.nn.Conv2d):
        fan_in = m.weight[0].numel()
        m.weight.copy_(torch.randn(m.weight.shape, generator=g) * math.sqrt(2.0 / fan_in))
      elif isinstance(m, torch.nn.BatchNorm2d):
        m.weight.uniform_(0.8, 1.2, generator=g)
        m.bias.normal_(0.0, 0.1, generator=g)
        m.running_mean.normal_(0.0, 0.1, generator=g)
        m.running_var.uniform_(0.5, 1.5, generator=g)
      elif isinstance(m, torch.nn.Linear):
        m.weight.normal_(0.0, 0.01, generator=g)
        m.bias.zero_()


def _pytorch_fid_net(state_dict):
  """pytorch-fid's InceptionV3([3]) whose fid_inception_v3 loads ``state_dict``, not the URL."""
  from pytorch_fid import inception as pfi
  urls = []

  def fake_loader(url, *args, **kwargs):
    del args, kwargs
    urls.append(url)
    return state_dict

  original = pfi.load_state_dict_from_url
  pfi.load_state_dict_from_url = fake_loader
  try:
    net = pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[2048]])
  finally:
    pfi.load_state_dict_from_url = original
  if urls != [pfi.FID_WEIGHTS_URL]:
    raise RuntimeError(f"fid_inception_v3 did not ask for the weights once: {urls}")
  return net.eval()


def _torch_features(net, images_u8: np.ndarray, batch: int) -> np.ndarray:
  """pytorch-fid's input convention: float in [0, 1], NCHW; its own resize + [-1, 1]."""
  import torch
  out = []
  with torch.no_grad():
    for lo in range(0, len(images_u8), batch):
      x = torch.from_numpy(images_u8[lo:lo + batch]).permute(0, 3, 1, 2).float() / 255.0
      out.append(net(x)[0].squeeze(-1).squeeze(-1).numpy().astype(np.float64))
  return np.concatenate(out)


def _pytorch_fid(a: np.ndarray, b: np.ndarray):
  """pytorch-fid's statistics (np.mean, np.cov) and calculate_frechet_distance; or the error."""
  from pytorch_fid.fid_score import calculate_frechet_distance
  try:
    return float(calculate_frechet_distance(a.mean(0), np.cov(a, rowvar=False),
                                            b.mean(0), np.cov(b, rowvar=False)))
  except ValueError as e:  # its check for a large imaginary part of sqrtm
    return f"ValueError: {e}"


# Where fid_inception_v3's modules sit in InceptionV3([3]).blocks (pytorch-fid 0.3.0).
_BLOCK_LAYOUT = (("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3"),
                 ("Conv2d_3b_1x1", "Conv2d_4a_3x3"),
                 ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c",
                  "Mixed_6d", "Mixed_6e"),
                 ("Mixed_7a", "Mixed_7b", "Mixed_7c"))


def _check_loaded(net, state) -> None:
  """Every non-fc tensor of ``state`` is the one pytorch-fid's net computes with."""
  import torch
  from pytorch_fid import inception as pfi
  got = net.state_dict()
  mapped = {}
  for b, names in enumerate(_BLOCK_LAYOUT):
    for i, name in enumerate(names):
      for k in state:
        if k.startswith(name + "."):
          mapped[k] = got[f"blocks.{b}.{i}." + k[len(name) + 1:]]
  want = [k for k in state if not k.startswith("fc.")]
  assert sorted(mapped) == sorted(want), sorted(set(want) ^ set(mapped))[:5]
  assert all(torch.equal(mapped[k], state[k]) for k in want)
  assert isinstance(net.blocks[2][0], pfi.FIDInceptionA)
  assert isinstance(net.blocks[2][4], pfi.FIDInceptionC)
  assert isinstance(net.blocks[3][1], pfi.FIDInceptionE_1)
  assert isinstance(net.blocks[3][2], pfi.FIDInceptionE_2)


def _resize_sources(face64: np.ndarray) -> dict:
  """One uint8 image per size of RESIZE_SIZES: shared-data faces where there are files."""
  src = {64: face64}
  for s in RESIZE_SIZES[1:]:
    path = os.path.join(_shared_data_dir(), f"celebahq200_{s}x{s}.npz")
    src[s] = np.load(path)["images"][0] if os.path.isfile(path) else shapes(1, s, seed=s)[0]
  return src


def stage_torch(args) -> None:
  import PIL
  import cleanfid
  import pytorch_fid
  import torch
  import torchvision
  from cleanfid import resize as cf_resize
  torch.set_num_threads(args.threads)
  os.makedirs(args.out, exist_ok=True)
  t0 = time.time()
  info = {"torch": torch.__version__, "torchvision": torchvision.__version__,
          "pytorch_fid": pytorch_fid.__version__,
          "clean_fid": getattr(cleanfid, "__version__", None), "pillow": PIL.__version__,
          "numpy": np.__version__, "seed": args.seed, "num": args.num}
  try:
    from importlib import metadata
    info["clean_fid"] = info["clean_fid"] or metadata.version("clean-fid")
  except Exception:  # noqa: BLE001 -- a version string is informational only
    pass

  # The state dicts: fid_inception_v3 has torchvision's inception_v3(1008 classes, no aux)
  # keys and shapes (its FID blocks subclass torchvision's), checked by load_state_dict.
  torch.manual_seed(args.seed)
  skeleton = torchvision.models.inception_v3(num_classes=1008, aux_logits=False, weights=None,
                                             init_weights=False)
  default_state = {k: v.clone() for k, v in skeleton.state_dict().items()}
  _randomise(skeleton, args.seed)
  state = skeleton.state_dict()
  torch.save(state, os.path.join(args.out, "inception_random.pth"))
  torch.save(default_state, os.path.join(args.out, "inception_default_init.pth"))
  net = _pytorch_fid_net(state)
  _check_loaded(net, state)

  images, desc = image_sets(args.num)
  np.savez(os.path.join(args.out, "images.npz"), **images)
  feats, t_feat = {}, time.time()
  for key, x in images.items():
    t = time.time()
    feats[key] = _torch_features(net, x, args.batch_size)
    print(f"[torch] {key}: {x.shape} -> {feats[key].shape} in {time.time() - t:.1f}s", flush=True)
  info["torch_feature_seconds"] = time.time() - t_feat
  fids = {f"{a}-{b}_{r}": _pytorch_fid(feats[f"{a}_{r}"], feats[f"{b}_{r}"])
          for r in RESOLUTIONS for a, b in PAIRS}
  default_net = _pytorch_fid_net(default_state)
  feats["default_init_64"] = _torch_features(
      default_net, images["faces_a_64"][:DEFAULT_INIT_IMAGES], args.batch_size)
  np.savez(os.path.join(args.out, "torch_features.npz"), **feats)

  # clean-fid's resizers on one image per source size (float output in [0, 255]).
  src = _resize_sources(images["faces_a_64"][0])
  resized = {}
  for s in RESIZE_SIZES:
    resized[f"src_{s}"] = src[s]
    for name, (lib, quant, filt) in CLEANFID_RESIZERS.items():
      fn = cf_resize.make_resizer(lib, quant, filt, (299, 299))
      resized[f"{name}|{s}"] = np.asarray(fn(src[s]), np.float32)
  clean = cf_resize.build_resizer("clean")(src[64])
  legacy = cf_resize.build_resizer("legacy_pytorch")(src[64])
  assert np.array_equal(clean, resized["clean (PIL bicubic)|64"])
  assert np.array_equal(legacy, resized["legacy_pytorch (PyTorch bilinear)|64"])
  np.savez(os.path.join(args.out, "cleanfid_resized.npz"), **resized)
  info.update(image_sources=desc, torch_seconds=time.time() - t0)
  with open(os.path.join(args.out, "torch_results.json"), "w") as f:
    json.dump({"info": info, "pytorch_fid_fid_on_torch_features": fids}, f, indent=1)


# ---- stage 3: pytorch-fid's FID on our features (venv) -------------------------------
def stage_torch_fid(args) -> None:
  with np.load(os.path.join(args.out, "our_features.npz")) as f:
    feats = dict(f)
  fids = {f"{a}-{b}_{r}": _pytorch_fid(feats[f"{a}_{r}"], feats[f"{b}_{r}"])
          for r in RESOLUTIONS for a, b in PAIRS}
  with open(os.path.join(args.out, "torch_fid_on_ours.json"), "w") as f:
    json.dump(fids, f, indent=1)


# ---- stage 2: ours (the project's interpreter) ---------------------------------------
def _compare(ours: np.ndarray, ref: np.ndarray) -> dict:
  diff = np.abs(ours - ref)
  row_rel = np.linalg.norm(ours - ref, axis=1) / np.maximum(np.linalg.norm(ref, axis=1), 1e-30)
  return {"max_abs_diff": float(diff.max()), "max_abs_feature": float(np.abs(ref).max()),
          "mean_abs_feature": float(np.abs(ref).mean()),
          "max_abs_diff_over_max_feature": float(diff.max() / np.abs(ref).max()),
          "max_row_rel_l2": float(row_rel.max())}


def _run_venv(args, stage: str) -> None:
  cmd = [args.torch_python, os.path.abspath(__file__), f"--stage={stage}", f"--out={args.out}",
         f"--num={args.num}", f"--seed={args.seed}", f"--batch_size={args.batch_size}",
         f"--threads={args.threads}"]
  print("+", " ".join(cmd), flush=True)
  subprocess.run(cmd, check=True)


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
  parser.add_argument("--stage", default="ours", choices=("ours", "torch", "torch_fid"))
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
  args = parser.parse_args()
  args.out = os.path.abspath(args.out)
  {"ours": stage_ours, "torch": stage_torch, "torch_fid": stage_torch_fid}[args.stage](args)


if __name__ == "__main__":
  main()
