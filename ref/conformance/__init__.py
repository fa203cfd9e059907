"""Conformance machinery: golden vectors (definition, storage, verify, regen, conform) and the spec trace."""
