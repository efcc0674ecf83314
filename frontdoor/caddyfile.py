"""The front door's Caddyfile, written at start from the users file (`name role bcrypt-hash`
per line, role admin or viewer) and the environment; printed to stdout.

Runs in the front door's image with the base image's python3 alone (no third-party modules),
and on the host in the unit tests.
"""

import base64
import ipaddress
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROLES = ("admin", "viewer")
NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
# The only path answered without a login; it says "ok" and nothing else.
HEALTH_PATH = "/healthz"


class UsersFileError(ValueError):
    pass


@dataclass(frozen=True)
class User:
    name: str
    role: str
    bcrypt_hash: str


def parse_users(text: str) -> list[User]:
    users: dict[str, User] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 3:
            raise UsersFileError(f"line {number}: expected `name role bcrypt-hash`, got {len(fields)} fields")
        name, role, hashed = fields
        if not NAME.fullmatch(name):
            raise UsersFileError(f"line {number}: user name {name!r} may only hold letters, digits, '.', '_' and '-'")
        if role not in ROLES:
            raise UsersFileError(f"line {number}: role {role!r} is not one of {', '.join(ROLES)}")
        if not re.fullmatch(r"\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}", hashed):
            raise UsersFileError(f"line {number}: {name}'s password is not a bcrypt hash")
        users[name] = User(name, role, hashed)  # a later line for the same name wins
    return list(users.values())


def tls_directive(cert_file: str, key_file: str) -> str:
    """The operator's certificate when both files are given (non-empty), else Caddy's own CA."""
    if cert_file and key_file and _non_empty(cert_file) and _non_empty(key_file):
        return f"tls {cert_file} {key_file}"
    return "tls internal"


def _non_empty(path: str) -> bool:
    try:
        return Path(path).stat().st_size > 0
    except OSError:
        return False


def site_hosts(configured: str) -> list[str]:
    """The operator's names, then localhost and 127.0.0.1 (the health check and the host's own
    tools use those), each once."""
    hosts: list[str] = []
    for host in [*configured.replace(",", " ").split(), "localhost", "127.0.0.1"]:
        if host not in hosts:
            hosts.append(host)
    return hosts


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def caddyfile(
    users: list[User],
    tls: str,
    hosts: list[str],
    port: int = 8443,
    admin_upstream: str = "webserver:3000",
    viewer_upstream: str = "webserver-viewer:3000",
) -> str:
    admins = [u.name for u in users if u.role == "admin"]
    # Caddy 2.6 reads the hash base64-encoded.
    logins = "\n".join(
        f"\t\t\t{u.name} {base64.b64encode(u.bcrypt_hash.encode()).decode()}" for u in users
    )
    if users:
        protected = f"""\t\tbasicauth {{
{logins}
\t\t}}
"""
        if admins:
            protected += f"""\t\t@admin vars {{http.auth.user.id}} {' '.join(admins)}
\t\thandle @admin {{
\t\t\treverse_proxy {admin_upstream}
\t\t}}
"""
        protected += f"""\t\thandle {{
\t\t\treverse_proxy {viewer_upstream}
\t\t}}
"""
    else:
        # No users yet: nobody gets in (`python -m stackctl user add` adds one).
        protected = '\t\theader WWW-Authenticate "Basic realm=\\"restricted\\""\n\t\trespond 401\n'
    # With Caddy's CA, a certificate for each name the stack is reached by; with the
    # operator's certificate, any name (the certificate says which it is valid for).
    sites = ", ".join(f"https://{host}:{port}" for host in hosts) if tls == "tls internal" else f":{port}"
    default_sni = next((h for h in hosts if _is_ip(h)), hosts[0])
    return f"""{{
\tadmin off
\t# Not root: no system trust store to write, no port 80 for redirects.
\tskip_install_trust
\tauto_https disable_redirects
\thttp_port 8080
\t# No HTTP/3: its alt-svc header would send browsers to a UDP port that is not published.
\tservers {{
\t\tprotocols h1 h2
\t}}
\t# A client that dials an IP address sends no name: it gets that address's certificate.
\tdefault_sni {default_sni}
}}

{sites} {{
\t{tls}
\theader -Server
\thandle {HEALTH_PATH} {{
\t\trewrite * /server_info
\t\treverse_proxy {admin_upstream} {{
\t\t\t@up status 2xx
\t\t\thandle_response @up {{
\t\t\t\trespond "ok" 200
\t\t\t}}
\t\t\thandle_response {{
\t\t\t\trespond "unavailable" 503
\t\t\t}}
\t\t}}
\t}}
\thandle {{
{protected}\t}}
\t# Errors say nothing about what is behind: an unreachable webserver is a bare 503, and a
\t# refused login keeps its 401 and challenge.
\thandle_errors {{
\t\theader -Server
\t\t@unavailable expression `{{err.status_code}} >= 500`
\t\trespond @unavailable "unavailable" 503
\t}}
}}
"""


def main() -> int:
    users_file = Path(os.environ.get("FRONTDOOR_USERS_FILE", "/run/secrets/frontdoor_users"))
    try:
        users = parse_users(users_file.read_text() if users_file.is_file() else "")
    except UsersFileError as error:
        print(f"frontdoor: {users_file}: {error}", file=sys.stderr)
        return 1
    tls = tls_directive(
        os.environ.get("FRONTDOOR_TLS_CERT", "/run/secrets/tls_cert"),
        os.environ.get("FRONTDOOR_TLS_KEY", "/run/secrets/tls_key"),
    )
    sys.stdout.write(caddyfile(users, tls, site_hosts(os.environ.get("FRONTDOOR_HOSTS", ""))))
    print(f"frontdoor: {len(users)} users, {tls}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
