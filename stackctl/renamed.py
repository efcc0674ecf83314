"""The stack's settings were named in Dagster's namespace (DAGSTER_*) until this release and
are STACK_* now. For one more release an old name still works, with a warning naming both:
where the new name is not set, its value comes from the old one, with compose's precedence
(the environment over `.env`; in each, the new name over the old).

`python -m stackctl.renamed` does the same for a shell script that runs docker compose itself
(scripts/restore.sh, scripts/dev.sh): the warnings on stderr, and on stdout `export NEW=value`
lines for `eval`."""

import shlex
import sys
from collections.abc import Mapping

# Old name -> new name: every variable an operator sets (.env, the environment). The others
# compose or the images set (docs/configuration.md, "Renamed variables").
RENAMED = {
    "DAGSTER_WEBSERVER_BIND": "STACK_WEBSERVER_BIND",
    "DAGSTER_WEBSERVER_PORT": "STACK_WEBSERVER_PORT",
    "DAGSTER_IMAGE": "STACK_DAGSTER_IMAGE",
    "DAGSTER_POSTGRES_USER": "STACK_POSTGRES_USER",
    "DAGSTER_POSTGRES_PASSWORD": "STACK_POSTGRES_PASSWORD",
    "DAGSTER_POSTGRES_DB": "STACK_POSTGRES_DB",
    "DAGSTER_MAX_CONCURRENT_RUNS": "STACK_MAX_CONCURRENT_RUNS",
    "DAGSTER_DEV_PORT": "STACK_DEV_PORT",
}


def _set(layer: Mapping[str, str], key: str) -> bool:
    # As compose's ${NEW:-${OLD}}: a blank value counts as unset.
    return bool(layer.get(key, "").strip())


def resolve_renamed(
    dotenv: Mapping[str, str], environ: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """(the new names whose value comes from an old one, with that value; one warning for
    each old name set, saying where and which name to use instead)."""
    from_old: dict[str, str] = {}
    warnings: list[str] = []
    for old, new in RENAMED.items():
        for where, layer in (("the environment", environ), (".env", dotenv)):
            if _set(layer, old):
                warnings.append(
                    f"{old} (set in {where}) is renamed {new}: set {new} instead; "
                    "the old name is read until the next release"
                )
        for layer in (environ, dotenv):
            if _set(layer, new):
                break
            if _set(layer, old):
                from_old[new] = layer[old]
                break
    return from_old, warnings


def main() -> int:
    import os

    from stackctl.settings import dotenv_file

    from_old, warnings = resolve_renamed(dotenv_file(), os.environ)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for key, value in from_old.items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
