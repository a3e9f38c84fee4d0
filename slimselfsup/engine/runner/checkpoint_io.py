"""Moved to :mod:`slimselfsup.utils.checkpoint_io`; this alias keeps
``tools/model_converters/slimclr_extract.py`` working until it imports from there
(it is being rewritten on another branch). Import from ``slimselfsup.utils``."""
from slimselfsup.utils.checkpoint_io import *  # noqa: F401,F403
