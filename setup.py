"""Installs inr_gan_jax: `pip install -e ".[test]"`. Everything is declared in pyproject.toml."""
import setuptools

setuptools.setup()
