"""Sample Lambda handler reading the Starfleet secret through the extension.

Deployed by examples/sam/template.yaml (Handler: example_handler.handler) with
the starfleet-secrets layer attached and the starfleet_secrets package
installed beside it.
"""

from starfleet_secrets import SECRETS_MANAGER


def handler(event, context):
    # A plain dict, revalidated with the extension on each access: a rotated
    # key reaches this warm function within the extension's TTL.
    org = (event or {}).get("org", "starfleet-org")
    key = SECRETS_MANAGER.secrets["GitHubSyncWorker"].get(org)
    if key is None:
        return {"org": org, "configured": False}
    # key is the GitHub app's PEM private key: sign the app's JWT with it
    # here. Never log or return it.
    return {"org": org, "configured": True, "pem": key.startswith("-----BEGIN ")}
