"""Sample handler for the container image in this directory.

The image carries the starfleet-secrets extension at
/opt/extensions/starfleet-secrets; Lambda starts it before this runtime, and
it serves the slices of the secret named by STARFLEET_SECRET_ID on
127.0.0.1:2773. starfleet_secrets.py (examples/clients/python) sits next to
this file in the image.
"""

from starfleet_secrets import secrets


def handler(event, context):
    # One local GET per invocation; the extension caches and refreshes the
    # secret, so a rotation reaches this function within its TTL.
    worker = secrets["GitHubSyncWorker"]
    org = (event or {}).get("org", "starfleet-org")
    app = worker.get(org)
    if app is None:
        return {"org": org, "configured": False}
    # Use app["PrivateKey"] and friends here. Never log or return them.
    return {"org": org, "configured": True, "fields": sorted(app)}
