"""Checkpoints, read by training (resume) and by inference (sample, evaluate, fit)."""
