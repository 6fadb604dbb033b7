"""Notebooks: committed without outputs and in sync with notebooks/_build.py (fast), and executed end to end at the
small size (GNC_NB_SMALL=1) with nbclient, failing on any cell error (about a minute for all five).

The kernel is this interpreter (sys.executable): a kernelspec pointing at it is written into a temporary
JUPYTER_PATH, so the test does not depend on a globally installed ``python3`` kernel or on PATH.
"""
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = ["tour.ipynb", "nc21_regularized_ufm.ipynb", "gnc_softmax_codes.ipynb", "hug_uniformity.ipynb",
             "minority_collapse.ipynb"]
KERNEL = "gnc-jax-test"


def test_notebooks_in_sync_with_generator():
    r = subprocess.run([sys.executable, str(NB_DIR / "_build.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_has_no_outputs_and_states_its_claim(name):
    nb = json.loads((NB_DIR / name).read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert name == "tour.ipynb" or ("checked" in text and "What we found" in text)
    assert any("GNC_NB_SMALL" in "".join(c["source"]) for c in code)


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """A kernelspec for this interpreter in a private JUPYTER_PATH (restored afterwards)."""
    base = tmp_path_factory.mktemp("jupyter")
    spec_dir = base / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "gnc-jax (test)", "language": "python"}))
    old = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "GNC_NB_SMALL", "MPLBACKEND")}
    os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend renders the figures as PNG outputs
    os.environ["JUPYTER_PATH"] = str(base) + (os.pathsep + old["JUPYTER_PATH"] if old["JUPYTER_PATH"] else "")
    os.environ["GNC_NB_SMALL"] = "1"
    yield base
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes(name, kernel_env):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NB_DIR / name, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=300,
                                     resources={"metadata": {"path": str(NB_DIR)}})
    client.execute()  # raises CellExecutionError on any cell error
    images = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                 if "image/png" in o.get("data", {}))
    assert images >= 1, f"{name} rendered no figure"
