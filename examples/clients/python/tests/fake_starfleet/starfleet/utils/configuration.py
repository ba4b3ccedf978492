"""Stands in for Starfleet's configuration loader: the same attribute and
merging rule (every *.yaml file of the directory, top-level keys, directory
order), reading STARFLEET_CONFIG."""

import os

import yaml


class _Loader:
    def __init__(self):
        self._app_config = None

    @property
    def config(self):
        if not self._app_config:
            path = os.environ["STARFLEET_CONFIG"]
            merged = {}
            for name in os.listdir(path):
                if name.endswith(".yaml"):
                    with open(os.path.join(path, name), encoding="utf-8") as stream:
                        merged.update(yaml.safe_load(stream))
            self._app_config = merged
        return self._app_config


STARFLEET_CONFIGURATION = _Loader()
