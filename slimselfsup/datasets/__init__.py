"""Data sets and transforms registered in slimselfsup's registries."""
from .cifar import CIFARBatches
from .image_folder import ImageFolder
from .tsv_dataset import TSVDataset
from .lmdb_dataset import LMDBDataset
from .mxrecord_dataset import MXRecordDataset
from .transforms import *  # noqa: F401,F403

__all__ = ['CIFARBatches', 'ImageFolder', 'LMDBDataset', 'MXRecordDataset']
