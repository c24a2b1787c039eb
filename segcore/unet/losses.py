"""Segmentation losses for one-channel logits, from ``segmentation_models_pytorch.losses``.

- ``"bce"``: pixel-wise binary cross-entropy (every pixel counts alike, so
  with small objects the background dominates it);
- ``"dice"``: soft Dice loss, 1 - 2|P∩G| / (|P| + |G|) over the batch: only
  the overlap with the foreground counts, so it copes with class imbalance;
- ``"bce+dice"``: their sum (the default);
- ``"focal"``: cross-entropy down-weighted on pixels already right
  (Lin et al., 2017), so the hard, rare pixels count more;
- ``"iou"``: soft Jaccard loss, 1 - |P∩G| / |P∪G|;
- ``"lovasz"``: the Lovász hinge (Berman et al., 2018), a convex surrogate of
  1 - IoU computed per image, so it optimises the mean per-image IoU;
- ``"bce+lovasz"``: cross-entropy plus the Lovász hinge (used to fine-tune).

Per-pixel weights (the U-Net paper's border weights) multiply the
cross-entropy term only; the region losses have no per-pixel form.
"""

from __future__ import annotations

LOSSES = ("bce", "dice", "bce+dice", "focal", "iou", "lovasz", "bce+lovasz")


def make_loss(name: str):
    """A callable ``loss(logits, target, weight=None) -> scalar tensor`` for ``name`` in :data:`LOSSES`."""
    from segmentation_models_pytorch import losses as smp_losses

    from ..errors import InvalidParameterError

    if name not in LOSSES:
        raise InvalidParameterError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    parts = name.split("+")
    bce = smp_losses.SoftBCEWithLogitsLoss(reduction="none") if "bce" in parts else None
    region = {
        "dice": lambda: smp_losses.DiceLoss(mode="binary"),
        "focal": lambda: smp_losses.FocalLoss(mode="binary"),
        "iou": lambda: smp_losses.JaccardLoss(mode="binary"),
        "lovasz": lambda: smp_losses.LovaszLoss(mode="binary", per_image=True),
    }
    others = [region[part]() for part in parts if part != "bce"]

    def loss(logits, target, weight=None):
        """``weight``: optional per-pixel weights of the cross-entropy term (same shape as ``target``)."""
        logits = logits.float()
        total = logits.new_zeros(())
        if bce is not None:
            pixels = bce(logits, target)
            total = total + (pixels if weight is None else pixels * weight).mean()
        for term in others:
            total = total + term(logits, target)
        return total

    return loss
