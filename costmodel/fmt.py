"""How the engine writes numbers in sentences: money in the scenario's currency, volumes with SI suffixes."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["money", "pct", "tokens"]

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CHF": "CHF ", "CAD": "C$", "AUD": "A$"}


def money(usd: Decimal | float, *, currency: str = "USD", fx: Decimal = Decimal(1), decimals: int = 0) -> str:
    """`$12,345` / `€11,358` from an amount in USD and the rate typed by the user."""
    amount = Decimal(str(usd)) * fx
    sym = _SYMBOLS.get(currency, f"{currency} ")
    sign = "-" if amount < 0 else ""
    return f"{sign}{sym}{abs(amount):,.{decimals}f}"


def tokens(n: Decimal | float) -> str:
    """`1.2B`, `340M`, `12k` tokens."""
    x = float(n)
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= size:
            v = x / size
            return f"{v:,.1f}{unit}" if v < 100 else f"{v:,.0f}{unit}"
    return f"{x:,.0f}"


def pct(x: Decimal | float, *, decimals: int = 0) -> str:
    return f"{float(x):.{decimals}f}%"
