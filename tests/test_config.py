import pytest
import yaml

from zoo.config import ConfigError, TrainConfig, apply_override, from_raw, load_config

RAW = {"model": {"name": "mf", "dim": 8}, "data": {"name": "movielens", "root": "x"},
       "train": {"epochs": 2}, "optim": {"name": "adam", "lr": 0.01}}


def write(tmp_path, raw):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def test_typed_sections(tmp_path):
    cfg = load_config(write(tmp_path, RAW))
    assert cfg.model.dim == 8 and cfg.model.biases is True
    assert isinstance(cfg.train, TrainConfig) and cfg.train.epochs == 2
    assert cfg.optim.lr == 0.01


def test_unknown_key_names_path_and_file(tmp_path):
    raw = dict(RAW, model={"name": "mf", "dimm": 8})
    path = write(tmp_path, raw)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "model.dimm" in str(err.value) and path in str(err.value)


def test_wrong_type_names_key(tmp_path):
    with pytest.raises(ConfigError, match=r"train\.epochs must be an integer, got 'two'"):
        load_config(write(tmp_path, dict(RAW, train={"epochs": "two"})))
    with pytest.raises(ConfigError, match=r"model\.hidden must be a list"):
        load_config(write(tmp_path, dict(RAW, model={"name": "mf", "hidden": 5})))
    with pytest.raises(ConfigError, match=r"model\.hidden\[1\] must be an integer"):
        load_config(write(tmp_path, dict(RAW, model={"name": "mf", "hidden": [5, "a"]})))


def test_unknown_names_list_choices(tmp_path):
    with pytest.raises(ConfigError, match=r"model\.name: unknown model 'nope'; choose one of: .*mf"):
        load_config(write(tmp_path, dict(RAW, model={"name": "nope"})))
    with pytest.raises(ConfigError, match="unknown section 'trian'"):
        from_raw(dict(RAW, trian={}))


def test_overrides_are_yaml(tmp_path):
    cfg = load_config(write(tmp_path, RAW), ["train.epochs=5", "model.hidden=[4, 2]", "optim.lr=1e-3",
                                             "data.root=/some/where"])
    assert cfg.train.epochs == 5 and cfg.model.hidden == [4, 2] and cfg.optim.lr == 0.001
    assert cfg.data.root == "/some/where"


@pytest.mark.parametrize("item", ["epochs=5", "train.epochs", "train..epochs=1", "train.epochs=[1"])
def test_bad_override_syntax(item):
    with pytest.raises(ConfigError, match="bad override"):
        apply_override({"train": {}}, item)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(str(bad))


@pytest.mark.parametrize("optim, why", [({"name": "adam"}, "optim.name is adam"),
                                        ({"name": "sgd", "wd": 0.1}, "optim.wd is 0.1"),
                                        ({"name": "sgd", "args": {"momentum": 0.9}}, "optim.args.momentum is 0.9")])
def test_per_example_sgd_refuses_what_it_cannot_apply(tmp_path, optim, why):
    path = write(tmp_path, dict(RAW, optim=dict(optim, per_example=True)))
    with pytest.raises(ConfigError, match=r"optim\.per_example applies plain SGD .*; %s" % why) as err:
        load_config(path)
    assert err.value.key == "optim.per_example" and path in str(err.value)
