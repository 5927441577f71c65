"""Installs inr_gan_jax: `pip install -e ".[test]"`."""
import setuptools

setuptools.setup(
    name="inr_gan_jax",
    version="0.1.0",
    description=("JAX/Flax reimplementation of INR-GAN: adversarial generation "
                 "of continuous images."),
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=setuptools.find_packages(include=["inr_gan_jax", "inr_gan_jax.*"]),
    install_requires=[
        "jax>=0.4.35",
        "jaxlib>=0.4.35",
        "flax>=0.10.0",
        "optax>=0.2.3",
        "orbax-checkpoint>=0.10.0",
        "chex>=0.1.87",
        "tensorflow-datasets>=4.9.6",
        # tfds does not declare it on Python 3.11 (tensorflow/datasets#11212).
        "importlib_resources>=6.0",
        "numpy>=1.26",
        "ml-collections>=0.1.1",
        "absl-py>=2.1.0",
        "pillow>=10.0",
        "matplotlib>=3.8",  # figures: curves with axes and ticks, bars (utils/plotting.py)
        "tensorboardX>=2.6",  # TensorBoard events (needs only numpy, packaging, protobuf)
    ],
    extras_require={
        "test": ["pytest>=8.0", "pytest-xdist>=3.5", "scipy>=1.11",
                 "tensorboard>=2.15"],  # reads the events files back in tests/test_summary.py
    },
)
