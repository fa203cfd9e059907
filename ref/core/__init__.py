"""Shared math for all systems: coding, tables, container, PRNG, metrics, registry."""
