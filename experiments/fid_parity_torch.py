r"""The torch side of ``experiments/fid_parity.py``: run by it in the venv, never imported by the project.

  <venv>/bin/python -m experiments.fid_parity_torch --stage=torch --out=runs/fid_parity
  <venv>/bin/python -m experiments.fid_parity_torch --stage=torch_fid --out=runs/fid_parity

``torch``: pytorch-fid's ``InceptionV3([3])`` with a seeded random state dict in place of the
download, its features and FIDs on the image sets, and clean-fid's resizer outputs.
``torch_fid``: pytorch-fid's ``calculate_frechet_distance`` on our features. See
``experiments/fid_parity.py`` for the whole procedure.
"""
import argparse
import json
import math
import os
import time

import numpy as np

from experiments.fid_parity_images import (CLEANFID_RESIZERS, DEFAULT_INIT_IMAGES, PAIRS,
                                           RESIZE_SIZES, RESOLUTIONS, image_sets, resize_sources)


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
  src = resize_sources(images["faces_a_64"][0])
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


def stage_torch_fid(args) -> None:
  with np.load(os.path.join(args.out, "our_features.npz")) as f:
    feats = dict(f)
  fids = {f"{a}-{b}_{r}": _pytorch_fid(feats[f"{a}_{r}"], feats[f"{b}_{r}"])
          for r in RESOLUTIONS for a, b in PAIRS}
  with open(os.path.join(args.out, "torch_fid_on_ours.json"), "w") as f:
    json.dump(fids, f, indent=1)


def parse_args(argv=None):
  """The venv stages' flags (``fid_parity.py`` passes its own values on)."""
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--stage", required=True, choices=("torch", "torch_fid"))
  parser.add_argument("--out", required=True)
  parser.add_argument("--num", type=int, default=64)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--batch_size", type=int, default=16)
  parser.add_argument("--threads", type=int, default=2)
  return parser.parse_args(argv)


if __name__ == "__main__":
  _args = parse_args()
  {"torch": stage_torch, "torch_fid": stage_torch_fid}[_args.stage](_args)
