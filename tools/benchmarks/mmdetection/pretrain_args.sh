# Sourced by dist_train.sh / slurm_train.sh: the train.py arguments that point the
# config's backbone (and, for C4 configs, the res5 shared head) at PRETRAIN.
# pretrain_cfg_options CONFIG PRETRAIN [train.py options] prints the arguments, one per
# line; the user's own `--cfg-options` list is extended so that its values win.
pretrain_cfg_options() {
    local config=$1 pretrain=$2
    shift 2
    local keys=(model.backbone.init_cfg)
    if grep -q "shared_head" "$config" 2>/dev/null || [[ "$(basename "$config")" == *c4* ]]; then
        keys+=(model.roi_head.shared_head.init_cfg)
    fi
    if [ "$pretrain" != "none" ] && [ ! -f "$pretrain" ]; then
        echo "PRETRAIN checkpoint not found: $pretrain (give a file, or none for random init)" >&2
        return 1
    fi
    local opts=() key
    for key in "${keys[@]}"; do
        if [ "$pretrain" = "none" ]; then opts+=("$key=None"); else opts+=("$key.checkpoint=$pretrain"); fi
    done
    local found=0 arg
    for arg in "$@"; do
        printf '%s\n' "$arg"
        if [ "$arg" = "--cfg-options" ]; then printf '%s\n' "${opts[@]}"; found=1; fi
    done
    if [ $found = 0 ]; then printf '%s\n' --cfg-options "${opts[@]}"; fi
}
