"""pytest hooks for this directory: the CI skip policy of tests/skip_policy.py."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from skip_policy import pytest_runtest_makereport  # noqa: E402,F401
