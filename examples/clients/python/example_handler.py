"""Sample Lambda handler reading its slice through the starfleet-secrets extension.

Deployed by examples/sam/template.yaml (Handler: example_handler.handler) with
the starfleet-secrets layer attached; starfleet_secrets.py sits next to it.
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
