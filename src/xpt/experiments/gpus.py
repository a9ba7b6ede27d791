"""GPU slots: which devices a queue may use, and K of them per running experiment.

`--gpus LIST|all|auto` (or `queue.gpus`) names the devices; `--gpus-per-exp K` (or
`queue.gpus_per_exp`, default 1) how many each experiment gets, in its own
`CUDA_VISIBLE_DEVICES`. The devices an experiment holds are not counted anywhere:
the local queue derives them from its running entries with a live process
(queue_db.claim), the distributed worker from advisory locks its experiment
processes hold (`DeviceLocks`), so a crash or a kill frees them by itself.
"""

from __future__ import annotations

import fcntl
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from xpt.errors import ConfigError, QueueError

if TYPE_CHECKING:
    from xpt.config import Config

ENV = "CUDA_VISIBLE_DEVICES"
_DEVICE = re.compile(r"^(?:\d+|(?:GPU|MIG)-[0-9A-Za-z/-]+)$")
_SMI_LINE = re.compile(r"^GPU (\d+):")


@dataclass(frozen=True)
class GpuPlan:
    """The devices a queue shares out, `per_exp` to each running experiment."""

    devices: tuple[str, ...]
    per_exp: int = 1

    @property
    def slots(self) -> int:
        return len(self.devices) // self.per_exp

    def concurrency(self, jobs: int) -> int:
        """How many experiments run at once: the smaller of `-j` and the slots."""
        return max(1, min(max(jobs, 1), self.slots))

    def pick(self, busy: set[str]) -> tuple[str, ...] | None:
        """`per_exp` devices nobody holds (lowest first), or None while too few are free."""
        free = [d for d in self.devices if d not in busy]
        return tuple(free[: self.per_exp]) if len(free) >= self.per_exp else None


def parse_list(text: str) -> tuple[str, ...]:
    """`0,1,3` (indexes or GPU-/MIG- UUIDs) as a tuple; bad or repeated items are errors."""
    items = tuple(part.strip() for part in text.split(",") if part.strip())
    bad = [d for d in items if not _DEVICE.match(d)]
    if not items or bad:
        raise ConfigError(
            f"bad GPU list '{text}'" + (f": '{bad[0]}' is not a device" if bad else ""),
            hint="give device indexes or UUIDs like `--gpus 0,1`, or `--gpus all` / `--gpus auto`",
        )
    if len(set(items)) != len(items):
        raise ConfigError(f"GPU list '{text}' names a device twice", hint="list each device once")
    return items


def detect() -> tuple[str, ...]:
    """The machine's CUDA devices (indexes), through NVML, else `nvidia-smi -L`; may be empty."""
    try:
        import pynvml  # the `gpu` extra: nvidia-ml-py
    except ImportError:
        pynvml = None
    if pynvml is not None:
        try:
            pynvml.nvmlInit()
            try:
                return tuple(str(i) for i in range(pynvml.nvmlDeviceGetCount()))
            finally:
                pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass
    import shutil
    import subprocess

    smi = shutil.which("nvidia-smi")
    if smi is None:
        return ()
    try:
        proc = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    if proc.returncode != 0:
        return ()
    return tuple(m.group(1) for line in proc.stdout.splitlines() if (m := _SMI_LINE.match(line)))


def _per_exp(value: int | str | None) -> int:
    try:
        k = int(value) if value is not None else 1
    except ValueError:
        k = 0
    if k < 1:
        raise ConfigError(
            f"bad GPUs per experiment '{value}'",
            hint="give a whole number ≥ 1, e.g. `--gpus-per-exp 2`",
        )
    return k


def resolve(spec: str | None, per_exp: int | None, config: Config | None) -> GpuPlan | None:
    """The plan from the flags, else `queue.gpus` / `queue.gpus_per_exp`; None: no GPU slots.

    `all` and `auto` detect the devices; finding none is an error, never a CPU run.
    """
    if spec is None and config is not None:
        spec = config.get("queue", "gpus")
    if per_exp is None and config is not None:
        raw = config.get("queue", "gpus_per_exp")
        per_exp = _per_exp(raw) if raw is not None else None
    if spec is None or not spec.strip():
        if per_exp is not None and per_exp != 1:
            raise ConfigError(
                "`--gpus-per-exp` needs the devices to share out",
                hint="add `--gpus 0,1,...` (or `all`/`auto`), or set `xpt config queue.gpus auto`",
            )
        return None
    k = _per_exp(per_exp)
    if spec.strip().lower() in ("all", "auto"):
        devices = detect()
        if not devices:
            raise QueueError(
                "no GPU found (neither NVML nor `nvidia-smi -L` lists a device)",
                hint="install the NVIDIA driver (and `pip install 'xpt[gpu]'`), or list the devices with `--gpus 0,1`",
            )
    else:
        devices = parse_list(spec)
    if k > len(devices):
        raise ConfigError(
            f"each experiment asks for {k} GPUs but only {len(devices)} are given"
            f" ({','.join(devices)})",
            hint="lower `--gpus-per-exp` or give more devices with `--gpus`",
        )
    return GpuPlan(devices, k)


def use_devices(devices: tuple[str, ...] | list[str] | None) -> None:
    """Give this process (and the stage commands it starts) exactly these devices."""
    if devices:
        os.environ[ENV] = ",".join(devices)


class DeviceLocks:
    """Machine-wide device claims as `flock`s on `<folder>/<device>.lock`.

    The experiment process inherits the locked descriptors, so a device stays held
    exactly as long as a process that runs on it lives, whatever kills it.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def try_take(self, plan: GpuPlan) -> tuple[tuple[str, ...], list[int]] | None:
        """Lock `plan.per_exp` free devices: (devices, open fds to keep), or None."""
        got: list[str] = []
        fds: list[int] = []
        for device in plan.devices:
            name = re.sub(r"[^0-9A-Za-z-]", "_", device)
            fd = os.open(self.folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            got.append(device)
            fds.append(fd)
            if len(got) == plan.per_exp:
                return tuple(got), fds
        release(fds)
        return None


def release(fds: list[int]) -> None:
    """Close claim descriptors (the locks go once no process holds them)."""
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
