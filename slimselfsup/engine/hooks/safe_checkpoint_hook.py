"""mmengine's CheckpointHook, but old checkpoints are removed after the new one
is written, never before."""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from slimselfsup.registry import HOOKS


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """:class:`~mmengine.hooks.CheckpointHook` that never lets a run lose its last
    checkpoint.

    With ``max_keep_ckpts=k`` mmengine deletes the oldest of the ``k`` kept files
    *before* it writes the new one, so a run killed during the save (with ``k=1``)
    has no checkpoint left at all. This hook writes first (atomically, through
    ``SelfSupRunner.save_checkpoint``) and only then deletes the outdated file.
    Every argument is mmengine's.
    """

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        keep = self.max_keep_ckpts
        if keep <= 0 or (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            return super()._save_checkpoint_with_step(runner, step, meta)
        stale = self.keep_ckpt_ids.popleft() \
            if len(self.keep_ckpt_ids) == keep else None
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        self.max_keep_ckpts = -1  # the parent saves without removing anything
        try:
            super()._save_checkpoint_with_step(runner, step, meta)
        finally:
            self.max_keep_ckpts = keep
        if stale is not None and is_main_process():
            path = self.file_backend.join_path(self.out_dir,
                                               self.filename_tmpl.format(stale))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif osp.isdir(path):  # deepspeed saves folders
                self.file_backend.rmtree(path)
