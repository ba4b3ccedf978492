"""Starfleet's own usage of its secrets module, against the real extension.

Run by e2e/starfleet_test.go, which starts the starfleet-secrets binary under
the fake Lambda platform with moto behind it, and sets:

- AWS_LAMBDA_RUNTIME_API, AWS_SESSION_TOKEN, STARFLEET_SECRETS_PORT: as Lambda
  would for the handler;
- AWS_ENDPOINT_URL_SECRETS_MANAGER and fake credentials: moto, for the boto3
  fallback and for rotating the secret;
- STARFLEET_CONFIG: Starfleet's configuration directory, read by the
  extension and by tests/fake_starfleet alike;
- TEST_PUBLIC_KEYS: {org: public key PEM} of the GitHub app keys in the secret;
- TEST_TTL: the extension's TTL in seconds; TEST_CLOSED_PORT: a port nobody
  listens on.

Standard library, boto3 and cryptography (which boto3's moto brings) only.
"""

import base64
import json
import os
import time
import unittest
from unittest import mock

import boto3
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from starfleet.utils.configuration import STARFLEET_CONFIGURATION
from starfleet_secrets import SECRETS_MANAGER, SecretsConfigurationMissingError, SecretsManager, StarfleetSecretsError


def secret_id():
    return STARFLEET_CONFIGURATION.config["STARFLEET"]["SecretsManager"]["SecretId"]


def stored_secret():
    """The secret as Secrets Manager (moto) holds it now."""
    client = boto3.client("secretsmanager", os.environ["AWS_REGION"])
    return json.loads(client.get_secret_value(SecretId=secret_id())["SecretString"])


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def app_jwt(app_id, pem):
    """An RS256 JWT as GitHub apps sign it (Starfleet calls jwt.encode)."""
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    now = int(time.time())
    signing_input = b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode()) + b"." + b64url(json.dumps({"iat": now - 60, "exp": now + 600, "iss": app_id}).encode())
    return signing_input + b"." + b64url(key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256()))


def jwt_verifies(token, public_pem):
    signing_input, _, signature = token.rpartition(b".")
    key = serialization.load_pem_public_key(public_pem.encode())
    try:
        key.verify(base64.urlsafe_b64decode(signature + b"=" * (-len(signature) % 4)), signing_input, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


class ThroughTheExtension(unittest.TestCase):
    """Inside Lambda: AWS_LAMBDA_RUNTIME_API is set."""

    def test_secrets_is_a_plain_dict_equal_to_the_stored_secret(self):
        secrets = SECRETS_MANAGER.secrets
        self.assertIs(type(secrets), dict)
        self.assertEqual(secrets, stored_secret())
        self.assertEqual(sorted(secrets.keys()), sorted(stored_secret()))
        self.assertEqual(len(secrets), len(stored_secret()))
        self.assertEqual(json.loads(json.dumps(secrets)), stored_secret())

    def test_an_unchanged_secret_is_the_same_dict(self):
        # The second access is a conditional request answered 304: no copy.
        self.assertIs(SECRETS_MANAGER.secrets, SECRETS_MANAGER.secrets)

    def test_update_is_kept_while_the_secret_is_unchanged(self):
        SECRETS_MANAGER.secrets.update({"ExtraWorker": {"fakeorg": "pewpewpew"}})
        try:
            self.assertEqual(SECRETS_MANAGER.secrets["ExtraWorker"], {"fakeorg": "pewpewpew"})
        finally:
            SECRETS_MANAGER.secrets.pop("ExtraWorker")

    def test_fixture_secrets_are_what_secrets_returns(self):
        # Starfleet's tests/conftest.py base_secrets fixture, step by step.
        new_secret_value = {"STARFLEET": {"SlackToken": "lolsometoken"}}
        old_secrets = SECRETS_MANAGER._secrets  # noqa
        SECRETS_MANAGER._secrets = new_secret_value
        self.assertIs(SECRETS_MANAGER.secrets, new_secret_value)
        SECRETS_MANAGER.secrets.update({"GitHubSyncWorker": {"fakeorg": "pewpewpew"}})
        self.assertEqual(SECRETS_MANAGER.secrets["GitHubSyncWorker"]["fakeorg"], "pewpewpew")
        SECRETS_MANAGER._secrets = old_secrets
        self.assertNotEqual(SECRETS_MANAGER._secrets, new_secret_value)
        self.assertEqual(SECRETS_MANAGER.secrets, stored_secret())

    def test_github_app_keys_sign_jwts(self):
        public_keys = json.loads(os.environ["TEST_PUBLIC_KEYS"])
        self.assertGreaterEqual(len(public_keys), 2)
        for org, public_pem in public_keys.items():
            token = app_jwt("123456", SECRETS_MANAGER.secrets["GitHubSyncWorker"][org])
            self.assertTrue(jwt_verifies(token, public_pem), org)
            for other, other_pem in public_keys.items():
                if other != org:
                    self.assertFalse(jwt_verifies(token, other_pem), f"{org}'s JWT verified with {other}'s key")

    def test_a_missing_slice_or_org_is_a_key_error(self):
        with self.assertRaises(KeyError):
            SECRETS_MANAGER.secrets["NoSuchWorker"]  # pylint: disable=pointless-statement
        with self.assertRaises(KeyError):
            SECRETS_MANAGER.secrets["GitHubSyncWorker"]["no-such-org"]  # pylint: disable=pointless-statement

    def test_missing_configuration_is_starfleets_error(self):
        manager = SecretsManager()
        stanza = STARFLEET_CONFIGURATION.config["STARFLEET"].pop("SecretsManager")
        try:
            with self.assertRaises(SecretsConfigurationMissingError):
                manager.load_secrets()
            with self.assertRaises(SecretsConfigurationMissingError):
                manager.secrets  # pylint: disable=pointless-statement
        finally:
            STARFLEET_CONFIGURATION.config["STARFLEET"]["SecretsManager"] = stanza

    def test_another_configured_secret_is_refused(self):
        stanza = STARFLEET_CONFIGURATION.config["STARFLEET"]["SecretsManager"]
        original = dict(stanza)
        stanza["SecretId"] = "some-other-secret"
        try:
            with self.assertRaises(StarfleetSecretsError) as caught:
                SecretsManager().secrets  # pylint: disable=pointless-statement
            self.assertIn("some-other-secret", str(caught.exception))
            self.assertIn(original["SecretId"], str(caught.exception))
        finally:
            stanza.update(original)

    def test_an_unreachable_extension_is_a_clear_error_within_seconds(self):
        with mock.patch.dict(os.environ, {"STARFLEET_SECRETS_PORT": os.environ["TEST_CLOSED_PORT"]}):
            start = time.monotonic()
            with self.assertRaises(StarfleetSecretsError) as caught:
                SecretsManager().secrets  # pylint: disable=pointless-statement
            self.assertLess(time.monotonic() - start, 5)
        self.assertIn("connection refused", str(caught.exception))
        self.assertIn("starfleet-secrets extension", str(caught.exception))

    def test_zz_rotation_reaches_the_same_manager_within_the_ttl(self):
        # Last in this class (unittest runs methods in name order): it
        # changes the secret.
        ttl = float(os.environ["TEST_TTL"])
        before = SECRETS_MANAGER.secrets
        rotated = dict(stored_secret())
        rotated["STARFLEET"] = {"SlackToken": "xoxb-rotated-" + str(time.time_ns())}
        client = boto3.client("secretsmanager", os.environ["AWS_REGION"])
        client.put_secret_value(SecretId=secret_id(), SecretString=json.dumps(rotated))
        rotated_at = time.monotonic()
        while True:
            # One read per round: the TTL may run out between two reads,
            # and each read must be the old value or the new one.
            current = SECRETS_MANAGER.secrets["STARFLEET"]
            if current == rotated["STARFLEET"]:
                break
            self.assertEqual(current, before["STARFLEET"])
            # TTL, plus one fetch, plus scheduling slack on a loaded machine.
            self.assertLess(time.monotonic() - rotated_at, ttl + 5, "rotation not seen within the TTL")
            time.sleep(0.05)
        for _ in range(3):
            self.assertEqual(SECRETS_MANAGER.secrets, rotated)


class OutsideLambda(unittest.TestCase):
    """Outside Lambda: Starfleet's original behaviour, with boto3."""

    def setUp(self):
        # Nothing may reach the extension: it is pointed at a closed port.
        patcher = mock.patch.dict(os.environ, {"STARFLEET_SECRETS_USE_EXTENSION": "false", "STARFLEET_SECRETS_PORT": os.environ["TEST_CLOSED_PORT"]})
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_boto3_reads_the_secret_once(self):
        manager = SecretsManager()
        self.assertEqual(manager.secrets, stored_secret())
        with mock.patch("boto3.client", side_effect=AssertionError("a second read")):
            self.assertIs(manager.secrets, manager.secrets)

    def test_missing_configuration_is_starfleets_error(self):
        manager = SecretsManager()
        stanza = STARFLEET_CONFIGURATION.config["STARFLEET"].pop("SecretsManager")
        try:
            with self.assertRaises(SecretsConfigurationMissingError):
                manager.load_secrets()
        finally:
            STARFLEET_CONFIGURATION.config["STARFLEET"]["SecretsManager"] = stanza


if __name__ == "__main__":
    unittest.main()
