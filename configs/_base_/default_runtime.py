default_scope = 'slimselfsup'
runner_type = 'SelfSupRunner'

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # deletes outdated checkpoints only after the new one is written
    checkpoint=dict(type='SafeCheckpointHook', interval=10, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # mmengine does not restore RNG states on resume; this hook does (in a dict so
    # child configs that set custom_hooks keep it).
    rng_state=dict(type='RNGStateHook'),
    # stop at a NaN/inf loss before CheckpointHook saves the damaged weights
    nonfinite_loss=dict(type='NonFiniteLossHook'),
)

env_cfg = dict(
    # every recipe on this runtime feeds fixed-size batches, so cuDNN may pick the
    # fastest kernels once (detection configs use mmdet's runtime)
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

log_processor = dict(
    window_size=10,
    custom_cfg=[dict(data_src='', method='mean', window_size='global')])

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=None, deterministic=False)
