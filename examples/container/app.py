"""Sample handler for the container image in this directory.

The image carries the starfleet-secrets extension at
/opt/extensions/starfleet-secrets; Lambda starts it before this runtime, and
it serves the secret named by STARFLEET_SECRET_ID (or Starfleet's own
configuration) on 127.0.0.1:2773. The starfleet_secrets package
(examples/clients/python) is installed in the image.
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
