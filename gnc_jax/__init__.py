"""gnc-jax: compiled, batched Riemannian solvers for neural-collapse geometry."""
__version__ = "0.1.0"
