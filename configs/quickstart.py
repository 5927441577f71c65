r"""Quickstart: a small INR-GAN on the embedded shapes dataset at 32x32 (no download).

Run (the README's first command):
  python -m inr_gan_jax.main --config=configs/quickstart.py --workdir=runs/quickstart

Expected cost: ~10 minutes on a 2-core laptop CPU; samples in
runs/quickstart/samples/ show single coloured shapes on plain backgrounds.
The model keeps INR-GAN's structure (hypernetwork -> FMM multi-scale INR with
Fourier features; blocks at 16 and 32) at a width a CPU can train, and uses
larger learning rates than the paper so that it learns within minutes.
"""
from inr_gan_jax import config_lib


def get_config(arg=None):
  c = config_lib.dataset_config(
      data_source="shapes", data_name="",
      model=config_lib.model_config(
          resolution=32, latent_dim=128, hyper_width=256, block_resolutions=(16, 32),
          block_widths=(128, 64), block_depths=(3, 2), num_fourier=16, fmm_rank=10,
          # At 32 px the paper's scale 10 gives stripe textures the D rejects at once; with 3
          # the Fourier features are smooth over the image and shapes appear within ~500 steps.
          fourier_scale=3.0))
  # A D of 32-64 channels: at full width D (not the INR) would dominate a CPU step.
  c.discriminator.channel_base = 1024
  c.discriminator.channel_max = 64
  t = c.train
  t.num_steps = 2700    # 3000 steps took 10m50s on the 2-core CPU (78 img/s)
  t.batch_size = 16
  t.r1_interval = 4     # lazy R1 (StyleGAN2): the double backward is the costliest part
  t.lr_hyper = 3e-4
  t.lr_inr = 2e-3
  t.lr_disc = 1e-3
  t.r1_gamma = 1.0
  t.ema_kimg = 2.0
  t.log_every = 50
  t.sample_every = 500
  c.checkpoint.every_steps = 1000
  return config_lib.finalize(c, arg)
