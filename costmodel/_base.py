"""One strict base model and the shared, unit-carrying type aliases.

Every input model in the engine derives from `StrictModel`: unknown fields are an error (a typo in a
scenario file must not be silently ignored) and each field's docstring becomes its description.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Fraction", "NonNegInt", "Percent", "PosFloat", "StrictModel", "Usd", "UsdRate"]


class StrictModel(BaseModel):
    """Base for every engine input: strict keys, docstrings as descriptions, validated on assignment."""

    model_config = ConfigDict(
        extra="forbid",
        use_attribute_docstrings=True,
        validate_assignment=True,
        ser_json_inf_nan="strings",
    )


Usd = Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=8)]
"""An amount of money in US dollars, never negative."""
UsdRate = Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=10)]
"""A price in USD per some unit named by the field (hour, kWh, million tokens)."""
Fraction = Annotated[float, Field(ge=0, le=1)]
"""A share between 0 and 1 (0.25 = 25 %)."""
Percent = Annotated[float, Field(ge=-100, le=1000)]
"""A percentage: -20 means minus twenty percent."""
PosFloat = Annotated[float, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]
