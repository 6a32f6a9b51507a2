"""The fleet you already run: vLLM, SGLang and TGI Prometheus metrics turned into usage, load and cost.

`costmodel.importers.prometheus` reads the files (through `opentco import`); `fleet_report` says what the fleet
did and what it costs per million tokens next to the API options.
"""
