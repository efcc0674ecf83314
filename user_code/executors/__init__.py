"""Custom Dagster executors.

`warm_pool_executor` runs steps in a pool of warm worker processes that live for the
whole run (see warm_pool.py for the design).
"""

from user_code.lib.cpu_quota import container_cpu_count
from user_code.executors.warm_pool import WarmPoolExecutor, warm_pool_executor

__all__ = ["WarmPoolExecutor", "container_cpu_count", "warm_pool_executor"]
