"""SafeCheckpointHook writes the new checkpoint before deleting the old one."""
import os

import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn


class TinyModel(BaseModel):

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3 * 32 * 32, 2)

    def forward(self, inputs, mode='loss'):
        return dict(loss=self.fc(inputs.flatten(1)).pow(2).mean())


class ListDirAtSave(Hook):
    """Records the work dir's checkpoints at the moment each save begins."""

    def __init__(self, work_dir: str) -> None:
        self.work_dir, self.seen = work_dir, []

    def before_save_checkpoint(self, runner, checkpoint) -> None:
        self.seen.append(sorted(f for f in os.listdir(self.work_dir)
                                if f.endswith('.pth')))


def test_old_checkpoint_survives_until_the_new_one_is_written(tmp_path, real_images):
    probe = ListDirAtSave(str(tmp_path))
    runner = Runner(
        model=TinyModel(), work_dir=str(tmp_path),
        train_dataloader=dict(dataset=[dict(inputs=real_images[i]) for i in range(8)],
                              sampler=dict(type='DefaultSampler', shuffle=False),
                              collate_fn=dict(type='default_collate'), batch_size=4),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=3),
        default_hooks=dict(checkpoint=dict(type='SafeCheckpointHook',
                                           interval=1, max_keep_ckpts=1)),
        custom_hooks=[probe], default_scope='slimselfsup')
    runner.train()
    # mmengine's own hook would have deleted epoch_1.pth before saving epoch_2.pth
    assert probe.seen == [[], ['epoch_1.pth'], ['epoch_2.pth']]
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith('.pth')) == ['epoch_3.pth']
    assert torch.load(tmp_path / 'epoch_3.pth', map_location='cpu')['meta']['epoch'] == 3
