"""GPUMultiViewDataPreprocessor on CPU tensors: inputs of every supported form give
the same views, channel order and normalisation are right, errors name the image."""
from pathlib import Path

import pytest
import torch
from mmpretrain.models.utils.data_preprocessor import SelfSupDataPreprocessor
from mmpretrain.structures import DataSample
from realdata import DEMO

from slimselfsup.datasets import decode_images
from slimselfsup.registry import MODELS

MEAN, STD = [125.307, 122.961, 113.8575], [51.5865, 50.847, 51.255]
FILES = sorted((Path(DEMO) / 'train' / 'frog').glob('*.jpg'))[:6]


def build(**kwargs):
    cfg = dict(type='GPUMultiViewDataPreprocessor', mean=MEAN, std=STD,
               views=[dict(num_views=2, crop_size=24, blur_prob=0.5,
                           solarize_prob=0.2),
                      dict(num_views=1, crop_size=16, scale=(0.5, 1.))])
    cfg.update(kwargs)
    return MODELS.build(cfg)


@pytest.fixture(scope='module')
def encoded():
    return [torch.frombuffer(bytearray(f.read_bytes()), dtype=torch.uint8)
            for f in FILES]


@pytest.fixture(scope='module')
def rgb(encoded):
    return torch.stack(decode_images(encoded, torch.device('cpu')))


def run(pp, inputs, seed=0):
    torch.manual_seed(seed)
    return pp(dict(inputs=inputs, data_samples=[DataSample() for _ in FILES]),
              True)['inputs']


def test_views_have_the_configured_sizes_and_normalisation(rgb):
    views = run(build(), rgb)
    assert [tuple(v.shape) for v in views] == [(6, 3, 24, 24)] * 2 + [(6, 3, 16, 16)]
    assert not torch.equal(views[0], views[1])  # independent draws per view
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    pixels = views[2] * std + mean
    assert pixels.min() >= -1e-3 and pixels.max() <= 255 + 1e-3


def test_bytes_lists_and_bgr_batches_give_the_same_views(encoded, rgb):
    ref = run(build(), rgb)
    for pp, inputs in ((build(), encoded),  # decoded here, RGB
                       (build(), list(rgb)),  # list of images
                       (build(to_rgb=True), rgb.flip(1))):  # BGR batch
        for a, b in zip(run(pp, inputs), ref):
            assert torch.allclose(a, b, atol=1e-4)


def test_decoding_matches_torchvision_and_names_broken_files(encoded):
    from torchvision.io import decode_jpeg
    imgs = decode_images(encoded, torch.device('cpu'))
    assert torch.equal(imgs[0], decode_jpeg(encoded[0]))
    broken = torch.zeros(100, dtype=torch.uint8)
    samples = [DataSample(metainfo=dict(img_path='frog/bad.jpg'))]
    with pytest.raises(ValueError, match="'frog/bad.jpg' could not be decoded"):
        build()(dict(inputs=[broken], data_samples=samples), True)


def test_eval_and_cpu_made_views_behave_like_selfsup_preprocessor(rgb):
    ours = build(to_rgb=True)
    ref = SelfSupDataPreprocessor(mean=MEAN, std=STD, to_rgb=True)
    data = dict(inputs=rgb, data_samples=None)
    assert torch.allclose(ours(data, False)['inputs'], ref(data, False)['inputs'])
    views = dict(inputs=[rgb, rgb.flip(-1)], data_samples=None)
    for a, b in zip(ours(views, True)['inputs'], ref(views, True)['inputs']):
        assert torch.allclose(a, b)


def test_channels_last_and_bad_views(rgb):
    views = run(build(channels_last=True), rgb)
    assert views[0].is_contiguous(memory_format=torch.channels_last)
    with pytest.raises(ValueError, match='at least one view'):
        build(views=[])
    with pytest.raises(TypeError, match="bad view.*Valid keys"):
        build(views=[dict(crop=32)])
