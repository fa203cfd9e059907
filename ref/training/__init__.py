"""Training-loop plumbing shared by the systems: checkpoint/resume (checkpoint.py), progress
lines (progress.py), data parallelism over every visible JAX device (parallel.py) and the
loop that ties them together (loop.py).  See docs/data.md "Training"."""
