"""Exit 0 if the gRPC server on localhost:PORT answers the standard health service with
SERVING (what `dagster api grpc-health-check` asks). Usage: python -m stack_probes.grpc_serving 4000"""

import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def serving(port: int, timeout_s: float = 5.0) -> bool:
    with grpc.insecure_channel(f"localhost:{port}") as channel:
        response = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=timeout_s
        )
    return response.status == health_pb2.HealthCheckResponse.SERVING


def main() -> int:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    try:
        ok = serving(port)
    except grpc.RpcError as error:
        print(f"gRPC server on port {port} unreachable: {error.code().name}")
        return 1
    print("SERVING" if ok else "NOT SERVING")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
