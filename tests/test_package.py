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


def _topology(root, cores_of_cpus):
    """A fake /sys/devices/system/cpu: cpu N on (package 0, core cores_of_cpus[N])."""
    for cpu, core in enumerate(cores_of_cpus):
        folder = root / ("cpu%d" % cpu) / "topology"
        folder.mkdir(parents=True)
        (folder / "physical_package_id").write_text("0\n")
        (folder / "core_id").write_text("%d\n" % core)
    return str(root)


def test_mxnet_gets_a_thread_a_physical_core_unless_told_otherwise(tmp_path):
    from zoo.cores import default_mxnet_threads, physical_cores
    one_thread_a_core = _topology(tmp_path / "vm", [0, 1])
    hyperthreads = _topology(tmp_path / "ht", [0, 0, 1, 1])
    assert physical_cores(one_thread_a_core, cpus=[0, 1]) == 2
    assert physical_cores(hyperthreads, cpus=[0, 1, 2, 3]) == 2   # MXNet's own halving: the same count
    assert physical_cores(hyperthreads, cpus=[0, 1]) == 1          # affinity: two threads of one core
    assert physical_cores(str(tmp_path / "none"), cpus=[0]) is None
    env = {}
    assert default_mxnet_threads(env, cores=2) == 2 and env == {"MXNET_OMP_MAX_THREADS": "2"}
    for given in ({"MXNET_OMP_MAX_THREADS": "1"}, {"OMP_NUM_THREADS": "3"}):
        env = dict(given)
        assert default_mxnet_threads(env, cores=2) is None and env == given  # the user's count stays
    env = {}
    assert default_mxnet_threads(env, cores=None) in (None, physical_cores())  # this machine's, when readable


def test_the_package_sets_mxnets_threads_before_mxnet_reads_them():
    code = ("import os; os.environ.pop('MXNET_OMP_MAX_THREADS', None); os.environ.pop('OMP_NUM_THREADS', None); "
            "import zoo; from zoo.cores import physical_cores; "
            "print(os.environ.get('MXNET_OMP_MAX_THREADS'), physical_cores())")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    value, cores = out.stdout.split()
    assert out.returncode == 0 and value == cores, out.stderr
