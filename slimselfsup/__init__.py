"""slimselfsup: self-supervised pretraining for small networks, small batches and
existing pretrained models, on mmengine and mmpretrain."""
import warnings

from .version import __version__, check_versions

# before anything imports torch or OpenMMLab: a wrong version fails here, in one line
check_versions()
# mmengine imports pkg_resources, which setuptools 81 (the newest that has it, see
# tools/install.sh) calls deprecated at every command; nothing a user can act on.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated as an API',
                        category=UserWarning)

from .utils.compat import apply_compat_patches  # noqa: E402

apply_compat_patches()

__all__ = ['__version__', 'get_model', 'list_models']


def __getattr__(name: str):
    # the model zoo is imported on first use: `import slimselfsup` stays light
    if name in ('get_model', 'list_models'):
        from .apis import model_zoo
        return getattr(model_zoo, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
