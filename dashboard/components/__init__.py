"""Reusable dashboard pieces: cached engine calls, scenario edits, controls, KPI cards and charts.

Nothing here computes money or tokens: every figure comes from `costmodel`; these modules only choose
what to ask the engine, and how to show its answer.
"""
