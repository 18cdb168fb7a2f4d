"""What every benchmark writes: JSON with versions, config and machine facts, and PNG plots.

Results go to ``bench/results/<name>.json`` (and ``<name>*.png``), committed so
docs/performance.md can point at them. Timings are reported, never asserted.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def machine() -> dict[str, Any]:
    """Facts that make a figure comparable: CPUs, memory, OS, Python."""
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    cpu = ""
    with suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(mem_kib / 2**20, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def versions() -> dict[str, str]:
    """Versions of the parts under test (the bot's from its own venv)."""
    out = {}
    for package in ("aiohttp", "python-socketio", "SQLAlchemy"):
        with suppress(metadata.PackageNotFoundError):
            out[package] = metadata.version(package)
    bot_python = ROOT / ".venv-bot" / "bin" / "python"
    if bot_python.exists():
        code = "import rasa, rasa_sdk; print(rasa.__version__, rasa_sdk.__version__)"
        found = subprocess.run([str(bot_python), "-c", code], capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.split():
            out["rasa"], out["rasa_sdk"] = found.stdout.split()[:2]
    git = shutil.which("git")
    if git:
        out["git"] = subprocess.run(
            [git, "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
    return out


def write(name: str, config: dict[str, Any], results: Any, **extra: Any) -> Path:
    """Write ``bench/results/<name>.json`` and return its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    document = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "versions": versions(),
        "config": config,
        "results": results,
        **extra,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")
    return path


@contextmanager
def own_cpu() -> Iterator[dict[str, float]]:
    """CPU seconds this (load generator) process spent in the block, and its share
    of wall time: a share near 1.0 per core would make the generator the bottleneck."""
    figures: dict[str, float] = {}
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    try:
        yield figures
    finally:
        after = resource.getrusage(resource.RUSAGE_SELF)
        wall = time.perf_counter() - started
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        figures.update(
            cpu_seconds=round(cpu, 2),
            wall_seconds=round(wall, 2),
            cpu_share_of_one_core=round(cpu / wall, 2) if wall else 0.0,
        )


def plot(name: str, draw: Any, title: str, size: tuple[float, float] = (8, 4.5)) -> Path:
    """Render ``draw(ax)`` into ``bench/results/<name>.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    RESULTS.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=size, dpi=100)
    draw(ax)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    path = RESULTS / f"{name}.png"
    fig.savefig(path)
    plt.close(fig)
    print(f"wrote {path.relative_to(ROOT)}")
    return path


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds another process (a server under test) has used."""
    # /proc/<pid>/stat: fields after the command's closing parenthesis; utime and
    # stime are the 14th and 15th fields of the line (12th and 13th after it).
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def servers_cpu(pids: dict[str, int]) -> Iterator[dict[str, float]]:
    """CPU seconds each named server process spent in the block."""
    figures: dict[str, float] = {}
    before = {name: process_cpu_seconds(pid) for name, pid in pids.items()}
    try:
        yield figures
    finally:
        for name, pid in pids.items():
            with suppress(OSError):
                figures[name] = round(process_cpu_seconds(pid) - before[name], 3)


@contextmanager
def flame_graph(pid: int | None, name: str) -> Iterator[None]:
    """Sample ``pid`` with py-spy into ``bench/results/<name>.svg`` (skipped when
    ``pid`` is None or py-spy is not installed). A ``name`` ending in ``.txt``
    writes py-spy's collapsed stacks instead (one line per stack, for
    ``bench/flame_top.py``)."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if pid is None or spy is None:
        yield
        return
    raw = name.endswith(".txt")
    out = RESULTS / (name if raw else f"{name}.svg")
    proc = subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--rate", "200", "--gil", "--output", str(out)]
        + (["--format", "raw"] if raw else []),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1)  # py-spy attaches
    try:
        yield
    finally:
        proc.send_signal(2)  # SIGINT: py-spy writes the graph and exits
        _, err = proc.communicate(timeout=60)
        if proc.returncode not in (0, None) and not out.exists():
            print(f"py-spy failed: {err.decode(errors='replace')[-500:]}")
        else:
            print(f"wrote {out.relative_to(ROOT)}")
