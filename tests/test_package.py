import subprocess
import sys

from conftest import ROOT


def test_import_without_mxnet_names_the_extras():
    # Hide MXNet as if neither extra had been installed.
    code = "import sys; sys.modules['mxnet'] = None; import zoo"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert ".[cpu]" in proc.stderr and ".[gpu]" in proc.stderr


def test_list_models_includes_mf():
    import zoo
    assert "mf" in zoo.list_models()
    assert zoo.list_models("m*") == [n for n in zoo.list_models() if n.startswith("m")]
