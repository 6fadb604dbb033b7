"""Theory: closed forms, regimes, certificates and neural-collapse metrics (pure; nothing is solved here).

Status tags follow SPEC.md: (derived) = derived and reproduced numerically; (unconfirmed) = a plausible reading of
a paper, implemented but not asserted as the paper's theorem.
"""

from gnc_jax.theory.certificates import (
    MarginCertificate,
    certify_margin,
    load_certificate,
    margin_value,
    recheck,
    save_certificate,
)
from gnc_jax.theory.closed_forms import (
    SHARP_SOFTMAX_CODES,
    UFMOptimum,
    UFMPoint,
    hug_inter_optimum,
    simplex_etf,
    simplex_log_energy,
    simplex_mgd_logdet,
    simplex_min_distance,
    simplex_riesz_energy,
    softmax_code_gamma_bounds,
    softmax_code_rho_star,
    tammes_softmax_bounds,
    ufm_global_optimum,
    ufm_gradient,
    ufm_minimizer,
    ufm_objective,
)
from gnc_jax.theory.nc_metrics import (
    class_statistics,
    gnc1,
    gnc2,
    gnc3,
    nc1,
    nc2,
    nc3,
    nc4,
    neural_collapse_metrics,
    rattlers,
)
from gnc_jax.theory.regimes import Regime, regime

__all__ = [
    "MarginCertificate",
    "certify_margin",
    "load_certificate",
    "margin_value",
    "recheck",
    "save_certificate",
    "SHARP_SOFTMAX_CODES",
    "UFMOptimum",
    "UFMPoint",
    "hug_inter_optimum",
    "simplex_etf",
    "simplex_log_energy",
    "simplex_mgd_logdet",
    "simplex_min_distance",
    "simplex_riesz_energy",
    "softmax_code_gamma_bounds",
    "softmax_code_rho_star",
    "tammes_softmax_bounds",
    "ufm_global_optimum",
    "ufm_gradient",
    "ufm_minimizer",
    "ufm_objective",
    "class_statistics",
    "gnc1",
    "gnc2",
    "gnc3",
    "nc1",
    "nc2",
    "nc3",
    "nc4",
    "neural_collapse_metrics",
    "rattlers",
    "Regime",
    "regime",
]
