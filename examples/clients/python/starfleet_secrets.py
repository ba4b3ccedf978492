"""Read slices of the Starfleet secret from the starfleet-secrets extension.

A drop-in for Starfleet's ``starfleet.utils.secrets``: change one import and a
worker reads its secrets through the extension's cache instead of calling
Secrets Manager itself::

    # from starfleet.utils.secrets import SECRETS_MANAGER
    from starfleet_secrets import SECRETS_MANAGER

    SECRETS_MANAGER.secrets["GitHubSyncWorker"][org]     # unchanged

or, shorter, ``from starfleet_secrets import secrets`` and
``secrets["GitHubSyncWorker"][org]``.

``secrets[slice]`` performs one GET of http://127.0.0.1:PORT/secret/<slice>
each time it is evaluated and returns the parsed JSON (a dict, str, list, ...).
Nothing is cached here on purpose: the extension is the cache, and keeping a
copy in the handler would hide a rotated secret until the environment is
recycled. Read a slice once per invocation and keep it in a local variable.

Environment: STARFLEET_SECRETS_PORT (default 2773); the token is taken from
STARFLEET_SECRETS_TOKEN, else AWS_TOKEN, AWS_SESSION_TOKEN or
AWS_CONTAINER_AUTHORIZATION_TOKEN, the same order the extension uses (Lambda
sets AWS_SESSION_TOKEN; SnapStart functions get the last one).

Standard library only; Python 3.8+. Run as a script, it prints one slice::

    python3 starfleet_secrets.py GitHubSyncWorker
"""

import http.client
import json
import os
import sys
import time
import urllib.parse

__all__ = ["SECRETS_MANAGER", "StarfleetSecretsError", "get_slice", "secrets"]

TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
TOKEN_VARIABLES = (
    "STARFLEET_SECRETS_TOKEN",
    "AWS_TOKEN",
    "AWS_SESSION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
)
# The extension listens on the IPv4 loopback only; "localhost" might resolve
# to ::1 first and meet a refused connection.
HOST = "127.0.0.1"
DEFAULT_PORT = 2773
# Inside Lambda the extension listens before the handler can run, so a
# refused connection means it is (re)starting, or, outside Lambda, that the
# sidecar is still coming up. Retry briefly, then give up with a clear error.
RETRY_FOR = 1.0  # seconds
REQUEST_TIMEOUT = 10.0  # seconds; above the extension's 5 s fetch timeout


class StarfleetSecretsError(Exception):
    """The extension could not answer with the slice.

    ``status`` is the HTTP status (0 when the extension was unreachable) and
    ``code`` the extension's error code, such as ``AccessDeniedException``.
    """

    def __init__(self, message, status=0, code=""):
        super().__init__(message)
        self.status = status
        self.code = code


def _token():
    for name in TOKEN_VARIABLES:
        value = os.environ.get(name)
        if value:
            return value
    raise StarfleetSecretsError(
        "no token: set STARFLEET_SECRETS_TOKEN (outside Lambda) or run inside "
        "Lambda, which sets AWS_SESSION_TOKEN"
    )


def _port():
    raw = os.environ.get("STARFLEET_SECRETS_PORT", "")
    if not raw:
        return DEFAULT_PORT
    try:
        port = int(raw)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise StarfleetSecretsError(f"STARFLEET_SECRETS_PORT={raw!r}: want a port number")
    return port


def _get(path):
    """GET path from the extension, retrying refused connections briefly."""
    headers = {TOKEN_HEADER: _token()}
    port = _port()
    deadline = time.monotonic() + RETRY_FOR
    delay = 0.01
    while True:
        conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        except ConnectionRefusedError:
            if time.monotonic() + delay > deadline:
                raise StarfleetSecretsError(
                    f"connection refused by {HOST}:{port} for {RETRY_FOR:g}s: is the "
                    "starfleet-secrets extension attached (layer or /opt/extensions) "
                    "and STARFLEET_SECRETS_PORT right?"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
        except OSError as err:
            raise StarfleetSecretsError(f"reading from {HOST}:{port}: {err}") from None
        finally:
            conn.close()


def get_slice(name):
    """Return the parsed JSON value of slice ``name``.

    Raises KeyError if the secret has no such slice, PermissionError if the
    token is wrong or the slice is not in STARFLEET_SECRETS_ALLOW, and
    StarfleetSecretsError for everything else.
    """
    if not isinstance(name, str) or not name:
        raise TypeError("slice names are non-empty strings")
    status, body = _get("/secret/" + urllib.parse.quote(name, safe=""))
    if status == 200:
        return json.loads(body)
    try:
        err = json.loads(body)
        code, message = str(err.get("error", "")), str(err.get("message", ""))
    except (ValueError, AttributeError):
        code, message = "", body[:200].decode("utf-8", "replace")
    if status == 404 and code == "SliceNotFound":
        raise KeyError(name)
    if status == 403:
        raise PermissionError(f"{code}: {message}")
    raise StarfleetSecretsError(f"HTTP {status} {code}: {message}", status, code)


class Secrets:
    """Mapping-like view of the Starfleet secret: ``secrets[slice]``.

    Supports ``[]``, ``get`` and ``in``. It cannot be iterated: the extension
    serves slices by name and does not list them.
    """

    def __getitem__(self, name):
        return get_slice(name)

    def get(self, name, default=None):
        try:
            return get_slice(name)
        except KeyError:
            return default

    def __contains__(self, name):
        return self.get(name, _MISSING) is not _MISSING

    def __iter__(self):
        raise TypeError("the Starfleet secret's slices cannot be listed; ask for one by name")

    def __repr__(self):
        return "<starfleet_secrets.secrets>"


class _SecretsManager:
    """Stands in for Starfleet's SECRETS_MANAGER singleton."""

    @property
    def secrets(self):
        return secrets

    def __repr__(self):
        return "<starfleet_secrets.SECRETS_MANAGER>"


_MISSING = object()
secrets = Secrets()
SECRETS_MANAGER = _SecretsManager()


def _main(argv):
    if len(argv) != 2:
        print(f"usage: {argv[0]} SLICE", file=sys.stderr)
        return 2
    try:
        value = secrets[argv[1]]
    except KeyError:
        print(f"error: the secret has no slice {argv[1]!r}", file=sys.stderr)
        return 1
    except (PermissionError, StarfleetSecretsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(value, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
