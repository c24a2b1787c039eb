"""The command line: ``python -m segcore COMMAND ...``.

Commands
--------
``segment IMAGE --method NAME [--set KEY=VALUE ...] --out MASK.png [--overlay OVERLAY.png] [--json INFO.json]``
    Segment one image and write the result as a PNG, optionally the result
    drawn over the image and a JSON record of the run (arrays of more than
    1024 values, such as step images, are left out of it and listed in
    ``info_left_out``). A result with a foreground mask and at most one
    foreground label (thresholds, U-Net, two-cluster k-means, one-seed region
    growing) is written as 0/255; any other as its labels, unchanged, in an
    8-bit PNG up to 255 and a 16-bit one up to 65535 (read them back with
    ``segcore.load_mask``).
``evaluate --images DIR --masks DIR [--labels DIR] --method SPEC [--method SPEC ...] [--match M] [--task T] [--json FILE] [--limit N] [--quiet] [--workers N | --scheduler ADDRESS]``
    Run methods on every image that has a mask of the same name (paired by
    :func:`segcore.datasets.pair_folders`), score them with
    :func:`segcore.evaluation.score_pair` and print the means per method. The
    task is binary unless ``--task`` says otherwise: segcore's methods
    separate objects from background, and a folder of instance labels cannot
    be told from one of class labels. Pairs that cannot be scored are listed
    on stderr and in the JSON's ``skipped`` and the run goes on. ``--workers
    N`` runs on a local Dask cluster, ``--scheduler ADDRESS`` on an existing
    one, with the same scores. ``--json`` writes
    :func:`segcore.evaluation.report`, specs spelled as given.
``methods``
    List the registered methods with their titles and default parameters.

Values given with ``--set key=value`` and in method specs
(``name:key=value,key=value``) are read as Python literals where they are
one (numbers, ``True``/``False``/``None``, tuples and lists such as
``seeds=[(1,1),(5,6)]``) and kept as text otherwise (``algorithm=otsu``).
Commas inside brackets or quotes do not separate parameters.

Exit status: 0 on success; 2 for bad input (an unreadable image, an unknown
method or parameter, a bad value, no pairs of files, nothing scored), reported as one line
``error: ...`` on stderr without a traceback; argparse's usage errors also
exit with 2. 1 when the reader of the output went away (``| head``), 130 on
Ctrl-C.

To add a command, append a :class:`Command` to :data:`COMMANDS`: a name, a
help line, a function that adds its arguments to an ``argparse`` parser and
a function that runs it and returns the exit status.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from tqdm import tqdm

from . import datasets, evaluation, metrics, viz
from .compare import Preset
from .errors import InvalidParameterError, SegcoreError
from .loading import load_image
from .registry import METHODS, get_method, segment
from .result import SegmentationResult

EXIT_OK = 0
EXIT_BAD_INPUT = 2

IMAGE_SUFFIXES = datasets.IMAGE_SUFFIXES

TASKS = {"binary": True, "multiclass": False, "auto": None}

# Arrays in a result's info larger than this are maps and step images, not
# facts about the run: they stay out of --json files.
_JSON_MAX_ARRAY_SIZE = 1024
_LEFT_OUT = object()


class CommandLineError(SegcoreError):
    """Bad command-line input that no library function checks (folders, file names)."""


@dataclass(frozen=True)
class Command:
    """One subcommand: ``add_arguments(parser)`` declares it, ``run(args)`` returns the exit status."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# ---------------------------------------------------------- parsing key=value


def parse_value(text: str) -> Any:
    """A Python literal when ``text`` is one, else ``text`` itself (stripped).

    >>> parse_value("5"), parse_value("0.5"), parse_value("True"), parse_value("otsu")
    (5, 0.5, True, 'otsu')
    >>> parse_value("[(1, 1), (5, 6)]")
    [(1, 1), (5, 6)]
    """
    text = text.strip()
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def parse_assignment(text: str) -> tuple[str, Any]:
    """Split ``"key=value"`` into the key and :func:`parse_value` of the value.

    >>> parse_assignment("tolerance=5")
    ('tolerance', 5)
    """
    key, equals, value = text.partition("=")
    key = key.strip()
    if not equals or not key.isidentifier():
        raise InvalidParameterError(f"expected key=value (e.g. tolerance=5), got {text!r}")
    return key, parse_value(value)


def split_top_level(text: str, separator: str = ",") -> list[str]:
    """Split ``text`` at ``separator`` outside brackets and quotes (unbalanced ones raise).

    >>> split_top_level("seeds=[(1,1),(2,2)],tolerance=5")
    ['seeds=[(1,1),(2,2)]', 'tolerance=5']
    """
    closing = {"(": ")", "[": "]", "{": "}"}
    expected: list[str] = []
    quote = ""
    parts: list[str] = []
    start = 0
    for i, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in closing:
            expected.append(closing[char])
        elif char in ")]}":
            if not expected or expected.pop() != char:
                raise InvalidParameterError(f"unbalanced brackets in {text!r}")
        elif char == separator and not expected:
            parts.append(text[start:i])
            start = i + 1
    if quote or expected:
        raise InvalidParameterError(f"unbalanced brackets or quotes in {text!r}")
    parts.append(text[start:])
    return parts


def _collect_params(assignments: Sequence[str], where: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in assignments:
        key, value = parse_assignment(item)
        if key in params:
            raise InvalidParameterError(f"{key!r} is given twice in {where}")
        params[key] = value
    return params


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split a method spec ``name`` or ``name:key=value,key=value`` into name and parameters.

    The name is checked later, by :func:`segcore.get_method`.

    >>> parse_spec("threshold:algorithm=otsu,polarity=auto")
    ('threshold', {'algorithm': 'otsu', 'polarity': 'auto'})
    >>> parse_spec("kmeans")
    ('kmeans', {})
    """
    name, colon, rest = spec.partition(":")
    name = name.strip()
    if not name:
        raise InvalidParameterError(f"method spec {spec!r} has no method name; write name or name:key=value,...")
    if not colon:
        return name, {}
    if not rest.strip():
        raise InvalidParameterError(f"method spec {spec!r} has nothing after ':'; write name:key=value,...")
    return name, _collect_params(split_top_level(rest), f"method spec {spec!r}")


# ---------------------------------------------------------------- file helpers


def _load(loader: Callable[..., np.ndarray], path: Path, **kwargs: Any) -> np.ndarray:
    """Call ``loader`` and name the file in its error message."""
    try:
        return loader(path, **kwargs)
    except SegcoreError as error:
        raise type(error)(f"{path}: {error}") from None


def _check_png_path(path: Path, option: str) -> None:
    if path.suffix.lower() != ".png":
        raise CommandLineError(f"{option} must name a .png file (labels must be stored losslessly), got {path}")


def _write_bytes(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as error:
        raise CommandLineError(f"cannot write {path}: {error.strerror or error}") from None


def _write_json(path: Path, document: dict[str, Any]) -> None:
    _write_bytes(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))


def _jsonable(value: Any) -> Any:
    """``value`` as JSON types, or ``_LEFT_OUT`` for large arrays and other objects."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= _JSON_MAX_ARRAY_SIZE else _LEFT_OUT
    if isinstance(value, (list, tuple)):
        items = [_jsonable(item) for item in value]
        return _LEFT_OUT if any(item is _LEFT_OUT for item in items) else items
    if isinstance(value, dict):
        items = {str(key): _jsonable(item) for key, item in value.items()}
        return {key: item for key, item in items.items() if item is not _LEFT_OUT}
    return _LEFT_OUT


def _describe(value: Any, width: int = 100) -> str:
    """A short repr for the terminal (arrays by shape, long values cut)."""
    if isinstance(value, np.ndarray):
        return f"<array {value.shape} {value.dtype}>"
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


# --------------------------------------------------------------------- segment


def _writes_mask(result: SegmentationResult) -> bool:
    return result.mask is not None and result.n_labels <= 1


def output_image(result: SegmentationResult) -> np.ndarray:
    """The array ``segment --out`` writes as PNG (module docstring); labels above 65535 raise."""
    if _writes_mask(result):
        return viz.mask_image(result.mask)
    largest = int(result.labels.max())
    if largest > np.iinfo(np.uint16).max:
        raise CommandLineError(f"the result has labels up to {largest}; a PNG holds at most 65535")
    if largest <= 1:  # labels 0/1 without a mask are two classes, not a foreground
        return result.labels.astype(np.uint8, copy=False)
    return viz.mask_image(result.labels)


def _segment_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", type=Path, help="the image file (PNG, JPEG, TIFF, BMP, WebP, GIF)")
    parser.add_argument("--method", required=True, help="a registered method (see: python -m segcore methods)")
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a method parameter, e.g. --set algorithm=otsu --set 'seeds=[(10,20)]' (repeatable)",
    )
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="MASK.png",
        help="where to write the result: 0/255 for a foreground mask, else the labels as an 8- or 16-bit PNG",
    )
    parser.add_argument("--overlay", type=Path, metavar="OVERLAY.png", help="also write the result drawn over the image")
    parser.add_argument("--json", type=Path, metavar="INFO.json", help="also write the parameters, timing and info as JSON")


def run_segment(args: argparse.Namespace) -> int:
    """Run ``segment``: load, segment, write the PNG(s), print a summary."""
    params = _collect_params(args.settings, "--set")
    _check_png_path(args.out, "--out")
    if args.overlay is not None:
        _check_png_path(args.overlay, "--overlay")
    spec = get_method(args.method)
    image = _load(load_image, args.image)
    result = segment(image, spec.name, **params)
    written = output_image(result)

    _write_bytes(args.out, viz.to_png(written))
    if args.overlay is not None:
        _write_bytes(args.overlay, viz.to_png(viz.overlay(image, written, mode="both")))

    height, width = result.shape
    foreground_fraction = float(np.count_nonzero(result.binary)) / result.binary.size
    n_labels = result.n_labels
    kind = "0/255 foreground mask" if _writes_mask(result) else f"{8 * written.itemsize}-bit labels"
    print(f"method:     {spec.name} ({spec.title})")
    print(f"params:     {', '.join(f'{k}={_describe(v)}' for k, v in result.params.items())}")
    print(f"seconds:    {result.seconds:.4f}")
    print(f"foreground: {100 * foreground_fraction:.2f}% of {width}x{height} pixels")
    print(f"labels:     {n_labels}")
    print(f"wrote:      {args.out} ({kind})")
    if args.overlay is not None:
        print(f"overlay:    {args.overlay}")

    if args.json is not None:
        info = {key: _jsonable(value) for key, value in result.info.items()}
        params_json = {key: _jsonable(value) for key, value in result.params.items()}
        _write_json(
            args.json,
            {
                "image": str(args.image),
                "method": spec.name,
                "params": {key: value for key, value in params_json.items() if value is not _LEFT_OUT},
                "seconds": result.seconds,
                "shape": [height, width],
                "foreground_fraction": foreground_fraction,
                "n_labels": n_labels,
                "out": str(args.out),
                "overlay": None if args.overlay is None else str(args.overlay),
                "info": {key: value for key, value in info.items() if value is not _LEFT_OUT},
                "info_left_out": sorted(key for key, value in info.items() if value is _LEFT_OUT),
            },
        )
        print(f"json:       {args.json}")
    return EXIT_OK


# -------------------------------------------------------------------- evaluate


def pair_files(images_dir: Path, masks_dir: Path) -> tuple[list[tuple[str, Path, Path]], int, int]:
    """``(pairs, n_images_without_mask, n_masks_without_image)``; pairs are (stem, image path, mask path).

    Paired by :func:`segcore.datasets.pair_folders`, sorted by stem.
    """
    dataset = _dataset(images_dir, masks_dir)
    reasons = [item.reason for item in dataset.skipped]
    return ([(pair.id, pair.image, pair.mask) for pair in dataset.pairs],
            reasons.count(datasets.NO_MASK), reasons.count(datasets.NO_IMAGE))


def _dataset(images_dir: Path, masks_dir: Path) -> datasets.Dataset:
    for folder, option in ((images_dir, "--images"), (masks_dir, "--masks")):
        if not Path(folder).is_dir():
            raise CommandLineError(f"{option}: {folder} is not a folder")
    return datasets.pair_folders(images_dir, masks_dir)


def _predicted_instances(result: SegmentationResult, scores: metrics.Evaluation) -> np.ndarray:
    """The predicted objects of a result (:func:`segcore.evaluation.predicted_instances`)."""
    return evaluation.predicted_instances(result, scores)[0]


SCORE_KEYS = evaluation.PIXEL_KEYS


def _evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--images", required=True, type=Path, metavar="DIR", help="folder of images")
    parser.add_argument(
        "--masks", required=True, type=Path, metavar="DIR", help="folder of masks, named like the images"
    )
    parser.add_argument(
        "--labels", type=Path, metavar="DIR",
        help="optional folder of instance label images (one value per object), named like the images; "
        "without it the objects are the mask's labels or its connected components",
    )
    parser.add_argument(
        "--method",
        dest="specs",
        action="append",
        required=True,
        metavar="SPEC",
        help="name or name:key=value,key=value (repeatable), e.g. threshold:algorithm=otsu,polarity=auto",
    )
    parser.add_argument(
        "--match",
        choices=metrics.MATCH_CHOICES,
        default="oracle",
        help="how labels of clustering methods are matched to the mask's classes (default: oracle)",
    )
    parser.add_argument(
        "--task",
        choices=tuple(TASKS),
        default="binary",
        help="binary: foreground against background (default); multiclass: classes compared after "
        "matching; auto: per image, binary when the mask or the prediction is binary",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write per-image scores and means as JSON")
    parser.add_argument("--limit", type=_positive_int, metavar="N", help="only the first N pairs (sorted by name)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=_positive_int, metavar="N",
        help="run on a local Dask cluster of N worker processes (default: in this process)",
    )
    where.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (started with `dask scheduler` "
        "and `dask worker ADDRESS`; the workers must reach the files by the same paths)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def run_evaluate(args: argparse.Namespace) -> int:
    """Run ``evaluate`` (module docstring): every method on every paired image, means printed."""
    if len(set(args.specs)) != len(args.specs):
        raise CommandLineError("a --method spec is given twice")
    runs = [(text, *parse_spec(text)) for text in args.specs]
    for _, name, _ in runs:
        get_method(name)
    presets = [Preset(text, name, params) for text, name, params in runs]
    labels_dir = getattr(args, "labels", None)
    if labels_dir is not None and not Path(labels_dir).is_dir():
        raise CommandLineError(f"--labels: {labels_dir} is not a folder")
    _dataset(args.images, args.masks)  # checks the folders with the option names
    found = datasets.pair_folders(args.images, args.masks, labels_dir)
    reasons = [item.reason for item in found.skipped]
    n_lone_images, n_lone_masks = reasons.count(datasets.NO_MASK), reasons.count(datasets.NO_IMAGE)
    if n_lone_images or n_lone_masks:
        print(
            f"warning: {n_lone_images} image(s) without a mask and {n_lone_masks} mask(s) without an image "
            "were skipped (files are paired by name without extension)",
            file=sys.stderr,
        )
    for item in found.skipped:
        if item.reason not in (datasets.NO_MASK, datasets.NO_IMAGE):
            print(f"warning: skipped {item.name}: {item.reason}", file=sys.stderr)
    pairs = list(found.pairs[: args.limit])
    if not pairs:
        raise CommandLineError(
            f"no image in {args.images} has a mask of the same name in {args.masks} "
            "(e.g. images/cell1.png with masks/cell1.png)"
        )
    binary = TASKS[args.task]

    rows: list[dict[str, Any]] = []
    skipped: list[datasets.Skipped] = list(found.skipped)
    client = None
    workers, scheduler = getattr(args, "workers", None), getattr(args, "scheduler", None)
    if workers or scheduler:
        client = _connect(workers, scheduler)
    progress = tqdm(total=len(pairs), disable=args.quiet or not sys.stderr.isatty(), file=sys.stderr, unit="image")
    try:
        with progress:
            for scored in evaluation.iter_scores(pairs, presets, match=args.match, binary=binary, client=client):
                rows.extend(scored.rows)
                for item in scored.skipped:
                    progress.write(f"warning: skipped {item.name}: {item.reason}", file=sys.stderr)
                skipped.extend(scored.skipped)
                progress.set_postfix_str(scored.id[:12], refresh=False)
                progress.update()
    finally:
        if client is not None:
            evaluation.close_client(client)
    if not rows:
        raise CommandLineError("no image could be scored; see the warnings above")

    specs = [text for text, _, _ in runs]
    document = evaluation.report(
        rows, specs, skipped, match=args.match, task=args.task, images_dir=str(args.images),
        masks_dir=str(args.masks), labels_dir=None if labels_dir is None else str(labels_dir),
    )
    _print_table(document["summary"], len({row["image"] for row in rows}), args)
    if args.json is not None:
        _write_json(args.json, document)
    return EXIT_OK


def _connect(workers: int | None, scheduler: str | None):
    try:
        return evaluation.dask_client(workers=workers, scheduler=scheduler)
    except (OSError, TimeoutError) as error:
        where = f"the Dask scheduler at {scheduler}" if scheduler else "a local Dask cluster"
        raise CommandLineError(f"cannot reach {where}: {error}") from None


def _print_table(summary: dict[str, dict[str, Any]], n_pairs: int, args: argparse.Namespace) -> None:
    with_instances = any("dsb_score" in means for means in summary.values())
    name_width = max(6, *(len(spec) for spec in summary))
    keys = ["iou", "dice", "pixel_accuracy", *(["ap50", "dsb_score", "pq"] if with_instances else [])]
    titles = {"iou": "IoU", "dice": "Dice", "pixel_accuracy": "pixel acc", "ap50": "AP50", "dsb_score": "DSB",
              "pq": "PQ"}
    columns = [titles[key] for key in keys] + ["seconds", "images"]
    print(f"{n_pairs} image(s), task: {args.task}, match: {args.match}; means per method")
    print(f"{'method':<{name_width}}  " + "  ".join(f"{column:>9}" for column in columns))
    for spec, means in summary.items():
        cells = [f"{means[key]:9.4f}" if key in means else f"{'-':>9}" for key in keys]
        cells += [f"{means['seconds']:9.4f}", f"{means['n_images']:9d}"]
        print(f"{spec:<{name_width}}  " + "  ".join(cells))


# --------------------------------------------------------------------- methods


def _methods_arguments(parser: argparse.ArgumentParser) -> None:
    """``methods`` takes no arguments."""


def run_methods(args: argparse.Namespace) -> int:
    """Run ``methods``: name, title, output kind, summary and defaults of each registered method."""
    for spec in METHODS.values():
        print(f"{spec.name}  {spec.title} (output: {spec.output})")
        print(f"    {spec.summary}")
        try:
            defaults = spec.defaults()
        except (ImportError, AttributeError) as error:
            print(f"    not available here: {error}")
            continue
        print("    " + (", ".join(f"{key}={_describe(value)}" for key, value in defaults.items()) or "no parameters"))
    return EXIT_OK


# ------------------------------------------------------------------------ main

COMMANDS: list[Command] = [
    Command("segment", "segment one image and write the mask", _segment_arguments, run_segment),
    Command("evaluate", "score methods on a folder of images with ground-truth masks", _evaluate_arguments, run_evaluate),
    Command("methods", "list the registered methods and their default parameters", _methods_arguments, run_methods),
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subparser per entry of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="python -m segcore", description="Image segmentation on the command line (segcore)."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        subparser = subparsers.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(subparser)
        subparser.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and return the exit status.

    Input errors (every :class:`segcore.SegcoreError`) print one line
    ``error: ...`` on stderr and return 2; no traceback.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help (0) or a usage error (2); argparse has printed why
        return stop.code if isinstance(stop.code, int) else EXIT_BAD_INPUT
    try:
        return args.run(args)
    except SegcoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, and point stdout
        # at devnull so Python's flush at exit does not fail a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
