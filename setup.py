"""Install slimselfsup. ``bash tools/install.sh`` sets up the OpenMMLab stack first.

As OpenMMLab packages do (mmpretrain's ``add_mim_extension``), a built package
carries ``configs/``, ``tools/`` and ``model-index.yml`` in ``slimselfsup/.mim/``, so
the model zoo, the converters, ``_base_ = 'slimselfsup::...'`` and ``mim train
slimselfsup CONFIG`` work from a wheel or a plain ``pip install .``. They are
copied into the build folder, never into the source tree, so a checkout has no
stale copies; an editable install reads them from the checkout itself.
"""
import os.path as osp
import shutil
from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def get_version() -> str:
    namespace: dict = {}
    with open(osp.join(HERE, 'slimselfsup', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def parse_requirements(fname: str) -> list:
    with open(osp.join(HERE, 'requirements', fname)) as f:
        return [line.split('#')[0].strip() for line in f if line.split('#')[0].strip()]


class BuildPyWithMim(build_py):
    """``build_py`` that also copies :data:`MIM_FILES` into ``slimselfsup/.mim``."""

    def run(self) -> None:
        super().run()
        if getattr(self, 'editable_mode', False):
            return  # an editable install reads them from the checkout
        mim = osp.join(self.build_lib, 'slimselfsup', '.mim')
        if osp.isdir(mim):
            shutil.rmtree(mim)  # no files left over from an earlier build
        ignore = shutil.ignore_patterns('__pycache__', '*.pyc', 'work_dirs')
        for name in MIM_FILES:
            src, dst = osp.join(HERE, name), osp.join(mim, name)
            if osp.isdir(src):
                shutil.copytree(src, dst, ignore=ignore)
            else:
                self.mkpath(osp.dirname(dst))
                shutil.copyfile(src, dst)


setup(
    name='slimselfsup',
    version=get_version(),
    description='Self-supervised pretraining for small networks, small batches '
    'and existing pretrained models (SlimCLR, SEED, FlatCLR, TEC) on mmengine',
    long_description=open(osp.join(HERE, 'README.md')).read()
    if osp.exists(osp.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=('slimselfsup', 'slimselfsup.*')),
    include_package_data=True,
    python_requires='>=3.9',
    install_requires=parse_requirements('runtime.txt'),
    extras_require={
        'tests': parse_requirements('tests.txt'),
        'optional': parse_requirements('optional.txt'),
        'mim': parse_requirements('mminstall.txt'),
        'det': parse_requirements('det.txt'),
    },
    cmdclass={'build_py': BuildPyWithMim},
    license='Apache License 2.0',
    zip_safe=False,
)
