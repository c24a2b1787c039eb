"""The U-Net method: model loading, inference and training (PyTorch, lazy).

Importing this package does not import torch; the submodules that need it
(:mod:`.model`, :mod:`.inference`, :mod:`.train`) import it themselves.
"""
