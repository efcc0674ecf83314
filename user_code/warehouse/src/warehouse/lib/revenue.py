"""Daily revenue with DuckDB: an in-memory database per call, orders in, one row per day out."""

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from warehouse.lib.orders import Order

QUERY = """
select day, count(*) as orders, sum(amount_cents) as revenue_cents,
       count(distinct customer) as customers
from orders group by day order by day
"""


@dataclass(frozen=True)
class DailyRevenue:
    day: str
    orders: int
    revenue_cents: int
    customers: int


def daily_revenue(orders: Sequence[Order]) -> list[DailyRevenue]:
    with duckdb.connect(":memory:") as connection:
        connection.execute(
            "create table orders (order_id integer, day varchar, customer varchar, amount_cents bigint)"
        )
        connection.executemany(
            "insert into orders values (?, ?, ?, ?)",
            [(o.order_id, o.day, o.customer, o.amount_cents) for o in orders],
        )
        rows = connection.execute(QUERY).fetchall()
    return [DailyRevenue(day, int(n), int(cents), int(customers)) for day, n, cents, customers in rows]


def markdown_table(rows: Sequence[DailyRevenue]) -> str:
    lines = ["| day | orders | revenue | customers |", "|---|---:|---:|---:|"]
    lines += [f"| {r.day} | {r.orders} | {r.revenue_cents / 100:.2f} | {r.customers} |" for r in rows]
    return "\n".join(lines)


def duckdb_version() -> str:
    return duckdb.__version__
