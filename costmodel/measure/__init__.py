"""Live measurement: throughput, power and energy per token of a model served on the user's own GPUs.

- `inventory()` lists the GPUs through NVML (`opentco gpu`);
- `NvmlSampler` samples power, the energy counter, utilisation, memory, clocks and temperature at 10 Hz;
- `run_sweep()` loads any OpenAI-compatible endpoint at a sweep of concurrency levels;
- `run_benchmark()` / `BenchmarkJob` do both together and work out J/token and $/1M tokens per level;
- `save_benchmark()`, `list_benchmarks()`, `load_benchmark()` keep runs in DuckDB;
- `latest_measurement()` and `apply_measurement()` feed a stored run into a scenario (basis "measured");
- `import_benchmark_files()` stores result files of vLLM bench serve, GuideLLM, AIPerf and GenAI-Perf as
  measured runs too (`opentco measure import`).

Without NVML, a GPU or the permission to read it, a `MeasurementUnavailable` subclass says which, and the
throughput half still works.
"""

from costmodel.measure.benchmark import (
    BenchmarkJob,
    BenchmarkProgress,
    BenchmarkResult,
    LevelFigures,
    LivePoint,
    run_benchmark,
)
from costmodel.measure.energy import (
    CostInputs,
    EnergyBasis,
    EnergyReading,
    energy_usd_per_mtok,
    gpu_hours_usd_per_mtok,
    integrate_power_j,
    window_energy,
)
from costmodel.measure.loadgen import (
    EndpointError,
    LevelResult,
    LoadSettings,
    MeasureInputError,
    SweepProgress,
    SweepResult,
    TokenCountBasis,
    chat_completions_url,
    parse_concurrency,
    resolve_api_key,
    run_sweep,
)
from costmodel.measure.nvml import (
    GpuInfo,
    GpuPermissionDenied,
    Inventory,
    NoGpuFound,
    Nvml,
    NvmlLibraryMissing,
    inventory,
    load_nvml,
)
from costmodel.measure.result_files import (
    BenchFileError,
    ImportedRun,
    ImportFields,
    import_benchmark_files,
    import_sources,
    read_benchmark_file,
    sniff_benchmark_file,
)
from costmodel.measure.results import (
    BenchmarkSummary,
    Measurement,
    apply_measurement,
    gpu_matches,
    latest_measurement,
    list_benchmarks,
    load_benchmark,
    measurement_of,
    save_benchmark,
)
from costmodel.measure.sampler import GpuSample, NvmlSampler

__all__ = [
    "BenchFileError",
    "BenchmarkJob",
    "BenchmarkProgress",
    "BenchmarkResult",
    "BenchmarkSummary",
    "CostInputs",
    "EndpointError",
    "EnergyBasis",
    "EnergyReading",
    "GpuInfo",
    "GpuPermissionDenied",
    "GpuSample",
    "ImportFields",
    "ImportedRun",
    "Inventory",
    "LevelFigures",
    "LevelResult",
    "LivePoint",
    "LoadSettings",
    "MeasureInputError",
    "Measurement",
    "NoGpuFound",
    "Nvml",
    "NvmlLibraryMissing",
    "NvmlSampler",
    "SweepProgress",
    "SweepResult",
    "TokenCountBasis",
    "apply_measurement",
    "chat_completions_url",
    "energy_usd_per_mtok",
    "gpu_hours_usd_per_mtok",
    "gpu_matches",
    "import_benchmark_files",
    "import_sources",
    "integrate_power_j",
    "inventory",
    "latest_measurement",
    "list_benchmarks",
    "load_benchmark",
    "load_nvml",
    "measurement_of",
    "parse_concurrency",
    "read_benchmark_file",
    "resolve_api_key",
    "run_benchmark",
    "run_sweep",
    "save_benchmark",
    "sniff_benchmark_file",
    "window_energy",
]
