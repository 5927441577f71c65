r"""INR-GAN on CelebA-HQ faces at 64x64, sized for a CPU (30-60 minutes).

Run with the 200 faces shipped on the development machines:
  python -m inr_gan_jax.main --config=configs/celebahq64.py --workdir=runs/celebahq64
or on a folder of images:
  python -m inr_gan_jax.main --config=configs/celebahq64.py --workdir=runs/celebahq64 \
      --config.data.source=folder --config.data.path=/path/to/celebahq
Score it (an instance-discrimination feature net of the 200 faces, see
experiments/train_feature_net.py --instance):
  python -m inr_gan_jax.evaluate --workdir=runs/celebahq64 --metrics=coverage2k,fid2k \
      --feature_net=runs/feature_net/celebahq200_instance.msgpack

Model: blocks at 32 and 64 (3 x 128 and 2 x 32 FMM layers, 16 Fourier frequencies), a D of
32-128 channels. 200 images are a small dataset: everything D sees
goes through translation / colour augmentation with ADA's adaptive probability (target
0.6), so D cannot memorise the faces (cutout as well made FD twice as bad). Rates: those of
configs/quickstart.py (hypernetwork 3e-4, shared INR 2e-3, D 1e-3, R1 gamma 1 every 4 steps,
batch 16, EMA half-life 2 kimg); docs/recipe_study_mnist.md.
Cost: see docs/training.md (measured minutes and images per second).
"""
from inr_gan_jax import config_lib


def get_config(arg=None):
  # The CPU recipe of configs/quickstart.py (learning rates, R1 1 every 4 steps, batch 16,
  # EMA half-life 2 kimg) with a 64 px model, a wider D and augmentation.
  c = config_lib.derive(__file__, "quickstart.py")
  c.data.source = "npz"
  c.data.path = "../shared/data/celebahq_200/celebahq200_64x64.npz"
  m = c.model
  m.resolution = 64
  m.block_resolutions = (32, 64)
  m.block_widths = (128, 32)
  m.fourier_scale = 5.0
  c.discriminator.channel_base = 2048
  c.discriminator.channel_max = 128
  t = c.train
  t.num_steps = 6000
  t.augment = "translation,color"   # cutout doubled FD at 48 kimg (546 vs 290; docs/training.md)
  t.ada_target = 0.6
  t.ada_kimg = 20.0
  t.log_every = 100
  t.sample_every = 1000
  return config_lib.finalize(c, arg)
