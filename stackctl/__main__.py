"""python -m stackctl {up,deploy,rollback,gc,down,versions}: see docs/code-locations.md."""

import argparse
import sys

import docker
import docker.errors

from stackctl.compose import ComposeError
from stackctl.declaration import DeclarationError
from stackctl.deploy import Deployer, DeployError
from stackctl.images import BuildError
from stackctl.settings import SettingError, load_settings
from stackctl.webserver import WebserverError

EXPECTED_ERRORS = (DeclarationError, DeployError, BuildError, ComposeError, SettingError, WebserverError)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stackctl", description="Deploy the stack's code locations.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="build, start every service and deploy every location")
    deploy = commands.add_parser("deploy", help="build a location and switch to it with no downtime")
    deploy.add_argument("location")
    rollback = commands.add_parser("rollback", help="return a location to its previous version")
    rollback.add_argument("location")
    remove = commands.add_parser("remove", help="retire a location whose line left workspace.yaml")
    remove.add_argument("location")
    commands.add_parser("gc", help="remove location images no run needs (the last STACK_KEEP_IMAGES stay)")
    versions = commands.add_parser("versions", help="a location's deployed versions, oldest first")
    versions.add_argument("location")
    down = commands.add_parser("down", help="stop and remove the stack")
    down.add_argument("--volumes", action="store_true", help="also remove its data")
    down.add_argument("--images", action="store_true", help="also remove its images")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as error:
        print(f"stackctl: cannot reach the Docker engine: {error}", file=sys.stderr)
        return 2
    except SettingError as error:
        print(f"stackctl: {error}", file=sys.stderr)
        return 2
    deployer = Deployer(settings, client, log=lambda message: print(message, flush=True))
    try:
        if args.command == "up":
            deployer.up()
        elif args.command == "deploy":
            deployer.deploy(args.location)
            deployer.gc()
        elif args.command == "rollback":
            deployer.rollback(args.location)
        elif args.command == "remove":
            deployer.remove(args.location)
        elif args.command == "gc":
            deployer.gc()
        elif args.command == "versions":
            print("\n".join(deployer.state.history(args.location)))
        elif args.command == "down":
            deployer.down(volumes=args.volumes, images=args.images)
    except EXPECTED_ERRORS as error:
        print(f"stackctl {args.command}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
