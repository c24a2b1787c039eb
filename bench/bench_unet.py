"""U-Net inference latency and memory: CPU always, GPU when there is one.

Run: .venv/bin/python bench/bench_unet.py [--model nuclei] [--repeats 7]

Rows: ``segcore.segment(image, "unet", split_instances=False)`` on 256x256,
512x512 and a 12 MP (4000x3000) image (tiled), on every available device,
median of repeats after one warm-up (the first call loads the model). For
CUDA also images/s at batch 1 and 16 through the network alone. The 12 MP
row runs in a child process so its peak resident memory (ru_maxrss) is
measured on its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import machine  # noqa: E402
import segcore  # noqa: E402
from segcore.synthetic import make_image  # noqa: E402


def nuclei_image(height: int, width: int) -> np.ndarray:
    """A synthetic nuclei-like image of the requested size (tiled from a 512x512 scene)."""
    tile = make_image((512, 512), n_objects=40, radius=(8, 16), noise=0.05, blur=1.0, random_state=1).image
    reps = (-(-height // 512), -(-width // 512), 1)
    return np.ascontiguousarray(np.tile(tile, reps)[:height, :width])


def time_segment(image: np.ndarray, model: str, device: str, repeats: int) -> float:
    segcore.segment(image, "unet", model=model, device=device, split_instances=False)  # warm-up/load
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        segcore.segment(image, "unet", model=model, device=device, split_instances=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def big_image_child(model: str, device: str) -> None:
    """Run once on 12 MP in this process and print seconds and peak RSS as JSON."""
    image = nuclei_image(3000, 4000)
    start = time.perf_counter()
    result = segcore.segment(image, "unet", model=model, device=device, split_instances=False)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_mb, "foreground": float(result.mask.mean())}))


def gpu_throughput(model: str, batch: int, size: int = 512, repeats: int = 20) -> float:
    """Images per second through the network alone on CUDA (fp16 autocast)."""
    import torch

    from segcore.unet.model import load_model

    loaded = load_model(model, device="cuda")
    x = torch.randn(batch, 3, size, size, device="cuda")
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.float16):
        for _ in range(3):
            loaded.network(x)
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(repeats):
            loaded.network(x)
        torch.cuda.synchronize()
    return batch * repeats / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="nuclei")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--child-12mp", metavar="DEVICE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_12mp:
        big_image_child(args.model, args.child_12mp)
        return

    import torch

    from segcore.unet.model import available_devices

    print(f"machine: {machine()}, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads")
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name(0)}")
    print(f"{'device':6} {'image':>10} {'seconds':>9}")
    for device in available_devices():
        for h, w in ((256, 256), (512, 512)):
            seconds = time_segment(nuclei_image(h, w), args.model, device, args.repeats)
            print(f"{device:6} {f'{w}x{h}':>10} {seconds:9.3f}")
        child = subprocess.run([sys.executable, __file__, "--model", args.model, "--child-12mp", device],
                               capture_output=True, text=True, check=True)
        row = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"{device:6} {'4000x3000':>10} {row['seconds']:9.3f}   peak RSS {row['peak_rss_mb']:.0f} MB (tiled)")
        if device == "cuda":
            for batch in (1, 16):
                print(f"cuda   batch {batch:>2} at 512x512: {gpu_throughput(args.model, batch):.0f} images/s")


if __name__ == "__main__":
    main()
