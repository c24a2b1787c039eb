"""Placeholder; being written."""
def to_instances(mask, connectivity=8):
    raise NotImplementedError
