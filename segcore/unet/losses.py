"""Segmentation losses named in the seed document, for one-channel logits.

- ``"bce"``: pixel-wise binary cross-entropy;
- ``"dice"``: soft Dice loss, 1 - 2|P∩G| / (|P| + |G|), over the whole batch
  (robust to the foreground being a small part of the image);
- ``"bce+dice"``: their sum (the default);
- ``"iou"``: soft Jaccard loss, 1 - |P∩G| / |P∪G|.
"""

from __future__ import annotations

LOSSES = ("bce", "dice", "bce+dice", "iou")
_SMOOTH = 1.0


def make_loss(name: str):
    """A callable ``loss(logits, target) -> scalar tensor`` for ``name`` in :data:`LOSSES`."""
    import torch
    import torch.nn.functional as F

    from ..errors import InvalidParameterError

    if name not in LOSSES:
        raise InvalidParameterError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")

    def soft_overlap(logits, target):
        probs = torch.sigmoid(logits)
        intersection = (probs * target).sum()
        return intersection, probs.sum(), target.sum()

    def loss(logits, target):
        logits = logits.float()
        total = logits.new_zeros(())
        if name in ("bce", "bce+dice"):
            total = total + F.binary_cross_entropy_with_logits(logits, target)
        if name in ("dice", "bce+dice"):
            inter, p, g = soft_overlap(logits, target)
            total = total + 1.0 - (2.0 * inter + _SMOOTH) / (p + g + _SMOOTH)
        if name == "iou":
            inter, p, g = soft_overlap(logits, target)
            total = total + 1.0 - (inter + _SMOOTH) / (p + g - inter + _SMOOTH)
        return total

    return loss
