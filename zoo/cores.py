"""How many threads MXNet's own operators get. Imported by ``zoo/__init__.py`` before MXNet, without importing it."""
import os


def physical_cores(sysfs="/sys/devices/system/cpu", cpus=None):
    """The distinct cores (package and core id) among the processors ``cpus`` (default: those this process may
    run on); None where the topology cannot be read (not Linux)."""
    try:
        cpus = sorted(os.sched_getaffinity(0) if cpus is None else cpus)
    except (AttributeError, OSError):
        return None
    cores = set()
    for cpu in cpus:
        topology = os.path.join(sysfs, "cpu%d" % cpu, "topology")
        try:
            with open(os.path.join(topology, "physical_package_id")) as f:
                package = f.read().strip()
            with open(os.path.join(topology, "core_id")) as f:
                core = f.read().strip()
        except OSError:
            return None
        cores.add((package, core))
    return len(cores) or None


def default_mxnet_threads(environ=os.environ, cores=None):
    """Give MXNet's operators (oneDNN's convolutions and dense layers, element-wise and random ones) a thread a
    physical core, unless ``MXNET_OMP_MAX_THREADS`` or ``OMP_NUM_THREADS`` says otherwise. MXNet's own default on
    x86 is half the processors, on the guess that each core runs two hyper-threads; where each core runs one (as
    on many cloud machines) that left half of them idle (measured in zoo/ops/README.md). Read by MXNet when it is
    first imported. Returns the value set, or None."""
    if "MXNET_OMP_MAX_THREADS" in environ or "OMP_NUM_THREADS" in environ:
        return None
    cores = physical_cores() if cores is None else cores
    if not cores:
        return None
    environ["MXNET_OMP_MAX_THREADS"] = str(cores)
    return cores
