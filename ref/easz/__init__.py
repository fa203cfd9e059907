"""Easz (paper 000): erase-and-squeeze edge codec with transformer reconstruction."""
