"""Integer tables shipped with codecref (core_tables.safetensors; see scripts/make_core_tables.py)."""
