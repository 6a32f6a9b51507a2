"""How rented GPUs are really bought: whole instances of a fixed shape, at a dated price.

A replica of k GPUs must sit on one node (tensor parallelism needs the node's NVLink), so it is priced
from instances that hold at least k GPUs; replicas then pack onto whole nodes and every node is paid for
whole. Replicas larger than the biggest node span several nodes of it. Catalog rows flagged `anomaly`,
`suspect` or `marketplace` (single offers, not list prices) are left out unless asked for, and a price
older than `STALE_AFTER_DAYS` is flagged wherever it is used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from costmodel.catalog import GpuPrice, catalog

__all__ = ["STALE_AFTER_DAYS", "Offer", "choose_offer", "offers_for", "typed_offer"]

STALE_AFTER_DAYS = 180
"""A price read from a source older than this is shown with a warning (providers reprice often)."""


@dataclass(frozen=True)
class Offer:
    """One instance type at one provider, region and plan: the unit a cloud bills."""

    provider: str
    instance_type: str
    region: str | None
    plan: str
    gpus_per_node: int
    usd_per_node_hour: Decimal
    source: str
    as_of: date | None
    """When the row was read."""
    price_date: date | None
    """When the provider's price was in force (catalog commit or announcement date)."""
    flag: str | None = None
    payment: str | None = None
    """For commitments: `none`, `partial` or `all_upfront` (empty: none)."""
    typed: bool = False
    """True when the price was typed by the user (no catalog row)."""

    @property
    def usd_per_gpu_hour(self) -> Decimal:
        return self.usd_per_node_hour / self.gpus_per_node

    def replicas_per_node(self, gpus_per_replica: int) -> int:
        """Replicas one node holds (0 when a replica spans several nodes)."""
        return self.gpus_per_node // gpus_per_replica

    def nodes_per_replica(self, gpus_per_replica: int) -> int:
        """Nodes one replica spans (1 when it fits on one node)."""
        return max(1, math.ceil(gpus_per_replica / self.gpus_per_node))

    def nodes_for(self, replicas: int, gpus_per_replica: int) -> int:
        """Whole nodes paid for to run `replicas` replicas."""
        per = self.replicas_per_node(gpus_per_replica)
        if per >= 1:
            return math.ceil(replicas / per)
        return replicas * self.nodes_per_replica(gpus_per_replica)

    def age_days(self, today: date) -> int | None:
        return (today - self.price_date).days if self.price_date else None

    def is_stale(self, today: date) -> bool:
        age = self.age_days(today)
        return age is not None and age > STALE_AFTER_DAYS

    def describe(self) -> str:
        if self.typed:
            return f"typed by the user (${self.usd_per_gpu_hour}/GPU-hour, {self.gpus_per_node}-GPU node)"
        when = f"price of {self.price_date}" if self.price_date else "price date unknown"
        flag = f", flagged {self.flag}" if self.flag else ""
        return (
            f"{self.provider} {self.instance_type} ({self.gpus_per_node} GPU, {self.region or 'any region'}), "
            f"{self.plan} ${self.usd_per_node_hour}/node-hour; {when}, read {self.as_of}{flag}: {self.source}"
        )


def _offer(row: GpuPrice) -> Offer:
    return Offer(
        provider=row.provider,
        instance_type=row.instance_type,
        region=row.region,
        plan=row.plan,
        gpus_per_node=row.gpu_count,
        usd_per_node_hour=row.usd_per_instance_hour,
        source=row.source,
        as_of=row.as_of,
        price_date=row.price_date or row.as_of,
        flag=row.flag,
        payment=row.payment,
    )


def offers_for(
    gpu_id: str,
    *,
    gpus_per_replica: int,
    plan: str,
    provider: str | None = None,
    include_flagged: bool = False,
) -> list[Offer]:
    """Instances that can run one replica of `gpus_per_replica` GPUs, newest price per instance and region.

    A replica fits on an instance of at least as many GPUs; a larger replica spans several nodes of the
    provider's largest instance when its GPU count is a multiple of that node's.
    """
    rows = [r for r in catalog().gpu_prices(gpu_id, plan=plan, provider=provider) if include_flagged or not r.flag]
    newest: dict[tuple[str, str, str | None, str], GpuPrice] = {}
    for r in rows:
        key = (r.provider, r.instance_type, r.region, r.plan)
        if key not in newest or (r.price_date or r.as_of) > (newest[key].price_date or newest[key].as_of):
            newest[key] = r
    largest: dict[str, int] = {}
    for r in newest.values():
        largest[r.provider] = max(largest.get(r.provider, 0), r.gpu_count)
    out = []
    for r in newest.values():
        if r.gpu_count >= gpus_per_replica or (
            r.gpu_count == largest[r.provider] and gpus_per_replica % r.gpu_count == 0
        ):
            out.append(_offer(r))
    return sorted(out, key=lambda o: (o.usd_per_gpu_hour, o.provider, o.instance_type))


def typed_offer(usd_per_gpu_hour: Decimal, *, like: Offer | None, gpus_per_replica: int, plan: str) -> Offer:
    """The user's own per-GPU-hour price, on the catalog instance shape when one was chosen."""
    gpn = like.gpus_per_node if like else gpus_per_replica
    return Offer(
        provider=like.provider if like else "your provider",
        instance_type=like.instance_type if like else f"{gpus_per_replica}-GPU node",
        region=like.region if like else None,
        plan=plan,
        gpus_per_node=gpn,
        usd_per_node_hour=usd_per_gpu_hour * gpn,
        source="typed by the user",
        as_of=None,
        price_date=None,
        typed=True,
    )


def choose_offer(offers: Sequence[Offer], *, gpus_per_replica: int, replicas_by_month: Sequence[int]) -> Offer:
    """The instance that costs least for the replica counts the horizon needs (whole nodes paid for).

    Prices are compared at their month-1 level (trends move every offer alike).
    """

    def cost(o: Offer) -> Decimal:
        return sum((o.nodes_for(r, gpus_per_replica) * o.usd_per_node_hour for r in replicas_by_month), Decimal(0))

    return min(offers, key=lambda o: (cost(o), o.provider, o.instance_type))
