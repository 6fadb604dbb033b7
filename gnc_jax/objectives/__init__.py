"""Objectives: pure functions ``f(point, hp) -> scalar`` over dict points, masks honoured."""
from .ce_ufm import (ce_ufm, ce_ufm_collapsed, ce_ufm_imbalanced, ce_ufm_regularized, ce_ufm_regularized_imbalanced,
                     minority_rows)
from .common import PRECISION, gram, masked_logsumexp
from .energy import hug, hug_inter, hug_official_loss, mgd_neg_logdet, riesz_energy
from .packing import hardmax_loss, hardmax_smooth, tammes_max_cos, tammes_smooth

__all__ = [
    "ce_ufm", "ce_ufm_collapsed", "ce_ufm_imbalanced", "ce_ufm_regularized", "ce_ufm_regularized_imbalanced",
    "minority_rows", "hug", "hug_inter", "hug_official_loss",
    "mgd_neg_logdet", "riesz_energy", "hardmax_loss", "hardmax_smooth", "tammes_max_cos",
    "tammes_smooth", "PRECISION", "gram", "masked_logsumexp",
]
