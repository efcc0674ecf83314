"""python -m stackctl {up,deploy,rollback,gc,down,versions,user}: see docs/code-locations.md and
docs/frontdoor.md (users)."""

import argparse
import getpass
import sys

import docker
import docker.errors

from stackctl import frontdoor
from stackctl.compose import ComposeError
from stackctl.declaration import DeclarationError
from stackctl.deploy import Deployer, DeployError
from stackctl.images import BuildError
from stackctl.settings import SettingError, load_settings
from stackctl.users import ROLES, UserError
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
    user = commands.add_parser("user", help="the front door's logins (docs/frontdoor.md)")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    add = user_commands.add_parser("add", help="add a user or change its role and password")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument(
        "--save-password", action="store_true",
        help="also keep the password in NAME.password (0600) beside the users file, for the stack's tools",
    )
    user_remove = user_commands.add_parser("remove", help="remove a user")
    user_remove.add_argument("name")
    user_commands.add_parser("list", help="the users and their roles")
    user_commands.add_parser("init", help="with no users file yet: create user admin with a random password")
    swarm = commands.add_parser("swarm", help="Swarm deployment files (docs/swarm.md)")
    swarm_commands = swarm.add_subparsers(dest="swarm_command", required=True)
    render = swarm_commands.add_parser("render", help="write stack.yml, dagster.yaml, workspace.yaml and secrets")
    render.add_argument("--images", required=True, help='JSON file: {"dagster": "REGISTRY/NAME@sha256:...", ...}')
    render.add_argument("--out", required=True, help="folder to write; `docker stack deploy -c OUT/stack.yml`")
    render.add_argument("--port", type=int, default=3000, help="the front door's port on its node (the stack's only published port)")
    args = parser.parse_args(argv)
    if args.command == "swarm":
        return swarm_command(args)
    if args.command == "user":
        try:
            return user_command(args)
        except (SettingError, UserError) as error:
            print(f"stackctl user: {error}", file=sys.stderr)
            return 1

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


def swarm_command(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from stackctl.swarm import render

    try:
        images = json.loads(Path(args.images).read_text())
        stack_file = render(load_settings(), images, Path(args.out), args.port)
    except (SettingError, ComposeError, DeclarationError, OSError, KeyError, ValueError) as error:
        print(f"stackctl swarm render: {error}", file=sys.stderr)
        return 1
    print(stack_file)
    return 0


def read_password() -> str:
    """From a prompt (asked twice) on a terminal, else the first line of standard input."""
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise UserError("the passwords differ")
        return password
    return sys.stdin.readline().rstrip("\n")


def user_command(args: argparse.Namespace) -> int:
    settings = load_settings()
    users = frontdoor.users_file(settings)
    if args.user_command == "init":
        created = users.ensure_first_admin()
        print(f"created user admin, its password in {created}" if created else f"{users.path} exists")
        return 0
    if args.user_command == "list":
        for name, (role, _) in users.entries().items():
            print(f"{name} {role}")
        return 0
    if args.user_command == "add":
        password = read_password()
        new = users.add(args.name, args.role, password)
        if args.save_password:
            saved = users.password_file(args.name)
            saved.touch(mode=0o600)
            saved.write_text(password + "\n")
        print(f"{'added' if new else 'updated'} {args.name} ({args.role}) in {users.path}")
    else:
        users.remove(args.name)
        users.password_file(args.name).unlink(missing_ok=True)
        print(f"removed {args.name} from {users.path}")
    try:
        client = docker.from_env()
        restarted = frontdoor.restart(settings, client)
    except docker.errors.DockerException:
        restarted = False
    print("the front door restarted with it" if restarted else "the front door reads it when it next starts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
