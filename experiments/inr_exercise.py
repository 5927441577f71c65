r"""The INR exercise (issue 6): fitting modes 1-7 end to end, written up in docs/inr_exercise.md.

  python -m experiments.inr_exercise            # about 30 min on a 2-core CPU
  python -m experiments.inr_exercise --quick    # a few minutes: tiny sizes, same pipeline

Runs, through ``python -m inr_gan_jax.fit``'s entry point:

1. ``single``: one 256x256 image, Fourier-feature ReLU MLP and SIREN, until 30 dB;
   plus one 48x48 image with the set's 1x network (what "1x" can hold);
2-5. ``memorize``: one MLP for N images (index coordinate vs binary code, widths
   1x..10x of the 1x network), fitted at 48x48 (downsampled from 256) with 10% of
   every image's pixels held out, rendered at 256x256 against bicubic, and
   interpolated between the most similar and most dissimilar pairs;
6. ``autodecoder``: learned latents + the core's FMM hypernetwork + INR on the same set;
7. ``project``: a real digit into the trained MNIST generator (``--checkpoint``), if present.

Figures go to ``docs/figures/inr_exercise/``, numbers to its ``*.json``.
"""
import argparse
import json
import os
import shutil
import time

import numpy as np

from experiments import inr_exercise_doc
from inr_gan_jax.fit import __main__ as fit_cli
from inr_gan_jax.fit import data as data_lib
from inr_gan_jax.fit import objectives

PRESETS = {
    # Sized so the whole run takes about 30 minutes of this 2-core CPU. Fourier scales
    # follow the fitting resolution: 10 at 256 px, 2.5 at 48 px (a larger scale fits the
    # training pixels and leaves noise between them, which the held-out pixels expose).
    "full": dict(
        single=["--size=256", "--arch=ffn,siren", "--steps=1500", "--eval_every=25",
                "--width=256", "--depth=4", "--num_fourier=128", "--fourier_scale=10",
                "--pixels_per_image=16384", "--target_psnr=30"],
        base=["--size=48", "--upsample_to=256", "--arch=ffn", "--steps=1000", "--eval_every=100",
              "--width=32", "--depth=4", "--num_fourier=32", "--fourier_scale=2.5", "--lr=1e-3",
              "--target_psnr=0"],
        set=["--num_images=100", "--size=48", "--upsample_to=256", "--upsample_images=8",
             "--width=32", "--depth=4", "--num_fourier=32", "--fourier_scale=2.5",
             "--images_per_step=8", "--pixels_per_image=1024", "--steps=2000",
             "--eval_every=250", "--lr=1e-3"],
        # (code, width multipliers, extra flags): the index as a raw input, the index as a
        # third Fourier-encoded coordinate (frequency std N/4), and the binary code.
        memorize=(("index", "1,10", []), ("index", "1,3,10", ["--code_fourier_scale=25"]),
                  ("binary", "1,10", [])),
        ad_model=["--width=32", "--latent_dim=64", "--hyper_width=256", "--ad_num_fourier=32",
                  "--ad_fourier_scale=2.5"],
        # The same steps as the MLPs, then about the 10x MLPs' training seconds.
        ad=(("autodecoder", []), ("autodecoder_long", ["--steps=20000", "--eval_every=2000"])),
        project=["--steps=300", "--eval_every=50", "--num_starts=4", "--space=w"]),
    "quick": dict(
        single=["--size=64", "--arch=ffn,siren", "--steps=300", "--eval_every=25",
                "--width=128", "--depth=3", "--num_fourier=128", "--fourier_scale=10",
                "--target_psnr=30"],
        base=["--size=32", "--upsample_to=128", "--arch=ffn", "--steps=200", "--eval_every=50",
              "--width=32", "--depth=3", "--num_fourier=32", "--fourier_scale=2", "--lr=1e-3",
              "--target_psnr=0"],
        set=["--num_images=8", "--size=32", "--upsample_to=128", "--upsample_images=4",
             "--width=32", "--depth=3", "--num_fourier=32", "--fourier_scale=2",
             "--images_per_step=8", "--pixels_per_image=512", "--steps=300",
             "--eval_every=100", "--lr=1e-3"],
        memorize=(("index", "1", []), ("index", "1,4", ["--code_fourier_scale=2"]),
                  ("binary", "1", [])),
        ad_model=["--width=32", "--latent_dim=32", "--hyper_width=128", "--ad_num_fourier=16",
                  "--ad_fourier_scale=2"],
        ad=(("autodecoder", []), ("autodecoder_long", ["--steps=900", "--eval_every=300"])),
        project=["--steps=60", "--eval_every=20", "--num_starts=2", "--space=w"]),
}


def run_fit(argv, out):
  """One ``python -m inr_gan_jax.fit`` call; returns its results.json and wall seconds."""
  t0 = time.perf_counter()
  fit_cli.main([*argv, f"--out={out}"])
  with open(os.path.join(out, "results.json")) as f:
    return json.load(f), time.perf_counter() - t0


PHASES = ("single", "base", "memorize", "autodecoder", "project")


def mean_image_psnr(d256: str, num: int, size: int) -> float:
  """Mean PSNR of the set's average image against each image: what a model that ignores
  the image code scores (the collapse floor)."""
  imgs = data_lib.to_float(data_lib.resize(data_lib.load_images(d256, num, 256), size))
  mean = imgs.mean(axis=0, keepdims=True)
  return float(np.mean(objectives.psnr(np.broadcast_to(mean, imgs.shape), imgs,
                                       axis=(1, 2, 3))))


def run_all(args):
  """Runs the requested phases; returns (and saves) the summary the doc is written from.

  A subset of ``--phases`` updates an earlier run's summary.json in place.
  """
  preset = "quick" if args.quick else "full"
  cfg, fig_dir = PRESETS[preset], args.figures
  phases = args.phases.split(",")
  bad = sorted(set(phases) - set(PHASES))
  if bad:
    raise ValueError(f"unknown phases {bad}; choose from {PHASES}")
  d256 = os.path.join(args.data_dir, "celebahq200_256x256.npz")
  summary_path = os.path.join(fig_dir, "summary.json")
  if set(phases) == set(PHASES):
    if os.path.exists(fig_dir):
      shutil.rmtree(fig_dir)
    summary = dict(preset=preset, times={}, memorize_rows={}, ad_rows={}, project=None)
  else:
    if not os.path.exists(summary_path):
      raise FileNotFoundError(f"--phases={args.phases} updates an earlier run, but there is no "
                              f"{summary_path}; run all phases first")
    with open(summary_path) as f:
      summary = json.load(f)
    if summary["preset"] != preset:
      raise ValueError(f"{summary_path} is from preset {summary['preset']!r}, not {preset!r}")
  times = summary["times"]
  t_all = time.perf_counter()
  if "single" in phases:
    summary["single"], times["single"] = run_fit(
        ["--mode=single", f"--data={d256}", *cfg["single"]], f"{fig_dir}/single")
  if "base" in phases:
    summary["base"], times["base"] = run_fit(
        ["--mode=single", f"--hires_data={d256}", *cfg["base"]], f"{fig_dir}/single_1x")
  common = [f"--hires_data={d256}", *cfg["set"]]
  if "memorize" in phases:
    summary["memorize_rows"] = {}
    for i, (code, widths, extra) in enumerate(cfg["memorize"]):
      res, times[f"memorize_{i}_{code}"] = run_fit(
          ["--mode=memorize", f"--code={code}", f"--width_mult={widths}", *common, *extra],
          fig_dir)
      os.replace(f"{fig_dir}/results.json", f"{fig_dir}/memorize_{i}_{code}.json")
      summary["memorize_rows"].update({t: r for t, r in res.items() if t != "mode"})
  if "autodecoder" in phases:
    summary["ad_rows"] = {}
    for name, extra in cfg["ad"]:
      res, times[name] = run_fit(
          ["--mode=autodecoder", f"--name={name}", *common, *cfg["ad_model"], *extra], fig_dir)
      os.replace(f"{fig_dir}/results.json", f"{fig_dir}/{name}.json")
      summary["ad_rows"][name] = res[name]
  if "project" in phases and os.path.isdir(args.checkpoint):
    summary["project"], times["project"] = run_fit(
        ["--mode=project", f"--checkpoint={args.checkpoint}", f"--data={args.project_data}",
         f"--image_index={args.project_index}", *cfg["project"]], f"{fig_dir}/project")
    summary.update(checkpoint=args.checkpoint, project_index=args.project_index)
  any_row = next(iter({**summary["memorize_rows"], **summary["ad_rows"]}.values()))
  summary["mean_image_psnr"] = mean_image_psnr(d256, any_row["num_images"], any_row["size"])
  times["total"] = sum(v for k, v in times.items() if k != "total")
  with open(summary_path, "w") as f:
    json.dump(summary, f, indent=1)
  print(f"phases {phases}: {time.perf_counter() - t_all:.0f} s")
  return summary


def main():
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--quick", action="store_true")
  p.add_argument("--phases", default=",".join(PHASES),
                 help="comma list of phases to (re)run; a subset updates the last summary.json")
  p.add_argument("--doc_only", action="store_true",
                 help="rewrite the doc from an earlier run's --figures/summary.json")
  p.add_argument("--data_dir", default="../shared/data/celebahq_200")
  p.add_argument("--checkpoint", default="runs/mnist", help="trained MNIST run for mode 7")
  p.add_argument("--project_data", default="../shared/data/mnist_test_10k_28x28.npz")
  p.add_argument("--project_index", type=int, default=7)
  p.add_argument("--figures", default="docs/figures/inr_exercise")
  p.add_argument("--doc", default="docs/inr_exercise.md")
  args = p.parse_args()
  if args.doc_only:
    with open(os.path.join(args.figures, "summary.json")) as f:
      summary = json.load(f)
  else:
    summary = run_all(args)
  inr_exercise_doc.write_doc(summary, args.figures, args.doc)


if __name__ == "__main__":
  main()
