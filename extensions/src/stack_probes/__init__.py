"""Docker health checks of the stack's services that do not import Dagster.

`dagster api grpc-health-check` and `dagster-daemon liveness-check` each start a Python that
imports Dagster, on every check of every service: CPU taken from the runs on a small host.
These ask the same questions with grpcio or psycopg2 alone, a fraction of that cost."""
