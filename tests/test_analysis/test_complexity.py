"""Per-width params / MACs against hand counts and the SlimCLR fact sheet."""
import importlib.util
from pathlib import Path

from torch import nn

from slimselfsup.analysis.complexity import format_complexity_table, slim_complexity
from slimselfsup.models.backbones.slimmable_resnet import SlimmableResNet
from slimselfsup.models.slimmable import SlimmableConv2d, SwitchableBatchNorm2d

REPO = Path(__file__).resolve().parents[2]


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        name, REPO / 'tools' / 'analysis_tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Tiny(nn.Module):

    def __init__(self):
        super().__init__()
        self.conv1 = SlimmableConv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = SwitchableBatchNorm2d(8, (1.0, 0.5))
        self.conv2 = SlimmableConv2d(8, 6, 3, stride=2, padding=1)

    def forward(self, x):
        return (self.conv2(self.bn1(self.conv1(x))), )


def test_hand_count():
    rows = slim_complexity(Tiny(), (1.0, 0.5), img_size=8, num_classes=10)
    full, half = rows
    # width 1.0: conv1 8*3*9, bn 2*8, conv2 6*8*9 + bias 6; fc 6*10 + 10
    assert full['params'] == 216 + 16 + 432 + 6
    assert full['params_fc'] == full['params'] + 70
    assert full['macs'] == 216 * 64 + 432 * 16
    # width 0.5: conv1 4*3*9 (stem keeps 3 inputs), bn 2*4, conv2 3*4*9 + bias 3
    assert half['params'] == 108 + 8 + 108 + 3
    assert half['macs'] == 108 * 64 + 108 * 16 and half['feat_dim'] == 3
    assert half['macs_fc'] == half['macs'] + 30


def test_resnet50_matches_fact_sheet():
    rows = slim_complexity(SlimmableResNet(50), (1.0, 0.75, 0.5, 0.25))
    got = [(f"{r['params_fc'] / 1e6:.2f}", f"{r['params'] / 1e6:.2f}",
            f"{r['macs_fc'] / 1e9:.2f}", r['feat_dim']) for r in rows]
    assert got == [('25.56', '23.51', '4.09', 2048), ('14.77', '13.23', '2.32', 1536),
                   ('6.92', '5.89', '1.05', 1024), ('1.99', '1.48', '0.28', 512)]
    # the exact full-width counts of torchvision's ResNet-50
    assert rows[0]['params_fc'] == 25557032 and rows[0]['params'] == 23508032
    table = format_complexity_table(rows)
    assert '| 0.25 | 512 | 1.99 M | 1.48 M | 0.28 G | 0.28 G |' in table


def test_tool_prints_table(capsys):
    rows = load_tool('slim_complexity').main(['--depth', '50'])
    out = capsys.readouterr().out
    for expected in ('| 1.0 | 2048 | 25.56 M | 23.51 M | 4.09 G',
                     '| 0.75 | 1536 | 14.77 M | 13.23 M | 2.32 G',
                     '| 0.5 | 1024 | 6.92 M | 5.89 M | 1.05 G',
                     '| 0.25 | 512 | 1.99 M | 1.48 M | 0.28 G'):
        assert expected in out
    assert [r['width'] for r in rows] == [1.0, 0.75, 0.5, 0.25]


def test_tool_without_fc(capsys):
    load_tool('slim_complexity').main(
        ['--depth', '18', '--cifar', '--img-size', '32', '--widths', '1.0', '0.5',
         '--num-classes', '0'])
    out = capsys.readouterr().out
    assert 'no fc' in out and '| 1.0 | 512 | 11.17 M | 11.17 M | 0.56 G' in out


def test_tool_with_config(tmp_path, capsys):
    config = tmp_path / 'cfg.py'
    config.write_text("model = dict(backbone=dict(type='SlimmableResNetCIFAR', depth=18, "
                      "widths=[1.0, 0.5], init_cfg=dict(type='Pretrained', "
                      "checkpoint='missing.pth')))\n")
    rows = load_tool('slim_complexity').main([str(config)])
    out = capsys.readouterr().out
    assert '32x32 input' in out and 'incl. 10-way fc' in out  # CIFAR defaults
    assert '| 1.0 | 512 | 11.17 M | 11.17 M | 0.56 G' in out
    assert [r['width'] for r in rows] == [1.0, 0.5]
