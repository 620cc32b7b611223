"""The synthetic demo: published figures and the generator that follows them."""
