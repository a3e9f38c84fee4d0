"""Install slimselfsup: ``bash tools/install.sh`` sets up the OpenMMLab stack first."""
import os.path as osp

from setuptools import find_packages, setup


def get_version() -> str:
    namespace: dict = {}
    with open(osp.join(osp.dirname(__file__), 'slimselfsup', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def parse_requirements(fname: str) -> list:
    with open(osp.join(osp.dirname(__file__), 'requirements', fname)) as f:
        return [line.split('#')[0].strip() for line in f
                if line.split('#')[0].strip()]


setup(
    name='slimselfsup',
    version=get_version(),
    description='Self-supervised pretraining for small networks, small batches '
    'and existing pretrained models (SlimCLR, SEED, FlatCLR, TEC) on mmengine',
    long_description=open('README.md').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'projects')),
    include_package_data=True,
    python_requires='>=3.9',
    install_requires=parse_requirements('runtime.txt'),
    extras_require={
        'tests': parse_requirements('tests.txt'),
        'optional': parse_requirements('optional.txt'),
        'mim': parse_requirements('mminstall.txt'),
    },
    license='Apache License 2.0',
    zip_safe=False,
)
