"""Every config field with a range: one bad value -> exit 2 and one line naming the key (and the override that
set it), before any work, nothing written."""
import os
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tools"))
import train as train_tool  # noqa: E402  (tools/train.py)

MF, W2V, IMG = ("configs/movielens_mf.yaml", "configs/word2vec.yaml", "configs/image_similarity.yaml")
CASES = [
    (MF, "train.epochs=0"), (MF, "train.batch_size=0"), (MF, "train.batch_size=-5"), (MF, "train.log_every=0"),
    (MF, "train.eval_batch_size=0"), (MF, "train.patience=-1"), (MF, "train.prefetch=-1"),
    (MF, "train.monitor_mode=up"), (MF, "train.kvstore=horovod"),
    (MF, "optim.lr=-1"), (MF, "optim.lr=0"), (MF, "optim.lr=.inf"), (MF, "optim.wd=-1"), (MF, "optim.min_lr=-1"),
    (MF, "optim.gamma=0"), (MF, "optim.step_epochs=0"), (MF, "optim.warmup_epochs=-1"),
    (MF, "optim.schedule=wavy"), (MF, "optim.args.betta1=0.9"),
    (MF, "model.dim=0"), (MF, "model.dim=-3"), (MF, "model.hidden=[0]"), (MF, "model.dropout=2"),
    (MF, "model.reg=-1"), (MF, "model.init_scale=-1"), (MF, "model.activation=swish"),
    (MF, "data.test_ratio=-0.5"), (MF, "data.test_ratio=1"), (MF, "data.valid_ratio=1"),
    (MF, "data.split=u9"), (MF, "data.variant=ml-2m"),
    (W2V, "data.negatives=0"), (W2V, "data.negatives=-1"), (W2V, "data.min_count=0"), (W2V, "data.window=0"),
    (W2V, "data.max_vocab=-1"), (W2V, "data.sample=-1"), (W2V, "data.chunk_tokens=0"),
    (W2V, "data.cache_tokens=-1"), (W2V, "data.token_pattern=[a-"), (W2V, "model.negative_weight=0"),
    (W2V, "eval.sets=[wordsim999]"),
    (IMG, "data.source=web"), (IMG, "data.channels=2"), (IMG, "data.positive_share=1.5"),
    (IMG, "data.pairs_per_image=-1"), (IMG, "data.shift=-1"), (IMG, "data.eval_pairs=0"),
    (IMG, "data.test_ratio=0"), (IMG, "model.channels=[8, 0]"), (IMG, "model.downsample=avg"),
    (IMG, "model.loss=triplet"), (IMG, "model.scale=0"), (IMG, "model.margin=-1"), (IMG, "model.convs_per_stage=0"),
]


@pytest.mark.parametrize("config, override", CASES, ids=[c[1] for c in CASES])
def test_a_value_out_of_range_is_one_line_naming_the_key(config, override, tmp_path, capsys):
    out = str(tmp_path / "run")
    code = train_tool.main(["--config", os.path.join(ROOT, config), "--out", out, override])
    err = capsys.readouterr().err
    key = override.split("=")[0]
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "override %r" % override in lines[0] and key.split(".args.")[0] in lines[0], lines[0]
    assert not os.path.exists(out)


def test_the_shipped_configs_are_in_range():
    """Every config in configs/ loads, and every search space in configs/search/ is a space of its config."""
    from zoo.config import load_config
    from zoo.search import read_space
    folder = os.path.join(ROOT, "configs")
    for name in sorted(n for n in os.listdir(folder) if n.endswith(".yaml")):
        load_config(os.path.join(folder, name))
    spaces = sorted(os.listdir(os.path.join(folder, "search")))
    assert spaces
    for name in spaces:
        assert read_space(os.path.join(folder, "search", name), load_config(os.path.join(folder, name)))


def test_a_config_file_value_names_the_file(tmp_path):
    from zoo.config import ConfigError, load_config
    path = tmp_path / "c.yaml"
    path.write_text("model: {name: mf, dim: 0}\ndata: {name: movielens}\n")
    with pytest.raises(ConfigError, match=r"c.yaml: model.dim=0: must be >= 1"):
        load_config(str(path))
    path.write_bytes("model: {name: mf}\ndata: {name: movielens, root: caf\u00e9}\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_config(str(path))
