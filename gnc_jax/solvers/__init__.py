"""Riemannian solvers: line-search (gradient, CG, L-BFGS), trust regions, optax wrapper, continuation."""
from .base import History, Result, SolverState, Status
from .continuation import geometric_schedule, run_continuation
from .descents import LBFGS, ConjugateGradient, Gradient
from .minimize import RCG, RGD, Armijo, RLBFGS, Solver
from .optax_solver import OptaxSolver, riemannian_step
from .trust_region import RTR, TRState, TrustRegion, hessian_operator, truncated_cg

__all__ = [
    "History", "Result", "SolverState", "Status", "geometric_schedule", "run_continuation", "LBFGS",
    "ConjugateGradient", "Gradient", "RCG", "RGD", "Armijo", "RLBFGS", "Solver", "OptaxSolver",
    "riemannian_step", "RTR", "TRState", "TrustRegion", "hessian_operator", "truncated_cg",
]
