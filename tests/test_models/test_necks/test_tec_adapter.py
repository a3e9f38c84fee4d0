"""TEC's conditional adapter: MLP cls token and multi-layer encoder adaptor."""
import pytest
import torch
import torch.nn.functional as F

from slimselfsup.models.necks.tec_adapter import ClsTokenMLP, TECEncoderAdaptor


def test_cls_token_mlp_is_linear_gelu_linear():
    torch.manual_seed(0)
    mlp = ClsTokenMLP(6, mlp_ratio=2)
    x = torch.randn(1, 1, 6)
    expected = F.linear(F.gelu(F.linear(x, mlp.fc1.weight, mlp.fc1.bias)),
                        mlp.fc2.weight, mlp.fc2.bias)
    assert mlp.fc1.out_features == 12
    torch.testing.assert_close(mlp(x), expected)


def test_adaptor_groups_consecutive_layers():
    torch.manual_seed(0)
    D, L = 4, 6
    adaptor = TECEncoderAdaptor(D, L, layers_per_group=3, hidden_dims=8)
    for p in adaptor.parameters():
        p.data.add_(torch.randn_like(p) * 0.2)
    layers = [torch.randn(2, 5, D) for _ in range(L)]
    x = F.layer_norm(torch.cat(layers, -1), (L * D, ), adaptor.norm_in.weight,
                     adaptor.norm_in.bias, 1e-5)
    out = 0
    for g in range(2):  # layers 0-2 and 3-5
        y = F.linear(x[..., g * 3 * D:(g + 1) * 3 * D], adaptor.fuse[g].weight,
                     adaptor.fuse[g].bias)
        out = out + y + adaptor.mlps[g](y)
    expected = F.layer_norm(out, (D, ), adaptor.norm_out.weight, adaptor.norm_out.bias,
                            1e-5)
    torch.testing.assert_close(adaptor(layers), expected)


def test_adaptor_rejects_bad_depths():
    with pytest.raises(ValueError, match='num_layers=4 is not a multiple of '
                       'layers_per_group=3'):
        TECEncoderAdaptor(4, 4)
    with pytest.raises(ValueError, match='expects 3 layer outputs, got 2'):
        TECEncoderAdaptor(4, 3)([torch.zeros(1, 2, 4)] * 2)
