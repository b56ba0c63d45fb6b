"""Regulatory reference data: FDA product codes and the regulations they belong to."""
