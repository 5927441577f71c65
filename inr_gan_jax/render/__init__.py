"""Rendering a trained generator: tiled evaluation, spatial gradients, INR export."""
