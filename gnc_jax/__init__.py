"""gnc-jax: compiled, batched Riemannian solvers for neural-collapse geometry.

Quick start::

    import gnc_jax
    r = gnc_jax.solve("tammes", C=24, d=3, restarts=16)
    print(r.min_angle_deg, r.status)

x64 is never enabled on import; call ``jax.config.update("jax_enable_x64", True)`` and pass
``dtype=jnp.float64`` for float64 solves. Figures of merit are always computed in float64.
"""
__version__ = "0.1.0"

from .api import SolveResult, make_spec, solve, solve_batch
from .problems import REGISTRY as PROBLEMS
from .problems import register_problem, unregister_problem
from .solvers import Status

__all__ = ["solve", "solve_batch", "make_spec", "SolveResult", "Status", "PROBLEMS", "register_problem",
           "unregister_problem", "__version__"]

# Subpackages load on first use (``gnc_jax.codes.compare(W)`` after a bare ``import gnc_jax``), so the
# import itself stays light.
_SUBMODULES = ("api", "codes", "grid", "manifolds", "metrics", "nets", "objectives", "plot", "problems", "solvers",
               "theory")


def __getattr__(name):
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))
