"""Evaluation helpers: test material with exact ground truth, and scoring."""
