"""Starfleet's secrets module, read through the starfleet-secrets extension.

A drop-in for Starfleet's ``starfleet.utils.secrets``: its whole body becomes::

    from starfleet_secrets import SECRETS_MANAGER, SecretsConfigurationMissingError, SecretsManager

and every call site (``SECRETS_MANAGER.secrets["GitHubSyncWorker"][org]``)
stays as it is.

Inside Lambda (``AWS_LAMBDA_RUNTIME_API`` is set), ``secrets`` is a plain dict
read from the extension's ``GET /secret``, revalidated on every access with
``If-None-Match``: an unchanged secret costs a 304 and no copy, and a rotated
one reaches a warm worker within the extension's TTL. Outside Lambda it
behaves as Starfleet's original: it checks Starfleet's configuration, reads
the secret once with boto3 and keeps it. ``STARFLEET_SECRETS_USE_EXTENSION``
(true or false) overrides that choice.

Standard library only; boto3 is imported for the fallback alone.
"""

import http.client
import json
import logging
import os
import re
import threading
import time
import urllib.parse

__all__ = [
    "SECRETS_MANAGER",
    "SecretsConfigurationMissingError",
    "SecretsManager",
    "StarfleetSecretsError",
    "get_slice",
]

LOGGER = logging.getLogger(__name__)

TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
TOKEN_VARIABLES = (
    "STARFLEET_SECRETS_TOKEN",
    "AWS_TOKEN",
    "AWS_SESSION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
)
# The IPv4 loopback address, not "localhost": a resolver may answer ::1
# first, and an older extension listens on 127.0.0.1 only.
HOST = "127.0.0.1"
DEFAULT_PORT = 2773
# Inside Lambda the extension listens before the handler runs, so a refused
# connection means it is restarting or absent: retry briefly, then say so.
RETRY_FOR = 1.0  # seconds
# Above the extension's default fetch timeout (5 s), after which it answers
# 504 itself: a caller waits this long only if something is badly wrong.
REQUEST_TIMEOUT = 8.0  # seconds


class SecretsConfigurationMissingError(Exception):
    """Starfleet's configuration has no ``STARFLEET: SecretsManager`` stanza, so there is no secret to read."""


class StarfleetSecretsError(Exception):
    """The extension could not answer.

    ``status`` is the HTTP status (0 when the extension was unreachable) and
    ``code`` the extension's error code, such as ``AccessDeniedException``.
    """

    def __init__(self, message, status=0, code=""):
        super().__init__(message)
        self.status = status
        self.code = code


def _use_extension():
    choice = os.environ.get("STARFLEET_SECRETS_USE_EXTENSION", "").strip().lower()
    if choice in ("1", "true", "yes", "on"):
        return True
    if choice in ("0", "false", "no", "off"):
        return False
    if choice:
        raise StarfleetSecretsError(f"STARFLEET_SECRETS_USE_EXTENSION={choice!r}: want true or false")
    return bool(os.environ.get("AWS_LAMBDA_RUNTIME_API"))


def _token():
    for name in TOKEN_VARIABLES:
        value = os.environ.get(name)
        if value:
            return value
    raise StarfleetSecretsError("no token: set STARFLEET_SECRETS_TOKEN (outside Lambda) or run inside Lambda, which sets AWS_SESSION_TOKEN")


def _port():
    raw = os.environ.get("STARFLEET_SECRETS_PORT", "").strip()
    if not raw:
        return DEFAULT_PORT
    try:
        port = int(raw)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise StarfleetSecretsError(f"STARFLEET_SECRETS_PORT={raw!r}: want a port number")
    return port


def _request(path, headers=None, token=True):
    """GET path from the extension: (status, headers, body).

    Refused connections are retried for RETRY_FOR seconds; any other failure
    to talk to the extension is a StarfleetSecretsError at once.
    """
    sent = dict(headers or {})
    if token:
        sent[TOKEN_HEADER] = _token()
    port = _port()
    deadline = time.monotonic() + RETRY_FOR
    delay = 0.01
    while True:
        conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        try:
            conn.request("GET", path, headers=sent)
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read()
        except ConnectionRefusedError:
            if time.monotonic() + delay > deadline:
                raise StarfleetSecretsError(
                    f"connection refused by {HOST}:{port} for {RETRY_FOR:g}s: is the starfleet-secrets extension "
                    "attached (layer or /opt/extensions) and STARFLEET_SECRETS_PORT right?"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
        except OSError as err:  # timeouts included
            raise StarfleetSecretsError(f"reading from the starfleet-secrets extension at {HOST}:{port}: {err}") from None
        finally:
            conn.close()


def _error(status, body, what):
    """The StarfleetSecretsError (or KeyError/PermissionError) for an answer."""
    try:
        err = json.loads(body)
        code, message = str(err.get("error", "")), str(err.get("message", ""))
    except (ValueError, AttributeError):
        code, message = "", body[:200].decode("utf-8", "replace")
    if status == 403:
        return PermissionError(f"{what}: {code}: {message}")
    return StarfleetSecretsError(f"{what}: HTTP {status} {code}: {message}", status, code)


def get_slice(name):
    """Return the parsed JSON value of one slice, read through the extension.

    Raises KeyError if the secret has no such slice, PermissionError if the
    token is wrong or the slice is not in STARFLEET_SECRETS_ALLOW, and
    StarfleetSecretsError for everything else.
    """
    if not isinstance(name, str) or not name:
        raise TypeError("slice names are non-empty strings")
    status, _, body = _request("/secret/" + urllib.parse.quote(name, safe=""))
    if status == 200:
        return json.loads(body)
    if status == 404 and b"SliceNotFound" in body:
        raise KeyError(name)
    raise _error(status, body, f"reading slice {name!r}")


_ARN_NAME = re.compile(r"^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:(.+)$")


def _same_secret(a, b):
    """Whether two SecretIds name the same secret: equal, or an ARN and the
    name it carries (Secrets Manager appends "-" and six characters)."""
    if a == b:
        return True
    for arn, name in ((a, b), (b, a)):
        match = _ARN_NAME.match(arn)
        if match and not _ARN_NAME.match(name):
            tail = match.group(1)
            if tail == name or (tail.startswith(name + "-") and len(tail) == len(name) + 7):
                return True
    return False


def _starfleet_configuration():
    """Starfleet's ``STARFLEET.SecretsManager`` stanza, read as Starfleet reads it.

    Outside a Starfleet installation the stanza is built from
    STARFLEET_SECRET_ID and STARFLEET_SECRET_REGION (else AWS_REGION), the
    extension's own variables; None when those are unset too.
    """
    try:
        from starfleet.utils.configuration import STARFLEET_CONFIGURATION  # pylint: disable=import-outside-toplevel
    except ImportError:
        secret_id = os.environ.get("STARFLEET_SECRET_ID")
        if not secret_id:
            return None
        region = os.environ.get("STARFLEET_SECRET_REGION") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        return {"SecretId": secret_id, "SecretRegion": region}
    configuration = STARFLEET_CONFIGURATION.config["STARFLEET"].get("SecretsManager")
    if not configuration:
        raise SecretsConfigurationMissingError()
    return configuration


class SecretsManager:
    """Holds the Starfleet secret for this process, with the API of Starfleet's class of the same name."""

    def __init__(self):
        self._secrets = None
        # What the extension last answered: the dict, its ETag, and the
        # secret id it serves (checked once against Starfleet's
        # configuration).
        self._from_extension = None
        self._etag = None
        self._checked_secret_id = None
        self._lock = threading.Lock()

    def load_secrets(self) -> None:
        """Read the secret: through the extension inside Lambda, else from Secrets Manager with boto3.

        Failures raise: SecretsConfigurationMissingError, StarfleetSecretsError, or boto3's own errors.
        """
        configuration = _starfleet_configuration()
        if _use_extension():
            self._load_from_extension(configuration)
            return
        if configuration is None:
            raise SecretsConfigurationMissingError()

        LOGGER.debug("reading secret %s in %s with boto3", configuration["SecretId"], configuration["SecretRegion"])
        import boto3  # pylint: disable=import-outside-toplevel

        client = boto3.client("secretsmanager", configuration["SecretRegion"])
        loaded = client.get_secret_value(SecretId=configuration["SecretId"])
        self._secrets = json.loads(loaded["SecretString"])
        LOGGER.debug("secret read")

    def _load_from_extension(self, configuration):
        with self._lock:
            if configuration:
                self._check_secret_id(configuration["SecretId"])
            headers = {}
            if self._from_extension is not None and self._etag:
                headers["If-None-Match"] = self._etag
            status, answer_headers, body = _request("/secret", headers)
            if status == 304 and self._from_extension is not None:
                self._secrets = self._from_extension
                return
            if status != 200:
                raise _error(status, body, "reading the Starfleet secret from the starfleet-secrets extension")
            secrets = json.loads(body)
            self._from_extension, self._etag = secrets, answer_headers.get("ETag")
            self._secrets = secrets

    def _check_secret_id(self, configured):
        """Refuse to serve another secret than Starfleet's configuration names."""
        if self._checked_secret_id == configured:
            return
        status, _, body = _request("/health", token=False)
        try:
            served = json.loads(body).get("secret_id")
        except (ValueError, AttributeError):
            raise StarfleetSecretsError(f"the starfleet-secrets extension answered /health with HTTP {status} and no JSON", status) from None
        if served and not _same_secret(served, configured):
            raise StarfleetSecretsError(
                f"the starfleet-secrets extension serves secret {served!r} but Starfleet's configuration names {configured!r}: "
                "set STARFLEET_SECRET_ID on the function, or STARFLEET_CONFIG to Starfleet's configuration"
            )
        self._checked_secret_id = configured

    @property
    def secrets(self):
        """The secret as a dict of slices, read on first use.

        Inside Lambda every access revalidates with the extension, so a rotated
        secret is seen within its TTL; a dict set by the caller is returned as is.
        """
        if self._secrets and self._secrets is not self._from_extension:
            return self._secrets
        if not self._secrets or _use_extension():
            self.load_secrets()
        return self._secrets


SECRETS_MANAGER = SecretsManager()
