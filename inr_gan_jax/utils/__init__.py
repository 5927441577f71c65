"""Logging (TensorBoard events), plots, image helpers, shared CLI flag tables."""
