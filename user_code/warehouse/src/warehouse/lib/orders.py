"""Pure helpers: deterministic demo orders. No Dagster, no DuckDB."""

import random
from dataclasses import dataclass
from datetime import date, timedelta

CUSTOMERS = ("acme", "globex", "initech", "umbrella", "hooli")


@dataclass(frozen=True)
class Order:
    order_id: int
    day: str  # ISO date
    customer: str
    amount_cents: int


def generate_orders(days: int, orders_per_day: int, seed: int, start: date) -> list[Order]:
    """The same arguments give the same orders in every process (a seeded Random, never the
    salted built-in hash)."""
    if days < 1 or orders_per_day < 1:
        raise ValueError(f"days and orders_per_day must be at least 1, got {days} and {orders_per_day}")
    rng = random.Random(seed)
    orders = []
    for offset in range(days):
        day = (start + timedelta(days=offset)).isoformat()
        for _ in range(orders_per_day):
            orders.append(Order(len(orders) + 1, day, rng.choice(CUSTOMERS), rng.randint(500, 50_000)))
    return orders
