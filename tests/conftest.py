"""Shared pytest configuration."""

import os

# Keep the default run light on a 2-core CI machine.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_enable_fast_math=false --xla_force_host_platform_device_count=1")

import ref  # noqa: E402,F401  (pins the numerical environment before jax is imported)
