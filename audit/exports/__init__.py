"""Data leaving for researchers: the exporters and the codebook."""
