"""`raw_orders` -> `daily_revenue`: demo orders, aggregated per day with DuckDB."""

import os
from dataclasses import asdict
from datetime import date

import dagster as dg

from warehouse.defs.resources import WarehouseCredentials
from warehouse.lib.orders import Order, generate_orders
from warehouse.lib.revenue import daily_revenue as compute_daily_revenue
from warehouse.lib.revenue import duckdb_version, markdown_table


class OrdersConfig(dg.Config):
    """days x orders_per_day orders from `seed`, starting on `start` (ISO date)."""

    days: int = 7
    orders_per_day: int = 20
    seed: int = 0
    start: str = "2026-01-01"


@dg.asset(group_name="warehouse")
def raw_orders(config: OrdersConfig) -> dg.Output[list[Order]]:
    orders = generate_orders(
        config.days, config.orders_per_day, config.seed, date.fromisoformat(config.start)
    )
    return dg.Output(orders, metadata={"orders": len(orders), "days": config.days})


@dg.asset(group_name="warehouse")
def daily_revenue(
    raw_orders: list[Order], credentials: WarehouseCredentials
) -> dg.MaterializeResult:
    """Revenue per day. Records which credentials and region it ran with (a fingerprint of
    the token, never the token) and the DuckDB that computed it."""
    rows = compute_daily_revenue(raw_orders)
    return dg.MaterializeResult(
        metadata={
            "days": len(rows),
            "revenue": round(sum(r.revenue_cents for r in rows) / 100, 2),
            "table": dg.MetadataValue.md(markdown_table(rows)),
            "rows": dg.MetadataValue.json([asdict(r) for r in rows]),
            "duckdb_version": duckdb_version(),
            "region": os.environ.get("WAREHOUSE_REGION", ""),
            "api_token_fingerprint": credentials.api_token_fingerprint(),
        }
    )
