"""The slice of Starfleet's package that starfleet_secrets imports, for tests.

Only ``starfleet.utils.configuration.STARFLEET_CONFIGURATION`` with its
``config`` dict, loaded from the YAML files of STARFLEET_CONFIG the way
Starfleet's loader merges them.
"""
