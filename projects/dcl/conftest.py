"""Put this project on sys.path, as its README's ``PYTHONPATH=projects/dcl`` does, so
that the config's ``custom_imports`` finds the ``dcl`` package."""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
