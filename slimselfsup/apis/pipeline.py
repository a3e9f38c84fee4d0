"""From a pretraining config to a report in one call: pretrain, kNN, linear probe,
report (``tools/pipeline.py`` is the command line of :func:`run_pipeline`).

Stages and the files they write in the work dir ``DIR``:

* ``pretrain``: the normal Runner on the config (``--resume``, ``--amp``,
  ``--cfg-options``, launchers as ``tools/train.py``), work dir ``DIR/pretrain``;
  adds a ``ContrastiveMonitorHook`` (contrastive heads) and a ``SlimGradHook``
  (slimmable models) unless the config has them. Result: ``DIR/pretrain/result.json``
  (final checkpoint and its sha256).
* ``knn``: weighted kNN on the data of the config's ``KNNHook``, at every width of a
  slimmable model or once. Result: ``DIR/knn/result.json`` plus the test features
  of the first width (``DIR/knn/test_features.npz``) for the embedding maps.
* ``linear``: the linear-probe config (``--linear-config``; the switchable probe for
  slimmable backbones) with ``model.backbone.init_cfg.checkpoint`` set to the
  pretraining checkpoint, trained and tested in ``DIR/linear``. Result:
  ``DIR/linear/result.json``.
* ``report``: ``DIR/report.md``, ``DIR/figures/*.png``, ``DIR/report.json``
  (:mod:`slimselfsup.analysis.report`).

Each result file records the hash of the stage's inputs (the resolved config and
the identity of the checkpoint it starts from). A stage whose result file exists
with the same inputs is skipped, so a killed pipeline continues where it stopped;
a killed pretraining or probe resumes from its last checkpoint. Bad input (an
unknown stage, a missing test split, a probe whose backbone does not fit the
pretrained one...) is reported before any work starts; a stage that fails names
itself, its result file and the command that reruns only it.

Multi-process launches (``TOOL=tools/pipeline.py tools/dist_train.sh`` or
``tools/slurm_train.sh``, i.e. ``--launcher pytorch``/``slurm``): ``pretrain`` and
``linear`` run DDP on every rank through the Runner; ``knn`` extracts features on
every rank (sharded, gathered) and rank 0 writes the result; ``report`` runs on
rank 0 only. Skip decisions are taken on rank 0 and broadcast, and every stage ends
with a barrier.
"""
import argparse
import copy
import datetime
import hashlib
import json
import os
import os.path as osp
import platform
import shlex
import shutil
import subprocess
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.device import get_device
from mmengine.dist import barrier, broadcast_object_list, get_rank, get_world_size
from mmengine.logging import MMLogger
from mmengine.runner import IterBasedTrainLoop, load_checkpoint

from slimselfsup.analysis import slim_complexity
from slimselfsup.analysis.embedding_map import umap_available
from slimselfsup.analysis.monitors import DEFAULT_MAX_UNIFORMITY, DEFAULT_MIN_EFFECTIVE_RANK
from slimselfsup.analysis.report import dump_json, write_report
from slimselfsup.analysis.slim_plots import natural_key
from slimselfsup.engine.hooks.knn_hook import run_at_widths
from slimselfsup.engine.runner.cpu_ddp import init_distributed
from slimselfsup.evaluation import extract_features, find_knn_hook, knn_result
from slimselfsup.registry import DATASETS, MODELS, RUNNERS
from slimselfsup.utils import register_all_modules
from slimselfsup.utils.checkpoint_io import (atomic_write, candidate_checkpoints,
                                             find_resumable_checkpoint)
from .cli import apply_train_args, enable_tensorboard
from .config import _edit_distance, load_config

STAGES = ('pretrain', 'knn', 'linear', 'report')
RESULT_FILES = {'pretrain': 'pretrain/result.json', 'knn': 'knn/result.json',
                'linear': 'linear/result.json', 'report': 'report.json'}
#: Sizes of ``--smoke``: images per split and training length.
SMOKE = dict(train=32, bank=50, queries=30, linear_train=32, batch=16, eval_batch=25,
             epochs=2, iters=4)
#: Config keys that do not change what a stage computes (not hashed).
VOLATILE_KEYS = ('work_dir', 'launcher', 'resume', 'visualizer', 'vis_backends',
                 'log_level')


class PipelineInputError(ValueError):
    """Bad input, found before any stage started."""


class StageFailed(RuntimeError):
    """A stage raised; the message names it, its result file and the rerun command."""


def parse_stages(stages) -> List[str]:
    """``'pretrain,knn'`` or a sequence to the ordered list of stage names.

    Raises:
        PipelineInputError: An unknown or repeated name.
    """
    names = [s.strip() for s in (stages.split(',') if isinstance(stages, str) else stages)
             if s.strip()]
    if not names:
        raise PipelineInputError(f'--stages is empty; give some of {",".join(STAGES)}')
    for name in names:
        if name not in STAGES:
            close = min(STAGES, key=lambda s: _edit_distance(s, name))
            hint = f" (did you mean '{close}'?)" if _edit_distance(close, name) <= 2 else ''
            raise PipelineInputError(f"unknown stage '{name}' in --stages{hint}; the stages "
                                     f"are {', '.join(STAGES)}")
    if len(set(names)) != len(names):
        raise PipelineInputError(f'--stages names a stage twice: {",".join(names)}')
    return sorted(names, key=STAGES.index)


def config_hash(cfg: Config, drop: Sequence[str] = VOLATILE_KEYS) -> str:
    """sha256 of a resolved config, without keys that do not change the result."""
    tree = {k: v for k, v in cfg.to_dict().items() if k not in drop}
    if cfg.get('resume'):
        tree.pop('load_from', None)  # where a resume starts changes nothing
    text = json.dumps(tree, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def file_sha256(path: str) -> str:
    """sha256 of a file's bytes (the identity of a checkpoint)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 22), b''):
            digest.update(block)
    return digest.hexdigest()


def inputs_hash(**parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=repr).encode()
                          ).hexdigest()


def git_commit() -> str:
    """``git describe``-like identity of the slimselfsup checkout, or why not."""
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    try:
        head = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=root, text=True,
                              capture_output=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'],
                               cwd=root, text=True, capture_output=True, timeout=10
                               ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return 'unknown (not a git checkout)'
    return head + (' (with uncommitted changes)' if dirty else '')


def device_name() -> str:
    """The accelerator (or CPU) and the number of processes."""
    world = get_world_size()
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name()
    else:
        name = platform.processor() or platform.machine()
        try:
            with open('/proc/cpuinfo') as f:
                name = next(line.split(':', 1)[1].strip() for line in f
                            if line.startswith('model name'))
        except (OSError, StopIteration):
            pass
        name = f'CPU: {name}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads'
    return f'{name}; {world} process{"es" if world > 1 else ""}'


def _atomic_json(obj: dict, path: str) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    atomic_write(path, lambda tmp: dump_json(obj, tmp))


def _read_json(path: str) -> Optional[dict]:
    if not osp.isfile(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None  # a damaged result is redone


def _spaced(n_total: int, n: int) -> List[int]:
    """``n`` indices evenly spaced over ``range(n_total)`` (class-balanced for
    class-sorted folders)."""
    if n_total <= n:
        return list(range(n_total))
    return [int(i * n_total / n) for i in range(n)]


def _model_widths(model: torch.nn.Module) -> Optional[List[float]]:
    """Widths of a slimmable model (the algorithm's, else the backbone's), or None."""
    for owner in (model, getattr(model, 'backbone', None)):
        widths = getattr(owner, 'widths', None)
        if isinstance(widths, (tuple, list)) and widths:
            return [float(w) for w in widths]
    return None


class Pipeline:
    """The stages of :mod:`slimselfsup.apis.pipeline` for one config and work dir.

    Args: see :func:`run_pipeline`.
    """

    def __init__(self,
                 config: str,
                 work_dir: str,
                 linear_config: Optional[str] = None,
                 stages: Optional[Sequence[str]] = None,
                 cfg_options: Optional[dict] = None,
                 linear_cfg_options: Optional[dict] = None,
                 smoke: bool = False,
                 tensorboard: bool = False,
                 resume: Optional[str] = None,
                 amp: bool = False,
                 auto_scale_lr: bool = False,
                 launcher: str = 'none',
                 force: bool = False,
                 map_samples: int = 2000,
                 map_seed: int = 0) -> None:
        self.config = config
        self.work_dir = osp.abspath(work_dir)
        self.linear_config = linear_config
        self.explicit_stages = stages is not None
        self.left_out: List[str] = []
        if stages is None:
            stages = [s for s in STAGES if s != 'linear' or linear_config]
            if not linear_config:
                self.left_out.append('linear (no --linear-config)')
        self.stages = parse_stages(stages)
        self.cfg_options = cfg_options
        self.linear_cfg_options = linear_cfg_options
        self.smoke = smoke
        self.tensorboard = tensorboard
        self.resume = resume
        self.amp = amp
        self.auto_scale_lr = auto_scale_lr
        self.launcher = launcher
        self.force = force
        if map_samples < 3:
            raise PipelineInputError(f'--map-samples must be >= 3, got {map_samples}')
        self.map_samples = map_samples
        self.map_seed = map_seed
        self.status: Dict[str, str] = {}
        self.results: Dict[str, dict] = {}
        self.logger: Optional[MMLogger] = None

    # ------------------------------------------------------------------ helpers
    def path(self, stage: str) -> str:
        """The result file of ``stage``."""
        return osp.join(self.work_dir, RESULT_FILES[stage])

    def command(self, stages: Optional[Sequence[str]] = None) -> str:
        """The ``tools/pipeline.py`` command for these options (and ``stages``)."""
        parts = ['python', 'tools/pipeline.py', self.config, '--work-dir', self.work_dir]
        if self.linear_config:
            parts += ['--linear-config', self.linear_config]
        stages = stages if stages is not None else (
            self.stages if self.explicit_stages else None)
        if stages is not None:
            parts += ['--stages', ','.join(stages)]
        for flag, on in (('--smoke', self.smoke), ('--tensorboard', self.tensorboard),
                         ('--amp', self.amp), ('--auto-scale-lr', self.auto_scale_lr)):
            if on:
                parts.append(flag)
        if self.resume:
            parts += ['--resume'] + ([] if self.resume == 'auto' else [self.resume])
        if self.launcher != 'none':
            parts += ['--launcher', self.launcher]
        for flag, options in (('--cfg-options', self.cfg_options),
                              ('--linear-cfg-options', self.linear_cfg_options)):
            if options:
                parts += [flag] + [f'{k}={v}' for k, v in options.items()]
        return ' '.join(shlex.quote(str(p)) for p in parts)

    def log(self, msg: str, level: str = 'info') -> None:
        if get_rank() == 0:
            getattr(self.logger, level)(f'[pipeline] {msg}')

    def _broadcast(self, value):
        if get_world_size() == 1:
            return value
        box = [value]
        broadcast_object_list(box, src=0)
        return box[0]

    # ----------------------------------------------------------------- preflight
    def prepare(self) -> None:
        """Load and check everything; no stage work. Raises on bad input."""
        register_all_modules()
        cfg = load_config(self.config, self.cfg_options)
        init_distributed(self.launcher, cfg.get('env_cfg'))
        args = argparse.Namespace(
            config=self.config, work_dir=osp.join(self.work_dir, 'pretrain'),
            resume=self.resume, amp=self.amp, auto_scale_lr=self.auto_scale_lr,
            no_validate=False, tensorboard=self.tensorboard, launcher=self.launcher)
        cfg = apply_train_args(cfg, args)
        cfg.setdefault('runner_type', 'SelfSupRunner')
        self.knn_hook = self._find_knn_hook(cfg)
        if self.smoke:
            self._smoke_pretrain(cfg)
        self.cfg = cfg
        model_cfg = cfg.model.copy()
        self.model = MODELS.build(model_cfg)
        self.widths = _model_widths(self.model)
        if self.knn_hook is not None and self.knn_hook.get('widths'):
            self.widths = [float(w) for w in self.knn_hook['widths']]

        self.linear_cfg = None
        if 'linear' in self.stages:
            if not self.linear_config:
                raise PipelineInputError(
                    'stage linear needs --linear-config: the linear-probe config for '
                    'this backbone (configs/<method>/benchmarks/*linear*.py; the '
                    'switchable probe in configs/slimclr/benchmarks/ for slimmable '
                    'backbones); or leave linear out of --stages')
            self.linear_cfg = self._linear_config()
            self._check_backbone(self.linear_cfg)
        self._check_datasets()  # in smoke mode this also picks the images
        self.pretrain_hash = config_hash(cfg)
        if 'report' in self.stages:
            try:
                import sklearn  # noqa: F401
            except ImportError:
                raise PipelineInputError(
                    'stage report draws a t-SNE map with scikit-learn, which is not '
                    'installed: `pip install scikit-learn` (requirements/runtime.txt), '
                    'or leave report out of --stages') from None
        self._check_prerequisites()
        os.makedirs(self.work_dir, exist_ok=True)
        self.logger = MMLogger.get_instance(
            f'slimselfsup-pipeline-{id(self)}', log_file=osp.join(
                self.work_dir, 'pipeline.log'), log_level='INFO', file_mode='a')

    def _find_knn_hook(self, cfg: Config) -> Optional[dict]:
        try:
            return find_knn_hook(cfg)
        except ValueError as err:
            if 'knn' in self.stages and self.explicit_stages:
                raise PipelineInputError(f'stage knn: {err}') from None
            if 'knn' in self.stages:
                self.stages.remove('knn')
                self.left_out.append('knn (the config has no KNNHook)')
            return None

    def _linear_config(self) -> Config:
        lcfg = load_config(self.linear_config, self.linear_cfg_options)
        backbone = lcfg.get('model', {}).get('backbone')
        if backbone is None:
            raise PipelineInputError(f'--linear-config {self.linear_config} has no '
                                     'model.backbone')
        if lcfg.get('test_dataloader') is None or lcfg.get('test_evaluator') is None:
            raise PipelineInputError(
                f'--linear-config {self.linear_config} has no test_dataloader/'
                'test_evaluator, so the probe cannot be tested; use a probe config '
                'from configs/<method>/benchmarks/')
        init_cfg = dict(backbone.get('init_cfg') or {})
        init_cfg.update(type='Pretrained', checkpoint='<pretraining checkpoint>')
        init_cfg.setdefault('prefix', 'backbone.')
        backbone['init_cfg'] = init_cfg
        lcfg.work_dir = osp.join(self.work_dir, 'linear')
        lcfg.launcher = self.launcher
        lcfg.resume = False
        lcfg.load_from = None
        lcfg.setdefault('runner_type', 'SelfSupRunner')
        if self.tensorboard:
            enable_tensorboard(lcfg)
        if self.smoke:
            self._smoke_linear(lcfg)
        return lcfg

    def _check_backbone(self, lcfg: Config) -> None:
        """The probe's backbone must take every pretrained tensor with its shape."""
        bcfg = copy.deepcopy(lcfg.model.backbone)
        prefix = bcfg.pop('init_cfg').get('prefix', 'backbone.')
        try:
            own = MODELS.build(bcfg).state_dict()
        except Exception as err:
            raise PipelineInputError(f'--linear-config {self.linear_config}: its '
                                     f'model.backbone does not build: {err}') from err
        src = {k[len(prefix):]: v for k, v in self.model.state_dict().items()
               if k.startswith(prefix)}
        skip = 'num_batches_tracked'
        missing = sorted(k for k in own if k not in src and skip not in k)
        shapes = sorted(f'{k} {tuple(src[k].shape)} vs {tuple(own[k].shape)}'
                        for k in own if k in src and tuple(src[k].shape) != tuple(
                            own[k].shape))
        unexpected = sorted(k for k in src if k not in own and skip not in k)
        if missing or shapes or not src:
            pre = self.cfg.model.backbone
            raise PipelineInputError(
                f'--linear-config {self.linear_config}: its backbone ({bcfg.get("type")}'
                f'{", depth " + str(bcfg["depth"]) if "depth" in bcfg else ""}) does not '
                f'match the pretrained backbone of {self.config} ({pre.get("type")}'
                f'{", depth " + str(pre["depth"]) if "depth" in pre else ""}) under prefix '
                f"'{prefix}': {len(missing)} of its tensors are not in the checkpoint "
                f'{missing[:4]}, {len(shapes)} have another shape {shapes[:3]}, '
                f'{len(unexpected)} checkpoint tensors would be unused {unexpected[:4]}. '
                'The probe would start from random weights there. Use a linear config '
                'whose model.backbone equals the pretraining one (for a slimmable '
                'backbone the switchable probe, configs/slimclr/benchmarks/), or fix '
                'it with --linear-cfg-options model.backbone.<key>=<value>.')

    def _check_datasets(self) -> None:
        """Build every evaluation data set the selected stages read (a missing test
        split fails here, before any work)."""
        needed = []
        reads_knn_data = bool({'pretrain', 'knn'} & set(self.stages)) or self.smoke
        if self.knn_hook is not None and reads_knn_data:
            # the pretraining's KNNHook reads them too, after its first epochs (and
            # --smoke picks their images, which the config hash includes)
            hook_key = f'custom_hooks[KNNHook] of {self.config}'
            stage = 'knn' if 'knn' in self.stages else 'pretrain (its KNNHook)'
            needed += [(stage, 'the kNN bank (train split)', f'{hook_key}.train_dataloader',
                        self.knn_hook['train_dataloader'], SMOKE['bank']),
                       ('queries', 'the kNN queries (test split)',
                        f'{hook_key}.val_dataloader', self.knn_hook['val_dataloader'],
                        SMOKE['queries'])]
        if self.linear_cfg is not None:
            for key, n in (('train_dataloader', SMOKE['linear_train']),
                           ('val_dataloader', SMOKE['queries']),
                           ('test_dataloader', SMOKE['queries'])):
                loader = self.linear_cfg.get(key)
                if loader is not None:
                    needed.append(('linear', f'the probe\'s {key.split("_")[0]} split',
                                   f'{key} of {self.linear_config}', loader, n))
        self.eval_meta = {}
        for stage, what, where, loader, n in needed:
            queries = stage == 'queries'
            stage = ('knn' if 'knn' in self.stages else 'pretrain (its KNNHook)') \
                if queries else stage
            try:
                dataset = DATASETS.build(copy.deepcopy(loader['dataset']))
                size = len(dataset)
            except Exception as err:
                raise PipelineInputError(
                    f'stage {stage}: {what} ({where}) cannot be read: {err}') from err
            if size == 0:
                raise PipelineInputError(f'stage {stage}: {what} ({where}) is empty')
            if self.smoke:
                loader['dataset']['indices'] = _spaced(size, n)
            if queries:
                self.eval_meta = dict(classes=list(dataset.metainfo.get('classes') or []),
                                      img_shape=list(dataset[0]['inputs'].shape[-2:]))

    def _check_prerequisites(self) -> None:
        """A stage that is not run but whose result a selected one needs must exist
        and be of the current inputs."""
        needs = {'knn': ['pretrain'], 'linear': ['pretrain'], 'report': ['pretrain']}
        for stage in self.stages:
            for need in needs.get(stage, []):
                if need in self.stages:
                    continue
                result = _read_json(self.path(need))
                if result is None:
                    raise PipelineInputError(
                        f'stage {stage} needs the result of stage {need}, '
                        f'{self.path(need)}, which does not exist; run it first: '
                        f'{self.command([need] + list(self.stages))}')
                if need == 'pretrain' and result.get('config_hash') != self.pretrain_hash:
                    raise PipelineInputError(
                        f'{self.path(need)} was made from another pretraining config '
                        '(the resolved config differs, e.g. other --cfg-options or '
                        '--smoke); rerun the pretraining: '
                        f'{self.command(["pretrain"] + list(self.stages))}')

    # --------------------------------------------------------------- smoke mode
    def _smoke_pretrain(self, cfg: Config) -> None:
        loader = cfg.train_dataloader
        loader.update(batch_size=min(loader.batch_size, SMOKE['batch']), num_workers=0,
                      persistent_workers=False)
        size = len(DATASETS.build(copy.deepcopy(loader.dataset)))
        loader.dataset['indices'] = _spaced(size, SMOKE['train'])
        loop = cfg.train_cfg
        if 'max_iters' in loop:
            loop.max_iters = SMOKE['iters']
        else:
            loop.max_epochs = SMOKE['epochs']
        by_epoch = 'max_iters' not in loop
        hooks = cfg.setdefault('default_hooks', {})
        if 'checkpoint' in hooks:
            hooks['checkpoint'].update(interval=1 if by_epoch else SMOKE['iters'] // 2,
                                       max_keep_ckpts=3)
        if 'logger' in hooks:
            hooks['logger']['interval'] = 1
        if 'slim_start_epoch' in cfg.model:
            cfg.model.slim_start_epoch = -1  # every width trains in the few steps
        if self.knn_hook is not None:  # once, after the last epoch
            self.knn_hook['interval'] = SMOKE['epochs'] if by_epoch else SMOKE['iters']
            for key in ('train_dataloader', 'val_dataloader'):
                self.knn_hook[key].update(batch_size=SMOKE['eval_batch'], num_workers=0,
                                          persistent_workers=False)

    def _smoke_linear(self, lcfg: Config) -> None:
        for key, batch in (('train_dataloader', SMOKE['batch']),
                           ('val_dataloader', SMOKE['eval_batch']),
                           ('test_dataloader', SMOKE['eval_batch'])):
            if lcfg.get(key) is not None:
                lcfg[key].update(batch_size=batch, num_workers=0, persistent_workers=False)
        if 'max_iters' in lcfg.train_cfg:
            lcfg.train_cfg.max_iters = SMOKE['iters']
        else:
            lcfg.train_cfg.max_epochs = 1
        if 'val_interval' in lcfg.train_cfg:
            lcfg.train_cfg.val_interval = 1
        hooks = lcfg.setdefault('default_hooks', {})
        if 'checkpoint' in hooks:
            hooks['checkpoint'].update(interval=1, max_keep_ckpts=1)
        if 'logger' in hooks:
            hooks['logger']['interval'] = 1

    # ------------------------------------------------------------------- running
    def run(self) -> Dict[str, dict]:
        """Run the selected stages; returns ``{stage: result}``."""
        self.prepare()
        self.log(f'stages {",".join(self.stages)} in {self.work_dir}' + (
            f' (left out: {", ".join(self.left_out)})' if self.left_out else ''))
        for stage in self.stages:
            self._run_stage(stage)
        return self.results

    def _inputs(self, stage: str) -> str:
        pre = self.results.get('pretrain') or _read_json(self.path('pretrain')) or {}
        ckpt = dict(sha256=pre.get('checkpoint_sha256'))
        if stage == 'pretrain':
            return inputs_hash(config=self.pretrain_hash)
        if stage == 'knn':
            return inputs_hash(config=self.pretrain_hash, checkpoint=ckpt,
                               widths=self.widths)
        if stage == 'linear':
            lcfg = self._linear_for_run(pre)
            # the checkpoint counts by its sha256, not by where the work dir is
            lcfg.model.backbone.init_cfg.checkpoint = pre.get('checkpoint')
            return inputs_hash(config=config_hash(lcfg), checkpoint=ckpt)
        files = {s: _read_json(self.path(s)) for s in ('pretrain', 'knn', 'linear')}
        return inputs_hash(results=files, map_samples=self.map_samples,
                           map_seed=self.map_seed, umap=umap_available(),
                           linear_config=self.linear_config)

    def _run_stage(self, stage: str) -> None:
        path = self.path(stage)
        decision = None
        if get_rank() == 0:
            inputs = self._inputs(stage)
            old = _read_json(path)
            fresh = old is not None and old.get('inputs') == inputs and \
                self._outputs_exist(stage, old)
            decision = ('skip' if fresh and not self.force else 'run', inputs)
        action, inputs = self._broadcast(decision)
        if action == 'skip':
            self.status[stage] = 'skipped (up to date)'
            self.results[stage] = _read_json(path) if get_rank() == 0 else {}
            self.log(f'stage {stage}: {path} is up to date, skipped (--force reruns it)')
            return
        self.log(f'stage {stage}: running')
        start = time.perf_counter()
        try:
            result = getattr(self, f'_{stage}')(inputs)
        except Exception as err:
            raise StageFailed(
                f'stage {stage} failed ({type(err).__name__}: {err}); its result file '
                f'{path} was not written. Fix the cause, then rerun only this stage: '
                f'{self.command([stage])}') from err
        if get_rank() == 0 and result is not None:
            result.update(stage=stage, inputs=inputs,
                          wall_time_s=time.perf_counter() - start,
                          finished=datetime.datetime.now().isoformat(timespec='seconds'),
                          command=self.command(), git=git_commit(), device=device_name())
            _atomic_json(result, path)
            self.results[stage] = result
            self.log(f'stage {stage}: done in {result["wall_time_s"]:.1f} s -> {path}')
        self.status[stage] = 'ran'
        barrier()

    def _outputs_exist(self, stage: str, result: dict) -> bool:
        if stage == 'pretrain':
            ckpt = osp.join(self.work_dir, 'pretrain', result.get('checkpoint', ''))
            return osp.isfile(ckpt) and osp.getsize(ckpt) == result.get('checkpoint_size')
        if stage == 'knn':
            return osp.isfile(osp.join(self.work_dir, 'knn', result.get('features', '')))
        if stage == 'report':
            return osp.isfile(osp.join(self.work_dir, 'report.md'))
        return True

    def _runner_dir(self, folder: str, inputs: str, cfg: Config, user_resume) -> None:
        """Resume a killed run of the same inputs; move a run of other inputs (or any
        run, with ``--force``) to ``FOLDER.old-<time>`` and start afresh."""
        marker = osp.join(folder, 'inputs.json')
        if get_rank() == 0:
            old = _read_json(marker)
            resumable = osp.isdir(folder) and find_resumable_checkpoint(folder)
            if user_resume is None and resumable:
                same = old is not None and old.get('inputs') == inputs
                if same and not self.force:
                    cfg.resume, cfg.load_from = True, None
                    self.log(f'{folder}: resuming the killed run from its last checkpoint')
                else:
                    stale = f'{folder}.old-{time.strftime("%Y%m%d_%H%M%S")}'
                    shutil.move(folder, stale)
                    why = '--force' if same else 'it held a run of other inputs'
                    self.log(f'{folder} moved to {stale} ({why}); starting afresh',
                             'warning')
            _atomic_json(dict(inputs=inputs), marker)
        resume = self._broadcast((cfg.get('resume'), cfg.get('load_from')))
        cfg.resume, cfg.load_from = resume

    def _pretrain(self, inputs: str) -> Optional[dict]:
        cfg = copy.deepcopy(self.cfg)
        folder = cfg.work_dir
        self._runner_dir(folder, inputs, cfg, self.resume)
        runner = RUNNERS.build(cfg)
        self._add_hooks(runner)
        runner.train()
        by_epoch = not isinstance(runner.train_loop, IterBasedTrainLoop)
        name = f'epoch_{runner.epoch}.pth' if by_epoch else f'iter_{runner.iter}.pth'
        if self._broadcast(not osp.isfile(osp.join(folder, name))):
            # the checkpoint hook did not save the end of training; every rank calls
            # it, as the hook does (hooks gather from all ranks before rank 0 saves)
            runner.save_checkpoint(folder, name, by_epoch=by_epoch)
        barrier()
        if get_rank() != 0:
            return None
        ckpt = osp.join(folder, name)
        kept = sorted({osp.basename(p) for p in candidate_checkpoints(folder)
                       if osp.dirname(osp.abspath(p)) == osp.abspath(folder)},
                      key=natural_key)
        self._dump_config(cfg, 'pretrain.py')
        return dict(config_hash=self.pretrain_hash, checkpoint=name,
                    checkpoint_sha256=file_sha256(ckpt),
                    checkpoint_size=osp.getsize(ckpt), checkpoints=kept,
                    by_epoch=by_epoch, epochs=runner.epoch, iters=runner.iter,
                    world_size=get_world_size(), slimmable=self.widths is not None)

    def _add_hooks(self, runner) -> None:
        """The monitors (and SlimCLR's gradient records) unless the config has them."""
        names = {type(h).__name__ for h in runner.hooks}
        every = max(1, runner.train_loop.max_iters // 50)  # about 50 records
        head = getattr(self.model, 'head', None)
        if 'ContrastiveMonitorHook' not in names and isinstance(
                getattr(head, 'loss_module', None), torch.nn.Module):
            runner.register_hook(dict(type='ContrastiveMonitorHook', interval=every))
            self.log(f'added ContrastiveMonitorHook(interval={every})')
        if self.widths is not None and 'SlimGradHook' not in names:
            runner.register_hook(dict(type='SlimGradHook', interval=every,
                                      save_fc_interval=every * 2))
            self.log(f'added SlimGradHook(interval={every}, save_fc_interval={every * 2})')

    def _dump_config(self, cfg: Config, name: str) -> None:
        os.makedirs(osp.join(self.work_dir, 'configs'), exist_ok=True)
        cfg.dump(osp.join(self.work_dir, 'configs', name))

    def _checkpoint(self) -> str:
        pre = self.results.get('pretrain') or _read_json(self.path('pretrain'))
        pre = self._broadcast(pre)
        return osp.join(self.work_dir, 'pretrain', pre['checkpoint'])

    def _knn(self, inputs: str) -> Optional[dict]:
        cfg, hook = self.cfg, self.knn_hook
        model_cfg = cfg.model.copy()
        if cfg.get('data_preprocessor') is not None:
            model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
        model = MODELS.build(model_cfg)
        load_checkpoint(model, self._checkpoint(), map_location='cpu', strict=True,
                        logger='silent')
        model.to(get_device())
        seed = (cfg.get('randomness') or {}).get('seed')
        runner_cls = RUNNERS.get(cfg.get('runner_type', 'SelfSupRunner'))
        bank = runner_cls.build_dataloader(copy.deepcopy(hook['train_dataloader']), seed)
        queries = runner_cls.build_dataloader(copy.deepcopy(hook['val_dataloader']), seed)
        kept = {}

        def evaluate(width: Optional[float]) -> dict:
            tag = f' at width {width}' if width is not None else ''
            bank_feats, bank_labels = extract_features(
                model, bank, f'kNN{tag}: features of the bank ({len(bank.dataset)} images)')
            feats, labels = extract_features(
                model, queries, f'kNN{tag}: features of the queries '
                f'({len(queries.dataset)} images)')
            if not kept:
                kept.update(feats=feats, labels=labels, width=width)
            # as KNNHook: the hook's num_classes, else the bank's class list
            classes = hook.get('num_classes') or len(
                getattr(bank.dataset, 'metainfo', {}).get('classes') or []) or None
            return knn_result(bank_feats, bank_labels, feats, labels,
                              k=hook.get('k', 200),
                              temperature=hook.get('temperature', 0.07),
                              chunk_size=hook.get('chunk_size', 512), num_classes=classes)

        if self.widths is None:
            per_width = {1.0: evaluate(None)}
        else:
            per_width = run_at_widths(model, self.widths, evaluate, 'the kNN stage')
        if get_rank() != 0:
            return None
        idx = _spaced(len(kept['labels']), self.map_samples)
        os.makedirs(osp.join(self.work_dir, 'knn'), exist_ok=True)
        np.savez_compressed(
            osp.join(self.work_dir, 'knn', 'test_features.npz'),
            feats=kept['feats'][idx].cpu().numpy().astype(np.float16),
            labels=kept['labels'][idx].cpu().numpy(),
            classes=np.asarray(self.eval_meta.get('classes') or []),
            width=np.asarray(kept['width'] if kept['width'] is not None else 1.0))
        for width, res in per_width.items():
            self.log(f'kNN at width {width}: ' + ', '.join(
                f'{k} {v:.2f}' for k, v in res.items() if k.startswith('top')))
        return dict(widths=self.widths, per_width={str(w): r for w, r in per_width.items()},
                    features='test_features.npz', classes=self.eval_meta.get('classes'),
                    img_shape=self.eval_meta.get('img_shape'),
                    unit='epoch' if hook.get('by_epoch', True) else 'iter')

    def _linear_for_run(self, pre: dict) -> Config:
        lcfg = copy.deepcopy(self.linear_cfg)
        lcfg.model.backbone.init_cfg.checkpoint = osp.join(
            self.work_dir, 'pretrain', pre.get('checkpoint') or 'missing.pth')
        return lcfg

    def _linear(self, inputs: str) -> Optional[dict]:
        pre = self._broadcast(self.results.get('pretrain') or
                              _read_json(self.path('pretrain')))
        lcfg = self._linear_for_run(pre)
        self._runner_dir(lcfg.work_dir, inputs, lcfg, None)
        runner = RUNNERS.build(lcfg)
        runner.train()
        metrics = runner.test()
        if get_rank() != 0:
            return None
        self._dump_config(lcfg, 'linear.py')
        self.log('linear probe: ' + ', '.join(f'{k} {v:.2f}' for k, v in metrics.items()
                                              if isinstance(v, float)))
        return dict(metrics={k: float(v) for k, v in metrics.items()
                             if isinstance(v, (int, float))},
                    log_dir=osp.relpath(runner.log_dir, self.work_dir),
                    checkpoint=pre['checkpoint'])

    def _report(self, inputs: str) -> Optional[dict]:
        if get_rank() != 0:
            return None
        pre = self.results.get('pretrain') or _read_json(self.path('pretrain'))
        knn = self.results.get('knn') or _read_json(self.path('knn'))
        linear = self.results.get('linear') or _read_json(self.path('linear'))
        widths = (knn or {}).get('widths') or self.widths
        img = ((knn or {}).get('img_shape') or self.eval_meta.get('img_shape') or [224])[0]
        classes = len((knn or {}).get('classes') or self.eval_meta.get('classes') or []) \
            or 1000
        bcfg = copy.deepcopy(self.cfg.model.backbone)
        bcfg.pop('init_cfg', None)
        notes = {}
        try:
            rows = slim_complexity(MODELS.build(bcfg), widths or [1.0], img_size=img,
                                   num_classes=classes)
        except Exception as err:  # a backbone the counter does not handle
            rows = [dict(width=float(w), params=None, params_fc=None, macs=None,
                         macs_fc=None) for w in widths or [1.0]]
            notes['complexity'] = (f'Parameters and MACs could not be counted for '
                                   f'{bcfg.get("type")}: {type(err).__name__}: {err}')
        for row in rows:
            row.update(img_size=img, num_classes=classes)
        stages = {}
        for stage in ('pretrain', 'knn', 'linear'):
            result = {'pretrain': pre, 'knn': knn, 'linear': linear}[stage]
            stages[stage] = dict(
                status=self.status.get(stage, 'done earlier' if result else 'not run'),
                wall_time_s=(result or {}).get('wall_time_s'),
                file=RESULT_FILES[stage] if result else None)
        if knn is None:
            notes['knn'] = ('kNN: not run (the config has no KNNHook, or knn was left out '
                            'of --stages).')
        if linear is None:
            notes['linear'] = ('Linear probe: not run; pass --linear-config (e.g. the '
                               'switchable probe in configs/slimclr/benchmarks/ for '
                               'slimmable backbones).')
        ckpts = [osp.join(self.work_dir, 'pretrain', c) for c in pre.get('checkpoints', [])]
        meta = dict(config=self.config, linear_config=self.linear_config,
                    resolved_config='configs/pretrain.py',
                    resolved_linear_config='configs/linear.py' if linear else None,
                    command=self.command(), git=git_commit(), device=device_name(),
                    date=datetime.datetime.now().isoformat(timespec='seconds'))
        title = osp.splitext(osp.basename(self.config))[0]
        ctx = dict(
            title=title + (' (smoke)' if self.smoke else ''),
            meta=meta, stages=stages, pretrain_dir=osp.join(self.work_dir, 'pretrain'),
            knn=knn, linear=linear, knn_unit=(knn or {}).get('unit', 'epoch'),
            complexity=rows, slimmable=self.widths is not None, widths=self.widths,
            features=osp.join(self.work_dir, 'knn', knn['features']) if knn else None,
            map_seed=self.map_seed, checkpoints=ckpts, notes=notes,
            rerun_report=self.command(['report']),
            thresholds=self._thresholds())
        return write_report(self.work_dir, ctx)

    def _thresholds(self) -> dict:
        out = dict(min_effective_rank=DEFAULT_MIN_EFFECTIVE_RANK,
                   max_uniformity=DEFAULT_MAX_UNIFORMITY)
        for hook in self.cfg.get('custom_hooks') or []:
            if hook.get('type') == 'ContrastiveMonitorHook':
                out.update({k: hook[k] for k in out if k in hook})
        return out


def run_pipeline(config: str, work_dir: str, **kwargs) -> Dict[str, dict]:
    """Pretrain, evaluate and report in one call (see the module docstring).

    Args:
        config (str): Pretraining config.
        work_dir (str): Folder for every stage's output and the report.
        linear_config (str, optional): Linear-probe config; without it the linear
            stage is left out (an error if ``stages`` names it).
        stages (Sequence[str] | str, optional): Stages to run, in any order (they run
            in pipeline order): ``pretrain``, ``knn``, ``linear``, ``report``.
            Defaults to all (without ``linear`` when there is no probe config).
        cfg_options (dict, optional): Overrides of the pretraining config.
        linear_cfg_options (dict, optional): Overrides of the probe config.
        smoke (bool): Every stage on a few real images for a few steps (CI).
        tensorboard (bool): Also write TensorBoard event files.
        resume (str, optional): ``'auto'`` or a checkpoint to resume pretraining
            from, as ``tools/train.py --resume``; by default a killed pretraining of
            the same inputs resumes from its last checkpoint.
        amp (bool): Mixed precision, as ``tools/train.py --amp``.
        auto_scale_lr (bool): As ``tools/train.py --auto-scale-lr``.
        launcher (str): ``none``, ``pytorch``, ``slurm`` or ``mpi``.
        force (bool): Rerun the selected stages even when up to date.
        map_samples (int): Test images in the embedding maps. Defaults to 2000.
        map_seed (int): Seed of t-SNE and UMAP. Defaults to 0.

    Returns:
        dict: ``{stage: result}`` (the content of the result files, on rank 0).

    Raises:
        PipelineInputError: Bad input, before any work.
        StageFailed: A stage failed (the message says how to rerun it).
    """
    return Pipeline(config, work_dir, **kwargs).run()
