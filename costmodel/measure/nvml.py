"""The boundary to NVML (`pynvml`, from the `nvidia-ml-py` package) and the GPU inventory.

Everything the measurement code needs from NVML goes through the `Nvml` protocol, which the `pynvml`
module itself satisfies; tests put a fake in its place. `pynvml` is imported only when a measurement is
asked for, so the rest of the product works on machines without it. Each way NVML can be missing gets its
own error with its own fix: no library, no GPU, no permission.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Protocol

from pydantic import Field

from costmodel._base import StrictModel
from costmodel.errors import MeasurementUnavailable

__all__ = [
    "GpuInfo",
    "GpuPermissionDenied",
    "Inventory",
    "NoGpuFound",
    "Nvml",
    "NvmlLibraryMissing",
    "inventory",
    "load_nvml",
    "nvml_session",
]

# NVML return codes (nvml.h); pynvml exposes them under the same names.
_ERROR_NO_PERMISSION = 4
_ERROR_NOT_FOUND = 6
_ERROR_DRIVER_NOT_LOADED = 9
_ERROR_LIBRARY_NOT_FOUND = 12
_ERROR_GPU_IS_LOST = 15

NO_GPU_MESSAGE = "NVML loaded but reports no GPU. Check `nvidia-smi` and that the GPU is attached (`--gpus all`)."


class NvmlLibraryMissing(MeasurementUnavailable):
    """The `nvidia-ml-py` package or the driver's NVML library (`libnvidia-ml.so.1`) is not installed."""


class NoGpuFound(MeasurementUnavailable):
    """NVML loaded, but no NVIDIA GPU is visible (driver not loaded, no device, or device lost)."""


class GpuPermissionDenied(MeasurementUnavailable):
    """A GPU exists but this process may not read it."""


class Nvml(Protocol):
    """The part of `pynvml` the measurement code calls (the `pynvml` module satisfies it as is).

    Units are NVML's: power in milliwatts, energy in millijoules since the driver loaded, memory in bytes,
    clocks in MHz, temperature in °C, utilisation in percent.
    """

    NVMLError: type[Exception]
    NVML_CLOCK_SM: int
    NVML_TEMPERATURE_GPU: int

    def nvmlInit(self) -> None: ...
    def nvmlShutdown(self) -> None: ...
    def nvmlSystemGetDriverVersion(self) -> str | bytes: ...
    def nvmlSystemGetCudaDriverVersion(self) -> int: ...
    def nvmlDeviceGetCount(self) -> int: ...
    def nvmlDeviceGetHandleByIndex(self, index: int) -> Any: ...
    def nvmlDeviceGetName(self, handle: Any) -> str | bytes: ...
    def nvmlDeviceGetUUID(self, handle: Any) -> str | bytes: ...
    def nvmlDeviceGetMemoryInfo(self, handle: Any) -> Any: ...
    def nvmlDeviceGetEnforcedPowerLimit(self, handle: Any) -> int: ...
    def nvmlDeviceGetPowerUsage(self, handle: Any) -> int: ...
    def nvmlDeviceGetTotalEnergyConsumption(self, handle: Any) -> int: ...
    def nvmlDeviceGetUtilizationRates(self, handle: Any) -> Any: ...
    def nvmlDeviceGetClockInfo(self, handle: Any, clock_type: int) -> int: ...
    def nvmlDeviceGetTemperature(self, handle: Any, sensor: int) -> int: ...


class GpuInfo(StrictModel):
    """One GPU as NVML describes it."""

    index: int = Field(ge=0)
    """NVML device index (the order `nvidia-smi` lists them in)."""
    name: str
    """Product name, e.g. `NVIDIA H100 80GB HBM3`."""
    uuid: str | None = None
    """Stable device id (`GPU-…`)."""
    memory_total_mib: float = Field(ge=0)
    """Total device memory, MiB."""
    power_limit_w: float | None = None
    """Enforced power limit, watts (empty where NVML does not report one)."""
    energy_counter_supported: bool
    """Whether the GPU has a total-energy counter (Volta and newer); else energy is integrated from power."""


class Inventory(StrictModel):
    """The GPUs of this machine and the software that drives them."""

    driver_version: str
    """NVIDIA driver version, e.g. `580.159.04`."""
    cuda_version: str
    """Highest CUDA version the driver supports, e.g. `13.0`."""
    gpus: list[GpuInfo]
    """Every visible GPU, by index."""

    def summary(self, indices: list[int] | None = None) -> str:
        """`8× NVIDIA H100 80GB HBM3`-style label of the GPUs at `indices` (all when empty)."""
        chosen = [g for g in self.gpus if indices is None or g.index in indices]
        names = sorted({g.name for g in chosen})
        if len(names) == 1:
            return names[0]
        return "mixed: " + ", ".join(names)


def load_nvml() -> Nvml:
    """Import `pynvml` now (never at module import), or say that the package is missing."""
    try:
        import pynvml
    except ImportError:
        raise NvmlLibraryMissing(
            "GPU measurement needs the Python package nvidia-ml-py (`pip install nvidia-ml-py`); "
            "everything else in OpenTCO works without it."
        ) from None
    return pynvml  # type: ignore[return-value]


def unavailable_error(nvml: Nvml, ex: Exception) -> MeasurementUnavailable:
    """Turn an NVML failure into the error that names its cause and its fix."""
    code = getattr(ex, "value", None)
    if code == _ERROR_LIBRARY_NOT_FOUND:
        return NvmlLibraryMissing(
            "NVML (libnvidia-ml.so.1, installed with the NVIDIA driver) was not found on this machine, so "
            "there is no GPU to measure. Install the NVIDIA driver, or run the measurement on the machine "
            "that serves the model; throughput can still be measured without power."
        )
    if code in (_ERROR_DRIVER_NOT_LOADED, _ERROR_NOT_FOUND, _ERROR_GPU_IS_LOST):
        return NoGpuFound(
            f"no NVIDIA GPU is visible ({ex}). Check `nvidia-smi`; in a container start it with the GPU "
            "attached (`--gpus all`)."
        )
    if code == _ERROR_NO_PERMISSION:
        return GpuPermissionDenied(
            "this process has no permission to read the GPU through NVML. Run as a user that may open "
            "/dev/nvidia* (or in a container started with `--gpus all`)."
        )
    return MeasurementUnavailable(f"NVML failed: {ex}. Check that `nvidia-smi` works on this machine.")


@contextlib.contextmanager
def nvml_session(nvml: Nvml | None = None) -> Iterator[Nvml]:
    """Initialise NVML for the duration of a `with` block, turning its failures into typed errors.

    Args:
        nvml: The NVML implementation; `pynvml` when empty.

    Yields:
        The initialised NVML, with at least one GPU.
    """
    api = nvml if nvml is not None else load_nvml()
    try:
        api.nvmlInit()
    except api.NVMLError as ex:
        raise unavailable_error(api, ex) from None
    try:
        try:
            count = api.nvmlDeviceGetCount()
        except api.NVMLError as ex:
            raise unavailable_error(api, ex) from None
        if count < 1:
            raise NoGpuFound(NO_GPU_MESSAGE)
        yield api
    finally:
        with contextlib.suppress(api.NVMLError):
            api.nvmlShutdown()


def text(value: str | bytes) -> str:
    """NVML strings arrive as `bytes` from older `pynvml` releases and `str` from newer ones."""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def read_inventory(api: Nvml) -> Inventory:
    """The inventory, read through an NVML that is already initialised."""
    try:
        driver = text(api.nvmlSystemGetDriverVersion())
        cuda = api.nvmlSystemGetCudaDriverVersion()
        gpus = []
        for index in range(api.nvmlDeviceGetCount()):
            handle = api.nvmlDeviceGetHandleByIndex(index)
            gpus.append(
                GpuInfo(
                    index=index,
                    name=text(api.nvmlDeviceGetName(handle)),
                    uuid=_optional(api, lambda h=handle: text(api.nvmlDeviceGetUUID(h))),
                    memory_total_mib=api.nvmlDeviceGetMemoryInfo(handle).total / 2**20,
                    power_limit_w=_optional(api, lambda h=handle: api.nvmlDeviceGetEnforcedPowerLimit(h) / 1000),
                    energy_counter_supported=_optional(api, lambda h=handle: api.nvmlDeviceGetTotalEnergyConsumption(h))
                    is not None,
                )
            )
    except api.NVMLError as ex:
        raise unavailable_error(api, ex) from None
    # CUDA's encoding: 1000 × major + 10 × minor (12040 → 12.4).
    return Inventory(driver_version=driver, cuda_version=f"{cuda // 1000}.{cuda % 1000 // 10}", gpus=gpus)


def _optional(api: Nvml, read: Any) -> Any:
    """A reading some GPUs do not support (NOT_SUPPORTED and friends): `None` instead of an error."""
    try:
        return read()
    except api.NVMLError as ex:
        if getattr(ex, "value", None) == _ERROR_NO_PERMISSION:
            raise
        return None


def inventory(*, nvml: Nvml | None = None) -> Inventory:
    """List this machine's NVIDIA GPUs: name, memory, power limit, energy counter, driver and CUDA versions.

    Args:
        nvml: The NVML implementation; `pynvml` when empty (tests pass a fake).

    Returns:
        The inventory.

    Raises:
        MeasurementUnavailable: `NvmlLibraryMissing`, `NoGpuFound` or `GpuPermissionDenied`, saying which.
    """
    with nvml_session(nvml) as api:
        return read_inventory(api)
