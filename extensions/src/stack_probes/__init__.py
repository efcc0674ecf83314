"""Docker health checks of the stack's services that do not import Dagster.

`dagster api grpc-health-check` and `dagster-daemon liveness-check` each import Dagster:
about 1.5 s of CPU per check, every 10-20 s, per service, taken from the runs on a 2-core
host. These ask the same questions with grpcio or psycopg2 alone (about 0.1-0.2 s)."""
