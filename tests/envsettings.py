"""Evaluate valify/settings.py afresh under a given environment, as a deployment would."""

import importlib.util
import os
import tempfile
from pathlib import Path
from types import ModuleType
from unittest import mock

SETTINGS_FILE = Path(__file__).resolve().parents[1] / "valify" / "settings.py"


def settings_from_env(**env: str) -> ModuleType:
    """Return the settings module as it reads with only `env` set (and a scratch VALIFY_VAR_DIR).

    The running test's own settings are untouched: this is a separate module object.
    """
    spec = importlib.util.spec_from_file_location("valify_settings_probe", SETTINGS_FILE)
    module = importlib.util.module_from_spec(spec)
    with tempfile.TemporaryDirectory(prefix="valify-settings-") as scratch:
        env.setdefault("VALIFY_VAR_DIR", scratch)  # settings create it: keep that out of var/
        with mock.patch.dict(os.environ, env, clear=True):
            spec.loader.exec_module(module)
    return module
