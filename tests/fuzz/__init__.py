"""Fuzz harness for every system's container decoder (docs/reliability.md).

* ``targets``  -- one registration per system: seed containers and the conformance
                  classifier of a changed stream (adding a system is one ``register`` call);
* ``mutate``   -- the seeded mutator: raw and CRC-recomputed byte mutations, semantic
                  header / section edits re-packed canonically;
* ``campaign`` -- runs cases in a pool of worker processes, each under RLIMIT_AS (memory
                  cap) with a per-case wall-clock timeout enforced by the parent, and
                  summarises exit codes, hangs, over-cap allocations and silent garbage.

``tests/test_fuzz.py`` runs a few thousand cases; ``pytest -m slow`` runs 100,000;
``python -m tests.fuzz.campaign --cases 100000 --out DIR`` is the stand-alone campaign.
"""
