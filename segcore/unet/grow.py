"""Start a wider U-Net decoder from a trained narrower one without changing what it computes.

The encoder and every trained channel are copied; each new decoder channel gets the fresh
network's random incoming weights and zero outgoing weights, so the grown network's output
equals the old one's at the first step, and the new channels learn from there (Net2WiderNet,
Chen et al. 2016, with zero instead of split outgoing weights). smp's ``Unet`` concatenates
``[upsampled decoder features, encoder skip]`` before each block, which fixes where the new
input channels sit.
"""

from __future__ import annotations

import re

from ..errors import InvalidParameterError

_BLOCK_CONV = re.compile(r"decoder\.blocks\.(\d+)\.(conv1|conv2)\.0\.weight$")
_HEAD = "segmentation_head.0.weight"


def decoder_widths(state: dict) -> list[int]:
    """The output width of each decoder block in a smp ``Unet`` state dict."""
    widths, block = [], 0
    while f"decoder.blocks.{block}.conv2.0.weight" in state:
        widths.append(int(state[f"decoder.blocks.{block}.conv2.0.weight"].shape[0]))
        block += 1
    return widths


def _input_split(key: str, old_widths: list[int], new_widths: list[int], old_in: int) -> tuple[int, int]:
    """(old, new) width of the decoder features at the front of a conv's input; the rest is unchanged."""
    if key == _HEAD:
        return old_widths[-1], new_widths[-1]
    block, conv = _BLOCK_CONV.match(key).groups()
    block = int(block)
    if conv == "conv2":
        return old_widths[block], new_widths[block]
    if block == 0:  # the encoder's deepest features: the encoder is not widened
        return old_in, old_in
    return old_widths[block - 1], new_widths[block - 1]


def grow_decoder(network, state: dict) -> list[int]:
    """Load ``state`` (a narrower decoder, same encoder) into ``network``; returns the old widths.

    Raises :class:`InvalidParameterError` when the two differ in anything but decoder widths,
    or when a decoder block would get narrower.
    """
    own = network.state_dict()
    old_widths, new_widths = decoder_widths(state), decoder_widths(own)
    if len(old_widths) != len(new_widths) or set(state) != set(own):
        raise InvalidParameterError("the saved model has another encoder or depth; only decoder widths may differ")
    if any(new < old for old, new in zip(old_widths, new_widths)):
        raise InvalidParameterError(f"decoder widths {new_widths} are narrower than the saved {old_widths}")
    grown = {}
    for key, target in own.items():
        source = state[key].to(target.dtype)
        if source.shape == target.shape:
            grown[key] = source
            continue
        if not key.startswith("decoder.") and key != _HEAD:
            raise InvalidParameterError(f"{key}: shape {tuple(source.shape)} does not fit {tuple(target.shape)}")
        value = target.clone()
        if source.ndim == 1:  # batch-norm weights, biases and running statistics of a widened block
            value[: source.shape[0]] = source
        else:
            out_old, in_old = source.shape[:2]
            front_old, front_new = _input_split(key, old_widths, new_widths, in_old)
            if in_old - front_old != target.shape[1] - front_new:
                raise InvalidParameterError(f"{key}: the skip channels differ")
            value[:out_old] = 0  # trained outputs read nothing from the new input channels
            value[:out_old, :front_old] = source[:, :front_old]
            value[:out_old, front_new:] = source[:, front_old:]
        grown[key] = value
    network.load_state_dict(grown)
    return old_widths
