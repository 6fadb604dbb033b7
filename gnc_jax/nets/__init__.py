"""Real networks trained to the terminal phase, measured against what the feature models predict.

The unconstrained feature model treats the last-layer features as free variables; ``gnc_jax.nets`` trains actual
networks (flax MLPs, several seeds at once under ``jax.vmap``) long past zero training error and reports how close
their features and classifiers come to the model's optimum: NC1-NC4 and GNC1-GNC3 along training
(``theory.nc_metrics``, the official codes' conventions), and the classifier geometry against the simplex ETF or
against the softmax code that ``gnc_jax.solve`` finds for the same (K, d).

    from gnc_jax.nets import train_collapse
    run = train_collapse(K=4, d=8, steps=2000, seeds=4)             # linear head, CE + weight decay
    run.history_frame()                                              # seed, step, loss, accuracy, NC1..NC4, ...
    run = train_collapse(K=8, d=3, head="spherical", tau=0.1)       # unit features and classifiers [GNC]
    print(run.report())

CLI: ``gnc-jax nets --K 8 --d 3 --head spherical --tau 0.1 --seeds 4``.
"""
from .data import gaussian_mixture
from .model import CollapseMLP
from .train import NetRun, TrainConfig, train_collapse

__all__ = ["gaussian_mixture", "CollapseMLP", "NetRun", "TrainConfig", "train_collapse"]
