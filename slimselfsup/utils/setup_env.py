"""Registering every slimselfsup module and setting the default scope."""
import uuid

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every module that registers something, mmpretrain's included.

    Args:
        init_default_scope (bool): Whether to make ``slimselfsup`` the current default
            scope, so that types resolve in our registries first and then in
            mmpretrain's. Defaults to True.
    """
    import mmpretrain.datasets  # noqa: F401
    import mmpretrain.engine  # noqa: F401
    import mmpretrain.evaluation  # noqa: F401
    import mmpretrain.models  # noqa: F401
    import mmpretrain.visualization  # noqa: F401

    import slimselfsup.datasets  # noqa: F401
    import slimselfsup.engine  # noqa: F401
    import slimselfsup.evaluation  # noqa: F401
    import slimselfsup.models  # noqa: F401

    current = DefaultScope.get_current_instance()
    if init_default_scope and (current is None
                               or current.scope_name != 'slimselfsup'):
        DefaultScope.get_instance(f'slimselfsup-{uuid.uuid4().hex}',
                                  scope_name='slimselfsup')
