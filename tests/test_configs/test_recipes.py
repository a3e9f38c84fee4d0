"""The recipe check: every paper-recipe config equals its method's table of the
paper's values (``configs/**/recipe.yml``) field by field, or the table says why not.

The fields are read from the resolved configs by ``tools/analysis_tools/recipe_check.py``;
these tests run it on every table row, require a row for every ImageNet and COCO config
(and the CIFAR configs that have a reference recipe), and show that a changed field,
a field missing from a table and a stale reason all fail.
"""
import copy
import glob
import importlib.util
import os.path as osp
import re

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_spec = importlib.util.spec_from_file_location(
    'recipe_check', osp.join(REPO, 'tools', 'analysis_tools', 'recipe_check.py'))
rc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rc)

ENTRIES = [e for table in rc.all_tables() for e in rc.load_table(table)]
# CIFAR configs whose recipe has a reference: SlimCLR's CIFAR record and FlatCLR's run
CIFAR_WITH_REFERENCE = [
    'configs/mocov2/mocov2_resnet18-cifar_1xb512-coslr-200e_cifar10.py',
    'configs/slimclr/slimclr-mocov2_slimmable-resnet18-cifar_1xb512-coslr-200e_cifar10.py',
    'configs/slimclr/supervised/slimmable-resnet18-cifar_1xb256-coslr-100e_cifar10.py',
    'configs/flatclr/flatclr_resnet50-cifar_1xb512-lars-coslr-100e_cifar10.py',
]
MOCOV2 = osp.join(REPO, 'configs/mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py')


def _rel(entry: dict) -> str:
    return osp.relpath(entry['config'], REPO)


def _skip_without_mmdet(entry: dict) -> None:
    if '/mmdetection/' in entry['config']:
        pytest.importorskip('mmdet', reason='the detection recipes need mmdet '
                            '(bash tools/install.sh --det)')


def _entry(config: str) -> dict:
    return copy.deepcopy(next(e for e in ENTRIES if e['config'] == config))


@pytest.mark.parametrize('entry', ENTRIES, ids=_rel)
def test_config_matches_the_paper_recipe(entry):
    _skip_without_mmdet(entry)
    problems = rc.check_entry(entry)
    assert not problems, f"{_rel(entry)} ({entry['table']}):\n" + '\n'.join(problems)


@pytest.mark.parametrize('entry', ENTRIES, ids=_rel)
def test_batch_in_the_name_and_the_lr_base_agree(entry):
    """`NxbM` in a name is the per-GPU batch, and the LR-scaling base is the total."""
    _skip_without_mmdet(entry)
    from slimselfsup.apis import load_config
    cfg = load_config(entry['config'])
    fields = rc.recipe_fields(cfg, entry['config'])
    m = re.search(r'[_-](\d+)xb(\d+)', osp.basename(entry['config']))
    if m:
        assert int(m.group(2)) == fields['batch_per_gpu']
    if cfg.get('auto_scale_lr'):
        assert cfg.auto_scale_lr.base_batch_size == fields['total_batch']


def test_every_paper_recipe_config_has_a_table_row():
    configs = [osp.relpath(p, REPO) for p in glob.glob(
        osp.join(REPO, 'configs', '**', '*.py'), recursive=True)]
    required = [p for p in configs if '/_base_/' not in p and (
        '_in1k' in osp.basename(p) or p.endswith('_coco.py'))]
    required += CIFAR_WITH_REFERENCE
    assert len(required) > 50
    covered = {_rel(e) for e in ENTRIES}
    assert sorted(set(required) - covered) == []
    assert all(osp.isfile(e['config']) for e in ENTRIES)


def test_a_changed_field_fails_with_its_name_and_values():
    entry = _entry(MOCOV2)
    assert rc.check_entry(entry) == []
    assert rc.check_entry(entry, {'optim_wrapper.optimizer.lr': 0.06}) == [
        'lr: the config has 0.06, the paper 0.03, and the table gives no reason under '
        '`differences`']
    # one augmentation parameter of one view
    problems = rc.check_entry(entry, {
        'train_dataloader.dataset.pipeline.1.transforms.0.3.prob': 0.1})
    assert len(problems) == 1 and problems[0].startswith('views: the config has ')
    assert "'blur': 0.1" in problems[0] and "'blur': 0.5" in problems[0]
    # the momentum encoder's m, a method field
    assert rc.check_entry(entry, {'model.momentum': 0.99})[0].startswith(
        'ema_momentum: the config has 0.99, the paper 0.999')


def test_a_reason_lets_a_difference_pass_and_a_stale_reason_fails():
    entry = _entry(MOCOV2)
    entry['differences']['lr'] = 'a reason'
    assert rc.check_entry(entry, {'optim_wrapper.optimizer.lr': 0.06}) == []
    assert rc.check_entry(entry) == [
        'lr: the table gives a reason for a difference, but the config matches the '
        'paper (0.03); remove the reason']


def test_a_field_the_table_does_not_list_fails():
    entry = _entry(MOCOV2)
    del entry['paper']['temperature']
    assert rc.check_entry(entry) == [
        "temperature: the config has 0.2, the table lists no value (add the paper's "
        'value to `paper`)']
    entry = _entry(MOCOV2)
    entry['paper']['no_such_field'] = 1  # a table field the config does not have
    assert rc.check_entry(entry)[0].startswith(
        'no_such_field: the config has None, the paper 1')


def test_table_inheritance(tmp_path):
    (tmp_path / 'recipe.yml').write_text(
        'Recipes:\n'
        '  - config: a.py\n    paper: {lr: 1, epochs: 2, norm: BN}\n'
        '    differences: {epochs: why}\n'
        '  - config: b.py\n    base: a.py\n    paper: {lr: 3}\n'
        '    differences: {epochs: ~}\n    drop: [norm]\n'
        '  - config: c.py\n    base: d.py\n')
    with pytest.raises(ValueError, match="c.py has base 'd.py', which is not an entry"):
        rc.load_table(str(tmp_path / 'recipe.yml'))
    (tmp_path / 'recipe.yml').write_text(
        (tmp_path / 'recipe.yml').read_text().rsplit('  - config: c.py', 1)[0])
    a, b = rc.load_table(str(tmp_path / 'recipe.yml'))
    assert a['paper'] == dict(lr=1, epochs=2, norm='BN')
    assert b['paper'] == dict(lr=3, epochs=2) and b['differences'] == {}
    assert b['config'] == str(tmp_path / 'b.py')


def test_numbers_compare_to_six_digits():
    assert rc.same(2.666667, 3.2 / 1.2) and rc.same([0.4, 1], [0.4, 1.0])
    assert not rc.same(0.03, 0.0300001 * 1.01) and not rc.same(True, 1)
    assert rc.same({'a': [1, 2]}, {'a': [1.0, 2.0]})
    assert not rc.same({'a': 1}, {'a': 1, 'b': 2})
