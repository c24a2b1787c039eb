"""Placeholder; being written."""
MAX_PIXELS = 0
def load_image(source): raise NotImplementedError
def load_mask(source, shape=None): raise NotImplementedError
