"""Segmentation losses named in the seed document, for one-channel logits.

- ``"bce"``: pixel-wise binary cross-entropy;
- ``"dice"``: soft Dice loss, 1 - 2|P∩G| / (|P| + |G|), over the whole batch
  (robust to the foreground being a small part of the image);
- ``"bce+dice"``: their sum (the default);
- ``"iou"``: soft Jaccard loss, 1 - |P∩G| / |P∪G|;
- ``"bce+lovasz"``: cross-entropy plus the Lovász hinge (Berman et al., 2018),
  a convex surrogate of 1 - IoU computed per image, so it optimises the mean
  per-image IoU the model is judged by. Used to fine-tune.
"""

from __future__ import annotations

LOSSES = ("bce", "dice", "bce+dice", "iou", "bce+lovasz")
_SMOOTH = 1.0


def lovasz_hinge(logits, target):
    """Mean over images of the Lovász hinge of (N, 1, H, W) logits against 0/1 targets.

    Pixel errors ``1 - logit * sign`` (sign = +1 for foreground, -1 for
    background) are sorted in decreasing order and weighted by the increments
    of the Jaccard loss along that order: the Lovász extension of 1 - IoU.
    """
    import torch

    losses = []
    for image_logits, image_target in zip(logits.flatten(1), target.flatten(1)):
        signs = 2.0 * image_target - 1.0
        errors = 1.0 - image_logits * signs
        errors_sorted, order = torch.sort(errors, descending=True)
        truth_sorted = image_target[order]
        positives = truth_sorted.sum()
        intersection = positives - truth_sorted.cumsum(0)
        union = positives + (1.0 - truth_sorted).cumsum(0)
        jaccard = 1.0 - intersection / union
        increments = torch.cat([jaccard[:1], jaccard[1:] - jaccard[:-1]])
        losses.append(torch.dot(torch.relu(errors_sorted), increments))
    return torch.stack(losses).mean()


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

    def loss(logits, target, weight=None):
        """``weight``: optional per-pixel weights of the cross-entropy term (same shape as ``target``)."""
        logits = logits.float()
        total = logits.new_zeros(())
        if name in ("bce", "bce+dice", "bce+lovasz"):
            total = total + F.binary_cross_entropy_with_logits(logits, target, weight=weight)
        if name in ("dice", "bce+dice"):
            inter, p, g = soft_overlap(logits, target)
            total = total + 1.0 - (2.0 * inter + _SMOOTH) / (p + g + _SMOOTH)
        if name == "iou":
            inter, p, g = soft_overlap(logits, target)
            total = total + 1.0 - (inter + _SMOOTH) / (p + g - inter + _SMOOTH)
        if name == "bce+lovasz":
            total = total + lovasz_hinge(logits, target)
        return total

    return loss
