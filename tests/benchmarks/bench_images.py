"""Benchmark the image preflight against a naive Pillow pipeline and libvips.

Run with ``python tests/benchmarks/bench_images.py [--runs N]``. Times are the median
of several runs in this process; peak memory is the growth of peak RSS while one run
executes in a fresh subprocess, because tracemalloc misses Pillow's native buffers.
The pyvips column is skipped when pyvips is not importable.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from desktop_app.core.catalog import Catalog, ImageLimits
from desktop_app.core.images import prepare_image
from tests.support import image_corpus as corpus

METHODS = ("iris", "naive", "pyvips")


@dataclasses.dataclass(frozen=True)
class Case:
    """One input file and the model it is prepared for."""

    name: str
    file_name: str
    model: str
    make: Callable[[], bytes]


CASES = (
    Case("24 MP JPEG photo -> Opus 4.7", "photo24.jpg", "claude-opus-4-7",
         lambda: corpus.photo_jpeg(6000, 4000, seed=1)),
    Case("4K PNG screenshot -> Opus 4.7", "screen4k.png", "claude-opus-4-7",
         lambda: corpus.encode(corpus.screenshot(3840, 2160, seed=2), "PNG")),
    Case("12 MP JPEG photo -> Haiku 4.5", "photo12.jpg", "claude-haiku-4-5",
         lambda: corpus.photo_jpeg(4000, 3000, seed=3)),
)  # fmt: skip


def target_size(width: int, height: int, limits: ImageLimits) -> tuple[int, int]:
    """The size every method resizes to: the largest that fits the area limit."""
    scale = min(1.0, math.sqrt(limits.max_pixels / (width * height)), 8000 / max(width, height))
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))


def run_iris(path: Path, limits: ImageLimits) -> bytes:
    """The pipeline under test."""
    return prepare_image(path, limits).data


def run_naive(path: Path, limits: ImageLimits) -> bytes:
    """What most clients do: decode everything, convert, Lanczos, save."""
    with Image.open(path) as im:
        fmt = im.format or "PNG"
        rgb = im.convert("RGB")
    resized = rgb.resize(target_size(*rgb.size, limits), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    if fmt == "JPEG":
        resized.save(buffer, "JPEG", quality=90)
    else:
        resized.save(buffer, "PNG")
    return buffer.getvalue()


def run_pyvips(path: Path, limits: ImageLimits) -> bytes:
    """libvips' thumbnail (shrink-on-load), then the same encoder settings."""
    import pyvips

    with Image.open(path) as probe:
        width, height = probe.size
        fmt = probe.format
    new_w, new_h = target_size(width, height, limits)
    thumb = pyvips.Image.thumbnail(str(path), new_w, height=new_h, size="down")
    data: bytes = thumb.write_to_buffer(".jpg[Q=90]" if fmt == "JPEG" else ".png")
    return data


RUNNERS: dict[str, Callable[[Path, ImageLimits], bytes]] = {
    "iris": run_iris,
    "naive": run_naive,
    "pyvips": run_pyvips,
}


def pyvips_available() -> bool:
    """Whether the pyvips column can be measured."""
    try:
        import pyvips

        pyvips.cache_set_max(0)  # no result caching: every run must do the work
    except (ImportError, OSError):
        return False
    return True


def median_seconds(runners: dict[str, Callable[[], bytes]], runs: int) -> dict[str, float]:
    """Median wall time per method after one warm-up call each.

    Methods take turns within every round, so a burst of load elsewhere on the machine
    lands on all of them rather than on whichever happened to be running.
    """
    times: dict[str, list[float]] = {name: [] for name in runners}
    for runner in runners.values():
        runner()
    for _ in range(runs):
        for name, runner in runners.items():
            start = time.perf_counter()
            runner()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(samples) for name, samples in times.items()}


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} is not in /proc/self/status")


def worker(method: str, path: Path, model: str) -> None:
    """Run one method once and print the peak RSS growth in KiB (subprocess side)."""
    limits = Catalog.load().get(model).image
    runner = RUNNERS[method]
    if method == "pyvips":
        pyvips_available()
    # Pay for lazy imports and plugin registration before measuring.
    with Image.open(path) as probe:
        probe.size  # noqa: B018 - opening registers the format plugins
    try:
        # Writing 5 resets the peak-RSS counter, so only the run itself is measured.
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
        baseline = _status_kib("VmRSS")
    except OSError:
        baseline = _status_kib("VmHWM")
    runner(path, limits)
    print(_status_kib("VmHWM") - baseline)


def peak_rss_mib(method: str, path: Path, model: str) -> float:
    """Peak RSS growth of one run of ``method`` in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, __file__, "--worker", method, str(path), model],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return int(done.stdout.strip()) / 1024


def _bind(
    runner: Callable[[Path, ImageLimits], bytes], path: Path, limits: ImageLimits
) -> Callable[[], bytes]:
    return lambda: runner(path, limits)


def main() -> None:
    """Build the inputs, measure every method on every case and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per method (median)")
    parser.add_argument("--worker", nargs=3, metavar=("METHOD", "PATH", "MODEL"), help="internal")
    args = parser.parse_args()
    if args.worker:
        method, path, model = args.worker
        worker(method, Path(path), model)
        return

    methods = [m for m in METHODS if m != "pyvips" or pyvips_available()]
    if "pyvips" not in methods:
        print("pyvips is not importable: its column is skipped.", file=sys.stderr)
    catalog = Catalog.load()
    header = (
        f"{'case':32} {'method':7} {'median ms':>10} {'peak MiB':>9} "
        f"{'vs naive':>9} {'vs pyvips':>10} {'out KiB':>8}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            path = Path(tmp) / case.file_name
            path.write_bytes(case.make())
            limits = catalog.get(case.model).image
            times = median_seconds(
                {m: _bind(RUNNERS[m], path, limits) for m in methods}, args.runs
            )
            peaks = {m: peak_rss_mib(m, path, case.model) for m in methods}
            sizes = {m: len(RUNNERS[m](path, limits)) / 1024 for m in methods}
            for m in methods:
                vs_naive = times["naive"] / times[m]
                vs_vips = f"{times['pyvips'] / times[m]:9.2f}x" if "pyvips" in times else "-"
                print(
                    f"{case.name:32} {m:7} {times[m] * 1000:10.1f} {peaks[m]:9.1f} "
                    f"{vs_naive:8.2f}x {vs_vips:>10} {sizes[m]:8.0f}"
                )
            print()
    print("vs naive / vs pyvips: how many times faster than that method (above 1 is faster).")


if __name__ == "__main__":
    main()
