"""Data sets and transforms registered in slimselfsup's registries."""
from .cifar import CIFARBatches
from .cifar_tensor import CIFARTensorDataset, pre_batched_collate
from .decoding import decode_images
from .image_folder import ImageFolder
from .lmdb_dataset import LMDBDataset
from .mxrecord_dataset import MXRecordDataset
from .transforms import *  # noqa: F401,F403
from .tsv_dataset import TSVDataset

__all__ = ['CIFARBatches', 'CIFARTensorDataset', 'pre_batched_collate', 'ImageFolder',
           'LMDBDataset', 'MXRecordDataset', 'TSVDataset', 'decode_images']
