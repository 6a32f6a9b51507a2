"""vLLM, SGLang and TGI Prometheus metrics: `/metrics` scrapes or a `query_range` export, read as self-hosted usage.

Counters become tokens per instance × model × hour (`costmodel.fleet.derive`), stored as usage rows of provider
`self-hosted`; instances, load gauges and latency histograms go to the fleet tables (`costmodel.fleet.store`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from costmodel.importers._base import Importer, ParsedRow, register

__all__ = ["PrometheusMetrics"]


@register
class PrometheusMetrics(Importer):
    name = "prometheus-metrics"
    title = "vLLM / SGLang / TGI Prometheus metrics (/metrics scrapes or query_range JSON)"
    doc_url = "https://prometheus.io/docs/instrumenting/exposition_formats/"
    priority = 10

    # costmodel.fleet reads files with this package's readers, so it is imported when used, not at import time
    def sniff(self, head: bytes, filename: str) -> bool:
        from costmodel.fleet.parse import sniff_query_range, sniff_text

        return sniff_query_range(head) or sniff_text(head)

    def parse(self, fp: IO[bytes], *, file: str) -> Iterator[ParsedRow]:
        from costmodel.fleet.derive import derive
        from costmodel.fleet.parse import parse_query_range, parse_text
        from costmodel.fleet.store import FleetRows, usage_records

        start = fp.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        fp.seek(0)
        samples = parse_query_range(fp, file=file) if start in (b"{", b"[") else parse_text(fp, file=file)
        data = derive(samples, file=file)
        yield from data.rejected
        yield FleetRows(data)
        yield from usage_records(data, file=file)
