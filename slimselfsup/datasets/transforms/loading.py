"""mmcv's ``LoadImageFromFile`` with errors that name the file."""
import os.path as osp
from typing import Optional

from mmcv.transforms import LoadImageFromFile as _MMCVLoadImageFromFile

from slimselfsup.registry import TRANSFORMS


def unreadable_image_message(path: str, err: Optional[BaseException] = None) -> str:
    """What to tell a user whose image file ``path`` does not decode."""
    if isinstance(path, str) and osp.isfile(path) and osp.getsize(path) == 0:
        what = 'is empty (0 bytes)'
    else:
        what = f'does not decode ({type(err).__name__}: {err})' if err else \
            'does not decode'
    return (f'image file {path} {what}; delete it or replace it with an intact copy '
            '(a class folder takes every file with an image extension).')


@TRANSFORMS.register_module()
class LoadImageFromFile(_MMCVLoadImageFromFile):
    """:class:`mmcv.transforms.LoadImageFromFile`, but a file the decoder fails on
    raises a :class:`ValueError` naming it.

    mmcv names the file only when the decoder returns nothing; a zero-byte file
    makes OpenCV raise its own assertion (``!buf.empty()``) with no path, which in
    a folder of a million images says nothing. Arguments, keys and behaviour are
    mmcv's otherwise (``ignore_empty=True`` still skips such files).
    """

    def transform(self, results: dict) -> Optional[dict]:
        try:
            return super().transform(results)
        except (AssertionError, FileNotFoundError):
            raise  # mmcv's "failed to load image: PATH", a missing file: both named
        except Exception as err:  # decoders raise many types on bad bytes
            raise ValueError(f'{type(self).__name__}: ' + unreadable_image_message(
                results.get('img_path'), err)) from err
