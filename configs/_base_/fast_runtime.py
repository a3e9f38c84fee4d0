# Runtime for fast single-GPU training: use it in `_base_` in place of
# default_runtime.py. It turns on cuDNN autotuning; the other fast-step options live
# in keys that schedules and dataset bases also set, so a config (or --cfg-options)
# sets them itself:
#   optim_wrapper = dict(type='BF16OptimWrapper')  bf16 autocast with no loss scaler
#       (AmpOptimWrapper(dtype='bfloat16') reads an inf flag back to the host every
#       step through its GradScaler)
#   custom_hooks += [dict(type='ChannelsLastHook')] and
#   model.data_preprocessor.channels_last=True     channels-last weights and inputs
#   optim_wrapper.optimizer.fused=True             fused SGD/Adam/AdamW (not LARS)
#   compile=True                                   torch.compile the train step
# e.g. python tools/train.py CONFIG --cfg-options optim_wrapper.type=BF16OptimWrapper \
#        env_cfg.cudnn_benchmark=True compile=True
_base_ = ['./default_runtime.py']

env_cfg = dict(cudnn_benchmark=True)
