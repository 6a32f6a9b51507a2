"""Quality on the user's own tasks: run task sets against OpenAI-compatible endpoints, score, store, compare.

- `load_tasks()` / `parse_tasks()` read a task set (JSONL or CSV; bad lines named `file:line:field`);
- `parse_target()` reads `LABEL=BASE_URL,model=NAME[,api_key_env=VAR]`; `RunSettings` holds a run's settings;
- `run_eval()` runs (or resumes) a task set against targets and stores every item; `EvalJob` does it in a
  background thread for the dashboard;
- `summarise()` gives accuracy with Wilson intervals per target and task class, tokens, latency, errors and
  the paired comparison with the first target (exact McNemar test, Newcombe interval);
- `list_runs()`, `load_run()`, `result_table()`, `delete_run()` read and delete stored runs;
- `costmodel.evals.decision` turns a run into per-option quality for the economics engine and routes task
  classes to the cheapest option that meets a quality floor;
- `tasks_from_logs()` samples a task set from a Langfuse or LiteLLM export (opt-in), scored as agreement.
"""

from costmodel.evals.decision import (
    ClassQuality,
    ClassRoute,
    FloorFailure,
    OptionQuality,
    QualityFloor,
    QualityRouting,
    cost_per_successful_task,
    quality_from_run,
    route_by_quality,
    token_ratios,
)
from costmodel.evals.errors import BadTaskLine, EvalInputError, EvalRunError
from costmodel.evals.from_logs import LogSample, tasks_from_logs
from costmodel.evals.results import (
    ItemResult,
    RunInfo,
    delete_run,
    list_runs,
    load_results,
    load_run,
    load_run_tasks,
    result_table,
)
from costmodel.evals.runner import EvalJob, Progress, RunOutcome, run_eval, run_eval_async
from costmodel.evals.scorers import Score, score_answer
from costmodel.evals.stats import PairedComparison, mcnemar_exact_p, paired_comparison, wilson_interval
from costmodel.evals.summary import ClassSummary, RunSummary, TargetSummary, summarise
from costmodel.evals.targets import RunSettings, Target, parse_target
from costmodel.evals.tasks import SCORERS, Task, TaskSet, load_tasks, parse_tasks

__all__ = [
    "SCORERS",
    "BadTaskLine",
    "ClassQuality",
    "ClassRoute",
    "ClassSummary",
    "EvalInputError",
    "EvalJob",
    "EvalRunError",
    "FloorFailure",
    "ItemResult",
    "LogSample",
    "OptionQuality",
    "PairedComparison",
    "Progress",
    "QualityFloor",
    "QualityRouting",
    "RunInfo",
    "RunOutcome",
    "RunSettings",
    "RunSummary",
    "Score",
    "Target",
    "TargetSummary",
    "Task",
    "TaskSet",
    "cost_per_successful_task",
    "delete_run",
    "list_runs",
    "load_results",
    "load_run",
    "load_run_tasks",
    "load_tasks",
    "mcnemar_exact_p",
    "paired_comparison",
    "parse_target",
    "parse_tasks",
    "quality_from_run",
    "result_table",
    "route_by_quality",
    "run_eval",
    "run_eval_async",
    "score_answer",
    "summarise",
    "tasks_from_logs",
    "token_ratios",
    "wilson_interval",
]
