"""Linear and square-root learning-rate scaling in SelfSupRunner."""
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from torch.utils.data import Dataset

from slimselfsup.engine.runner import SelfSupRunner, lr_scale_factor


def test_scale_factor_rules():
    assert lr_scale_factor(512, 256, 'linear') == 2
    assert lr_scale_factor(128, 512, 'sqrt') == 0.5
    # SimCLR's two rules coincide at B = 4096: 0.3 * 4096 / 256 == 0.075 * sqrt(4096)
    assert 0.3 * lr_scale_factor(4096, 256) == pytest.approx(
        1.2 * lr_scale_factor(4096, 256, 'sqrt'))
    with pytest.raises(ValueError, match="'linear' or 'sqrt'"):
        lr_scale_factor(2, 1, 'log')
    with pytest.raises(ValueError, match='positive'):
        lr_scale_factor(0, 256)


class _Tiny(BaseModel):

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return dict(loss=self.w(torch.stack(inputs)).sum())


class _Data(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return dict(inputs=torch.ones(2))


@pytest.mark.parametrize('mode,expected', [('linear', 0.1 * 4 / 16),
                                           ('sqrt', 0.1 * math.sqrt(4 / 16))])
def test_runner_scales_every_group(tmp_path, mode, expected):
    runner = SelfSupRunner(
        model=_Tiny(), work_dir=str(tmp_path),
        train_dataloader=dict(dataset=_Data(), batch_size=4,
                              sampler=dict(type='DefaultSampler', shuffle=False)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        auto_scale_lr=dict(enable=True, base_batch_size=16, mode=mode),
        default_scope='slimselfsup', cfg=Config(dict()))
    runner.train()
    assert runner.optim_wrapper.param_groups[0]['lr'] == pytest.approx(expected)
