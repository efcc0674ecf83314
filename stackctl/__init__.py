"""The stack's deployer: code locations as the unit of deployment.

`python -m stackctl` (wrapped by scripts/up.sh and scripts/deploy.sh) reads the declared code
locations (workspace.yaml, one line each, and user_code/<location>/), builds each one's image
with an immutable tag derived from its content, starts its gRPC code server, and switches the
webserver and daemon to it with no downtime. See docs/code-locations.md.
"""
