"""ppcls-csce: cost-sensitive cross-entropy (CS_CE) for PaddleClas on long-tailed data."""

__version__ = "0.1.0"


def register() -> None:
    """Make `CostSensitiveCE`, `ClassBalancedCE` and `BalancedSoftmaxCE` resolvable by PaddleClas's build_loss in this process.

    CombinedLoss looks loss names up with `eval(name)` in the `ppcls.loss` module's globals, so setting
    the class as an attribute of that module is enough. For users who start training from their own
    script; `csce-config install` is the way for `tools/train.py`. Paddle is imported only here.
    """
    import importlib

    try:
        module = importlib.import_module("ppcls.loss")
    except ImportError as error:
        raise ImportError(
            f"ppcls_csce.register(): cannot import PaddleClas's ppcls.loss ({error}); run from a PaddleClas "
            "checkout or put it on sys.path (the `paddleclas` wheel has no ppcls.loss)"
        ) from error
    from .loss import BalancedSoftmaxCE, ClassBalancedCE, CostSensitiveCE

    for loss in (CostSensitiveCE, ClassBalancedCE, BalancedSoftmaxCE):
        setattr(module, loss.__name__, loss)
