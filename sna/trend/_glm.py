"""The count models :mod:`sna.trend` fits: negative binomial (NB2) with a quasi-Poisson fallback.

Public names of a private module, shared by :mod:`sna.trend.year_effect` and
:mod:`sna.trend.interrupted`.
"""

from __future__ import annotations

import warnings

import numpy as np


def fit_count_model(y, X, offset, family: str):
    """Fit NB2 (alpha by maximum likelihood) or quasi-Poisson; return (params, cov, alpha, method, notes)."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, HessianInversionWarning

    notes = []
    if family == "negbin":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                nb = sm.NegativeBinomial(y, X, offset=offset, loglike_method="nb2")
                res = nb.fit(disp=0, maxiter=500, method="bfgs")
                if res.params[-1] > 1e-6:  # Newton from alpha near 0 diverges, slowly
                    res = nb.fit(start_params=res.params, disp=0, maxiter=100,
                                 method="newton")
                alpha = float(res.params[-1])
                ok = bool(res.mle_retvals.get("converged", True)) and np.isfinite(alpha)
            except (np.linalg.LinAlgError, ValueError):
                ok, alpha = False, np.nan
        for w in caught:
            if issubclass(w.category, (ConvergenceWarning, HessianInversionWarning, RuntimeWarning)):
                notes.append(str(w.message).splitlines()[0])
        if ok and alpha > 1e-8:
            glm = sm.GLM(y, X, family=sm.families.NegativeBinomial(alpha=alpha), offset=offset)
            fit = glm.fit()
            return fit, alpha, "negative binomial (NB2, alpha by maximum likelihood)", notes
        notes.append("negative binomial did not converge or showed no over-dispersion; "
                     "quasi-Poisson used instead")
    return quasi_poisson(y, X, offset), np.nan, QUASI_POISSON, notes


#: How the quasi-Poisson scale is chosen.
QUASI_POISSON = "quasi-Poisson (Pearson chi-squared scale, not below 1)"


def quasi_poisson(y, X, offset, **fit_kw):
    """Poisson GLM with the Pearson χ² scale, floored at 1 (under-dispersion not credited)."""
    import statsmodels.api as sm

    glm = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset)
    fit = glm.fit(scale="X2", **fit_kw)
    if fit.scale < 1:
        fit = glm.fit(scale=1.0, **fit_kw)
    return fit
