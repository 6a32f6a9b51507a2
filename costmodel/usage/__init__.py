"""Usage logs: import exports into DuckDB, summarise them, and turn them into a workload and a replay.

- `import_file()` imports one file (any format in `costmodel.importers`) in one transaction;
- `import_history()` and `reject_csv()` show what was imported and what was refused;
- `usage_series()`, `hour_of_week()`, `peak_to_average()`, `monthly_growth_pct()` and `summarize()` read it;
- `cost_check()`, `daily_cost()` and `flagged_rows()` compare reported cost with genai-prices;
- `measure_workload()` / `workload_from_usage()` build the scenario workload the logs describe (default period
  guarded against near-empty months, any range on request, warnings with numbers); `replay()` prices each logged
  month under each option of a scenario and `replay_totals()` adds the months up; `reprice()` prices each month
  as reported, at the list price in force then, at today's list price and under each option.
"""

from costmodel.usage.costs import CostBasis, CostCheck, ModelCost, cost_basis, cost_check, daily_cost, flagged_rows
from costmodel.usage.ingest import (
    ImportRecord,
    ImportResult,
    RejectedRow,
    RowsRejected,
    import_file,
    import_history,
    reject_csv,
)
from costmodel.usage.replay import ReplayMonth, ReplayTotals, replay, replay_totals
from costmodel.usage.reprice import RepricedHistory, RepricedMonth, reprice
from costmodel.usage.summary import (
    Dimension,
    Grain,
    MonthTotals,
    UsageSummary,
    hour_of_week,
    monthly_growth_pct,
    monthly_totals,
    peak_to_average,
    summarize,
    usage_series,
)
from costmodel.usage.workload import MeasuredWorkload, NoUsageData, PeriodBasis, measure_workload, workload_from_usage

__all__ = [
    "CostBasis",
    "CostCheck",
    "Dimension",
    "Grain",
    "ImportRecord",
    "ImportResult",
    "MeasuredWorkload",
    "ModelCost",
    "MonthTotals",
    "NoUsageData",
    "PeriodBasis",
    "RejectedRow",
    "ReplayMonth",
    "ReplayTotals",
    "RepricedHistory",
    "RepricedMonth",
    "RowsRejected",
    "UsageSummary",
    "cost_basis",
    "cost_check",
    "daily_cost",
    "flagged_rows",
    "hour_of_week",
    "import_file",
    "import_history",
    "measure_workload",
    "monthly_growth_pct",
    "monthly_totals",
    "peak_to_average",
    "reject_csv",
    "replay",
    "replay_totals",
    "reprice",
    "summarize",
    "usage_series",
    "workload_from_usage",
]
