"""Evaluation tables (owned by the quality issue). Prompts, references and answers stay in this local file.

- `eval_runs`: one row per run: the task set's name and hash, the settings as JSON (target URLs, models
  and the *names* of key variables — never a key), whether scores are accuracy or agreement with a logged
  model, and the run's state;
- `eval_tasks`: the run's tasks as given (prompt, reference, scorer), so results can be read back beside
  what was asked;
- `eval_results`: one row per task and target: pass/score, answer, latency (TTFT and total), tokens
  (input, output, reasoning), attempts and the error of a failed item. A failed item is retried by the next
  run of the same task set and settings, which replaces its row.
"""

from __future__ import annotations

import duckdb

from costmodel.store import migration

__all__: list[str] = []


@migration("eval_001_tables")
def _eval_001_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SEQUENCE eval_runs_id_seq START 1")
    con.execute(
        """
        CREATE TABLE eval_runs (
            id BIGINT PRIMARY KEY DEFAULT nextval('eval_runs_id_seq'),
            run_key VARCHAR NOT NULL,         -- task set hash + answer-changing settings (resume finds it)
            task_set_name VARCHAR NOT NULL,
            task_set_sha256 VARCHAR NOT NULL,
            scoring VARCHAR NOT NULL,         -- 'reference' (accuracy) or 'agreement' (references from logs)
            settings_json VARCHAR NOT NULL,   -- RunSettings: URLs, models, key variable NAMES only
            task_count INTEGER NOT NULL,      -- tasks stored for the run
            status VARCHAR NOT NULL,          -- running, finished, stopped
            created_at TIMESTAMP NOT NULL,    -- UTC
            updated_at TIMESTAMP NOT NULL     -- UTC
        )
        """
    )
    con.execute(
        """
        CREATE TABLE eval_tasks (
            run_id BIGINT NOT NULL,
            task_id VARCHAR NOT NULL,
            position INTEGER NOT NULL,        -- order in the file
            task_class VARCHAR NOT NULL,
            scorer VARCHAR NOT NULL,
            task_json VARCHAR NOT NULL,       -- the whole task: messages, reference, scorer settings
            PRIMARY KEY (run_id, task_id)
        )
        """
    )
    con.execute(
        """
        CREATE TABLE eval_results (
            run_id BIGINT NOT NULL,
            task_id VARCHAR NOT NULL,
            target_label VARCHAR NOT NULL,
            passed BOOLEAN,                   -- NULL when the item failed (error set)
            score DOUBLE,                     -- 0..1, partial credit (json_fields)
            field_scores_json VARCHAR,
            answer VARCHAR,
            detail VARCHAR,                   -- why it failed, or the judge's reason
            ttft_ms DOUBLE,                   -- NULL when not streamed
            latency_ms DOUBLE,
            input_tokens BIGINT,              -- NULL when the endpoint reports no usage
            output_tokens BIGINT,
            reasoning_tokens BIGINT,
            attempts INTEGER NOT NULL,
            error VARCHAR,                    -- set when the item failed for good (retried on the next run)
            finished_at TIMESTAMP NOT NULL,   -- UTC
            PRIMARY KEY (run_id, task_id, target_label)
        )
        """
    )
