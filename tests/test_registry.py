import pytest

from zoo.registry import Registry, RegistryError


def test_register_get_list():
    reg = Registry("thing")

    @reg.register("b")
    class B:
        pass

    @reg.register("a")
    class A:
        pass

    assert reg.get("a") is A and reg.get("b") is B
    assert reg.list() == ["a", "b"] and reg.list("b*") == ["b"]


def test_duplicate_and_unknown_names_list_choices():
    reg = Registry("thing")
    reg.register("a")(int)
    with pytest.raises(RegistryError, match="registered twice"):
        reg.register("a")(float)
    with pytest.raises(RegistryError, match="unknown thing 'x'; choose one of: a"):
        reg.get("x")
