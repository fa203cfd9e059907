"""Inputs: image I/O, the training/evaluation data policy, the photo corpus, and the bundled demo image."""
