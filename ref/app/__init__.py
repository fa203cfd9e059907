"""Application plumbing that spans systems: the demo, the core benchmark, system plug-in lookup."""
