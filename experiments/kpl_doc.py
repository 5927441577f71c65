"""The Markdown report of ``experiments/kpl.py`` (docs/kpl.md) from its result record."""
import os

import numpy as np


def _fmt(x, digits=5):
  return "n/a" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def write_doc(path, r):
  t, det, spaces = r["table"], r["detections"], list(r["table"])
  names = {"z": "Z", "w": "W", "w_of_z": "W (hidden code of the Z projection)"}
  lines = [
      "# Keypoints Prediction Loss (KPL, Table 2)",
      "",
      "Does the generator's latent space encode face geometry linearly? (The paper's "
      "Table 2 and Fig. 4, Skorokhodov et al., *Adversarial Generation of Continuous Images*, "
      "CVPR 2021.) Written by `experiments/kpl.py`; the definitions are in "
      "`inr_gan_jax/metrics/kpl.py`.",
      "",
      "```",
      r["command"],
      "```",
      "",
  ] + ([f"(This page was rewritten from that run's saved latents, keypoints and projections "
        f"with `--reuse={r['reused']}`; timings are the original run's.)", ""]
       if r.get("reused") else []) + [
      f"Generator: `{r['checkpoint']}` (step {r['step']}, {r['resolution']} px). "
      f"Machine: {r['machine']}; total {r['seconds']['total']:.0f} s.",
      "",
      "## Table 2 (this reproduction)",
      "",
      "KPL = mean squared error between the keypoints a linear map predicts from a "
      "latent and the keypoints dlib detects, both in [0, 1] of the image side "
      f"(`sqrt(KPL) * {r['resolution']}` is the RMS error in pixels at {r['resolution']} px). "
      "Lower is better; the permuted baseline is the same regression fitted on latents "
      "randomly permuted against their keypoints.",
      "",
      f"| latent space | KPL, real faces (projected, M = {r['num_test']}) | "
      "permuted baseline, real faces | "
      f"KPL, held-out generated (N = {t[spaces[0]]['num_heldout']}) | "
      "permuted, held-out generated | "
      f"in-sample fit (N = {t[spaces[0]]['num_train']}) |",
      "|---|---|---|---|---|---|",
  ]
  for s in spaces:
    row = t[s]
    lines.append(f"| {names.get(s, s)} (dim {row['dim']}) | **{_fmt(row['test'])}** | "
                 f"{_fmt(row['permuted_test'])} | {_fmt(row['heldout'])} | "
                 f"{_fmt(row['permuted_heldout'])} | {_fmt(row['train'])} |")
  mean_face = t[spaces[0]]["mean_face_test"]
  lines += [
      "",
      "The last row's generated-set columns equal W's (the same fit); only its real-face "
      "latents differ (`hidden` of the Z projections instead of the W projections).",
      "",
      f"Predicting the mean generated face for every real face gives KPL {_fmt(mean_face)} "
      "(what the permuted fit approaches for latents inside the sampled distribution).",
      "",
      "How far the projections themselves are from the real faces (the two error sources "
      "of the real-face KPL are the regression and the projection):",
      "",
      "| latent space | projection RMSE (pixels in [-1, 1]) | KPL: detected on the render vs "
      "on the real face | KPL: predicted vs detected on the render | latent distance from "
      "the samples' mean (relative) |",
      "|---|---|---|---|---|",
  ]
  for s in spaces:
    p = r["projection"].get(s if s != "w_of_z" else "z")
    if p is None:
      continue
    lines.append(f"| {names.get(s, s)} | {_fmt(p['rmse_mean'], 3)} | "
                 f"{_fmt(p['render_vs_real'])} (on {p['render_detected']} renders) | "
                 f"{_fmt(t[s].get('test_vs_render'))} | "
                 f"{_fmt(r['latent_distance'].get(s), 2)} |")
  sp = r["spread"]
  lines += [
      "",
      "Reference points: the keypoint spread (KPL of predicting each set's own mean face) is "
      f"{_fmt(sp['generated_heldout'])} on the held-out generated faces and {_fmt(sp['real'])} "
      "on the real faces; no constant predictor does better on the real faces than the "
      "latter.",
      "",
      "Ridge penalty (robustness; the table above uses ridge = "
      f"{r['ridge']}): KPL on held-out generated / real faces.",
      "",
      "| ridge | Z held-out | Z real | W held-out | W real |",
      "|---|---|---|---|---|",
  ]
  for lam, row in r["ridge_sweep"].items():
    lines.append(f"| {float(lam):g} | {_fmt(row['z']['heldout'])} | {_fmt(row['z']['test'])} | "
                 f"{_fmt(row['w']['heldout'])} | {_fmt(row['w']['test'])} |")
  g, rd = det["generated"], det["real"]
  lines += [
      "",
      "## Protocol and what was measured",
      "",
      f"* **Generated set**: N = {g['num']} samples (z ~ N(0, I), untruncated), rendered from "
      f"w at {r['resolution']} px, upsampled (bicubic) to {r['detect_size']} px for dlib. "
      f"Shape-predictor box: `{r['box']}` (dlib's frontal face detector; the largest face). "
      f"**Rejected: {g['rejected']} of {g['num']}** ({100 * g['rejected'] / max(g['num'], 1):.1f}%"
      f", no face found by the detector); {g['several_faces']} images had more than one "
      f"detection (the largest was used). Kept faces were split {1 - r['holdout']:.0%} / "
      f"{r['holdout']:.0%} into the fit and the held-out generated set (seed {r['seed']}).",
      f"* **Regression**: least squares with a bias, ridge = {r['ridge']} "
      "(0 = `numpy.linalg.lstsq`), one 136-output map per latent space.",
      f"* **Real faces**: {rd['num']} faces of `{r['real_data']}` from index {r['real_start']}; "
      f"dlib rejected {rd['rejected']}, so M = {r['num_test']} faces are scored. The generator "
      "was trained on all 200 of these faces, so they are not unseen by the generator; they "
      "are held out only in the sense that the regression never sees them (it is fitted on "
      "generated samples alone).",
      f"* **Projection**: `inr_gan_jax.fit.project.project` (the `fit --mode=project` "
      f"optimiser) with {r['project_steps']} Adam steps and {r['project_starts']} starts per "
      "face (the CLI default is 2000 steps and 4 starts; fewer here to fit the CPU budget), "
      "lr 0.05, scales 1, 2, 4; w starts at the checkpoint's w_avg. The `W (hidden code of "
      "the Z projection)` row maps the z projections through `hidden`, which separates the "
      "space's linearity from how well each space can be projected into.",
      "* **Keypoints** are normalised to [0, 1] with pixel centres ((i + 0.5) / S), KPL is "
      "the mean over faces, the 68 points and both coordinates.",
      "",
      "Seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in r["seconds"].items()) + "."
      + (f" {r['note']}" if r.get("note") else ""),
      "",
      "## Figure (Fig. 4-like)",
      "",
      f"![KPL on real faces]({os.path.relpath(r['figure'], os.path.dirname(path) or '.')})",
      "",
      "Real faces (upsampled to 256 px) with the keypoints dlib detects (green) and those the "
      "linear maps predict from each face's projected latent (W red, Z blue), then the "
      "projections' renders. Titles give each face's KPL.",
      "",
      "## Reading it",
      "",
  ]
  lines += r["reading"]
  lines += [
      "",
      "The paper's Table 2 values were not available to this reproduction (no copy of the "
      "paper's text could be consulted), so none are quoted here; compare the ordering "
      "(W vs Z vs permuted), not the magnitudes: this generator is a 48 kimg, 64 px model "
      "trained on 200 faces, not the paper's FFHQ generators.",
      "",
  ]
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  with open(path, "w") as f:
    f.write("\n".join(lines))


def reading(r):
  """Data-driven sentences for the report (so a rerun cannot contradict its own text)."""
  t, proj, sp = r["table"], r["projection"], r["spread"]
  out = []
  if "z" not in t or "w" not in t:
    return out
  z, w = t["z"], t["w"]
  frac = lambda row: 1.0 - row["heldout"] / row["permuted_heldout"]  # noqa: E731
  out.append(
      f"* **Generated faces (exact latents)**: the linear map from W explains {frac(w):.0%} of "
      f"the keypoint variance of held-out samples (KPL {_fmt(w['heldout'])} vs permuted "
      f"{_fmt(w['permuted_heldout'])}), the map from Z {frac(z):.0%} "
      f"({_fmt(z['heldout'])} vs {_fmt(z['permuted_heldout'])}). "
      + ("W encodes face geometry far more linearly than Z, the paper's qualitative finding."
         if w["heldout"] < z["heldout"] else "Z is at least as linear as W here."))
  for s in ("z", "w"):
    ratio = t[s]["test"] / t[s]["permuted_test"]
    out.append(f"* **Real faces, {s.upper()}**: KPL {_fmt(t[s]['test'])}, {ratio:.2f}x the "
               f"permuted baseline ({_fmt(t[s]['permuted_test'])}); "
               + ("the linear geometry carries over to projected real faces."
                  if ratio < 0.8 else "it does not carry over to projected real faces."))
  worst = max(proj[s]["render_vs_real"] for s in ("z", "w"))
  best = min(proj[s]["render_vs_real"] for s in ("z", "w"))
  if best >= 0.8 * sp["real"]:
    out.append(
        f"* Why: the projections do not reproduce the real faces' geometry. dlib's keypoints "
        f"on the projections' renders are {_fmt(best)}-{_fmt(worst)} from those on the real "
        f"faces, no closer than the real faces' own spread ({_fmt(sp['real'])}). A map fitted "
        "on generated samples predicts at best the keypoints of the face a latent renders, "
        "so here it is not expected to beat the mean face. The projected latents also lie "
        "outside the sampled distribution (the latent-distance column: 1 = as far from the "
        "samples' mean as a typical sample), where the maps extrapolate: the W map misses even "
        f"the W projections' own renders ({_fmt(t['w'].get('test_vs_render'))}, against "
        f"{_fmt(w['heldout'])} on held-out samples), and ridge, which shrinks predictions "
        "toward the mean face, lowers the real-face KPL (see the sweep). The real-face columns "
        "measure this generator's projections (48 kimg, 200 training faces, projection RMSE "
        f"{proj['w']['rmse_mean']:.2f} in W, {proj['z']['rmse_mean']:.2f} in Z), not its "
        "latent geometry.")
  else:
    out.append(f"* The projections keep the geometry (render vs real {_fmt(best)}, real spread "
               f"{_fmt(sp['real'])}), so the real-face KPL is a test of the latents' linearity.")
  if sp["generated_heldout"] > 1.5 * sp["real"]:
    out.append(
        f"* The generated faces' keypoints spread {sp['generated_heldout'] / sp['real']:.1f}x "
        "more than the real faces': this generator's samples vary (and fail) in geometry more "
        "than CelebA-HQ does, and some detections on them are poor.")
  return out
