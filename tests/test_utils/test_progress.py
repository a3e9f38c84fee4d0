"""Progress of long loops: plain lines with an ETA when the output is not a terminal
(CI logs), mmengine's redrawn bar on a terminal."""
import io

import torch

from slimselfsup.evaluation import knn_accuracy
from slimselfsup.utils.progress import track


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    assert list(track(range(50), 'extracting features', file=out)) == list(range(50))
    text = out.getvalue()
    lines = text.splitlines()
    assert '\r' not in text
    assert len(lines) == 10  # every 10 % (5, 10, ..., 45 of 50) and the end
    assert lines[0].startswith('extracting features: 5/50 (10%), elapsed ')
    assert ', ETA ' in lines[0]
    assert lines[-1].startswith('extracting features: 50/50 done in ')


def test_few_items_and_unsized_iterables():
    out = io.StringIO()
    list(track(range(3), 'kNN', file=out))
    assert out.getvalue().splitlines()[-1].startswith('kNN: 3/3 done in ')
    assert len(out.getvalue().splitlines()) == 3
    out = io.StringIO()
    list(track(iter(range(7)), 'converting', file=out))
    assert out.getvalue().splitlines() == [out.getvalue().splitlines()[0]]
    assert out.getvalue().startswith('converting: 7 done in ')


def test_redrawn_bar_on_a_terminal():
    out = Terminal()
    list(track(range(4), 'extracting features', file=out))
    text = out.getvalue()
    assert text.startswith('extracting features\n')
    assert text.count('\r') == 4 and 'ETA' in text and '4/4' in text


def test_knn_reports_progress_over_its_chunks(capsys):
    torch.manual_seed(0)
    bank, test = torch.randn(100, 8), torch.randn(130, 8)
    knn_accuracy(bank, torch.arange(100) % 5, test, torch.arange(130) % 5, k=5,
                 chunk_size=64, progress='kNN: classifying')
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith('kNN: classifying: 3/3 done in ')  # 3 chunks of 64
