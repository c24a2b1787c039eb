"""The method registry and the one entry point, :func:`segment`.

Like segmentation-models-pytorch's mapping from architecture names to
classes, every method is registered under a short name. Entries name their
function as ``"module:function"`` and are imported on first use, so
``import segcore`` stays fast and the U-Net's torch import is only paid by
callers who run it.
"""

from __future__ import annotations

import importlib
import inspect
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

import numpy as np

from .errors import InvalidParameterError, UnknownMethodError
from .imageops import check_image
from .result import SegmentationResult


@dataclass(frozen=True)
class MethodSpec:
    """One registry entry: ``name``, ``target`` (``"module:function"``), ``title`` for menus, a one-line ``summary`` and ``output`` (``"binary"``, ``"labels"`` or ``"instances"``)."""

    name: str
    target: str
    title: str
    summary: str
    output: str

    @property
    def module(self) -> ModuleType:
        return importlib.import_module(self.target.partition(":")[0])

    @property
    def func(self) -> Callable[..., SegmentationResult]:
        return getattr(self.module, self.target.partition(":")[2])

    def prepare(self) -> None:
        """Run the method module's ``warm_up()``, if it has one: the imports its first call would pay."""
        warm_up = getattr(self.module, "warm_up", None)
        if warm_up is not None:
            warm_up()

    def defaults(self) -> dict[str, Any]:
        """Keyword parameters of the method with their default values."""
        params = inspect.signature(self.func).parameters
        return {
            name: p.default
            for name, p in params.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        }


METHODS: dict[str, MethodSpec] = {}


def register(name: str, target: str, *, title: str, summary: str, output: str) -> MethodSpec:
    """Add a method to :data:`METHODS` (or replace the entry of the same name)."""
    if output not in {"binary", "labels", "instances"}:
        raise ValueError(f"output must be 'binary', 'labels' or 'instances', got {output!r}")
    spec = MethodSpec(name=name, target=target, title=title, summary=summary, output=output)
    METHODS[name] = spec
    return spec


def get_method(name: str) -> MethodSpec:
    """The registry entry for ``name``; an unknown name lists the valid ones."""
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        valid = ", ".join(sorted(METHODS))
        raise UnknownMethodError(f"unknown method {name!r}; valid methods are: {valid}") from None


def list_methods() -> list[str]:
    """Names of all registered methods, in registration order."""
    return list(METHODS)


def segment(image: np.ndarray, method: str, **params: Any) -> SegmentationResult:
    """Segment ``image`` with the registered ``method`` and its keyword ``params``.

    The image is checked by :func:`segcore.check_image`; a parameter the method does not take is
    refused with the list of those it does. The result's ``params`` hold every parameter used
    (defaults included, automatic choices resolved) and ``seconds`` the run time, which starts after
    the method's module has done its first-use imports (see :meth:`MethodSpec.prepare`).

    >>> img = np.array([[100, 127, 128, 200]], dtype=np.uint8)
    >>> segment(img, "threshold", algorithm="fixed", value=127).mask
    array([[False, False,  True,  True]])
    """
    spec = get_method(method)
    image = check_image(image)
    defaults = spec.defaults()
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        accepted = ", ".join(defaults) or "none"
        raise InvalidParameterError(
            f"method {spec.name!r} does not take {', '.join(map(repr, unknown))}; "
            f"its parameters are: {accepted}"
        )
    spec.prepare()
    start = time.perf_counter()
    result = spec.func(image, **params)
    seconds = time.perf_counter() - start
    result.method = spec.name
    result.seconds = seconds
    # Callbacks (e.g. the U-Net's progress) are not segmentation parameters:
    # keep them out so params stay printable, comparable and picklable.
    merged = {**defaults, **params, **result.params}
    result.params = {k: v for k, v in merged.items() if not callable(v)}
    return result


# The registry proper. Order is the order menus show.
register(
    "threshold",
    "segcore.methods.threshold:threshold",
    title="Thresholding",
    summary="Foreground is every pixel brighter (or darker) than a global or local threshold.",
    output="binary",
)
register(
    "region_growing",
    "segcore.methods.region_growing:region_growing",
    title="Region growing",
    summary="Regions grow from seed pixels into neighbours that are similar enough.",
    output="labels",
)
register(
    "kmeans",
    "segcore.methods.clustering:kmeans",
    title="K-means",
    summary="Pixels are clustered by colour (and optionally position) into K groups.",
    output="labels",
)
register(
    "gmm",
    "segcore.methods.clustering:gmm",
    title="Gaussian mixture",
    summary="Pixels are clustered by a mixture of Gaussians with full covariances.",
    output="labels",
)
register(
    "edges",
    "segcore.methods.edges:edges",
    title="Edges (Canny)",
    summary="Canny edges are closed and their interiors filled into regions.",
    output="instances",
)
register(
    "watershed",
    "segcore.methods.watershed:watershed",
    title="Watershed",
    summary="Touching objects of a foreground mask are split at the ridges of its distance transform.",
    output="instances",
)
register(
    "unet",
    "segcore.methods.unet:unet",
    title="U-Net",
    summary="A convolutional encoder-decoder with skip connections predicts a foreground probability per pixel.",
    output="binary",
)
