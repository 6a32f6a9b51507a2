"""Usage-log importers: one module per format, each registered with `@register`.

`detect_format(head, filename)` returns the importer that recognises a file's first bytes;
`get_importer(name)` the one named by `--format`; `IMPORTERS` lists them all.
"""

# Importing a format's module registers it (detection order is set by each importer's `priority`).
from costmodel.importers import (  # noqa: F401
    anthropic_api,
    anthropic_csv,
    bedrock,
    costs_api,
    focus,
    generic,
    langfuse,
    litellm,
    openai_api,
    openai_csv,
    openrouter,
    prometheus,
)
from costmodel.importers._base import (
    IMPORTERS,
    CacheHit,
    ColumnarImporter,
    CsvImporter,
    Extra,
    Importer,
    JsonImporter,
    ParsedRow,
    Skip,
    detect_format,
    get_importer,
    register,
)
from costmodel.importers.records import ImportLimits, UsageRecord

__all__ = [
    "IMPORTERS",
    "CacheHit",
    "ColumnarImporter",
    "CsvImporter",
    "Extra",
    "ImportLimits",
    "Importer",
    "JsonImporter",
    "ParsedRow",
    "Skip",
    "UsageRecord",
    "detect_format",
    "get_importer",
    "register",
]
