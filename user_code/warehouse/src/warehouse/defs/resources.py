"""The warehouse's credentials, read from the location's secret files at run time."""

import dagster as dg

from warehouse.lib.secrets import DEFAULT_SECRETS_DIR, fingerprint, read_secret


class WarehouseCredentials(dg.ConfigurableResource):
    """secrets_dir: where the secret files are (the stack mounts them at /run/secrets)."""

    secrets_dir: str = DEFAULT_SECRETS_DIR

    def api_token(self) -> str:
        return read_secret(self.secrets_dir, "api_token")

    def api_token_fingerprint(self) -> str:
        return fingerprint(self.api_token())
