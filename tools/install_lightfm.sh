#!/usr/bin/env bash
# Installs LightFM, a peer of tools/bench.py rank, into the current Python environment.
#
# LightFM's only release on PyPI is a source distribution whose setup.py sets __builtins__.__LIGHTFM_SETUP__;
# pip (any build mode since pip 23.1 dropped --no-use-pep517) runs setup.py through setuptools' build backend,
# where __builtins__ is a dict, and fails with "'dict' object has no attribute '__LIGHTFM_SETUP__'", even with
# --no-build-isolation. Run as a script, setup.py builds fine: so this fetches the sdist (checking its SHA-256),
# builds the wheel with "python setup.py bdist_wheel" and installs it, keeping numpy below 1.24 (MXNet 1.9).
set -euo pipefail
VERSION="${LIGHTFM_VERSION:-1.17}"
PYTHON="${PYTHON:-python}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$PYTHON" -m pip install "numpy<1.24" setuptools wheel cython scipy scikit-learn requests
"$PYTHON" - "$work" "$VERSION" <<'PY'
import hashlib, json, sys, tarfile, urllib.request
work, version = sys.argv[1], sys.argv[2]
with urllib.request.urlopen("https://pypi.org/pypi/lightfm/json", timeout=60) as r:
    sdist = next(u for u in json.load(r)["releases"][version] if u["packagetype"] == "sdist")
with urllib.request.urlopen(sdist["url"], timeout=120) as r:
    data = r.read()
if hashlib.sha256(data).hexdigest() != sdist["digests"]["sha256"]:
    sys.exit("lightfm %s: the download does not match PyPI's SHA-256" % version)
path = "%s/%s" % (work, sdist["filename"])
open(path, "wb").write(data)
tarfile.open(path).extractall(work)
PY
(cd "$work/lightfm-$VERSION" && "$PYTHON" setup.py -q bdist_wheel)
"$PYTHON" -m pip install "numpy<1.24" "$work/lightfm-$VERSION"/dist/*.whl
"$PYTHON" -c "import lightfm; print('lightfm', lightfm.__version__, 'installed')"
