"""Summaries and figures of artificial-source tests: completeness bins with errors, a logistic
fit (50 % and 90 % fluxes), flux bias and scatter, position error, false positives.

JSON schema of :func:`summarise`::

    {"bins": [{"flux", "flux_lo", "flux_hi", "injected", "recovered", "completeness", "error",
               "flux_bias", "flux_scatter", "position_error_px"}, ...],
     "flux_50", "flux_90", "logistic": {"log10_flux_50", "width_dex"}, "flux_unit",
     "n_injected", "n_recovered", "iterations", "false_positives", "false_positives_per_iteration",
     "flux_bias", "flux_scatter", "position_error_px"}

``error`` is the standard deviation of the Beta(k + 1, n - k + 1) posterior of the completeness
(the binomial error, kept non-zero when k = 0 or k = n). Flux bias is the median of
``(flux_out - flux_in) / flux_in``, scatter 1.4826 x its MAD, over recovered sources.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table
from scipy.optimize import minimize


def _finite(value: float) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def _beta_std(k: int, n: int) -> float:
    a, b = k + 1.0, n - k + 1.0
    return math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))


def logistic_fit(log_flux: np.ndarray, recovered: np.ndarray) -> tuple[float, float] | None:
    """Maximum-likelihood logistic ``c = 1 / (1 + exp(-(log10 F - m) / w))``: returns (m, w)."""
    if len(log_flux) < 4 or recovered.all() or not recovered.any():
        return None
    y = recovered.astype(float)

    def nll(params: np.ndarray) -> float:
        m, log_w = params
        z = (log_flux - m) / math.exp(log_w)
        return float(np.sum(np.logaddexp(0.0, -z) * y + np.logaddexp(0.0, z) * (1 - y)))

    start = np.array([float(np.median(log_flux)), math.log(0.1)])
    fit = minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-5, "fatol": 1e-6, "maxiter": 2000})
    m, log_w = fit.x
    return float(m), float(math.exp(max(log_w, math.log(0.005))))  # a step sharper than 0.005 dex is unresolved


def _robust(values: np.ndarray) -> tuple[float | None, float | None]:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return None, None
    med = float(np.median(values))
    return med, float(1.4826 * np.median(np.abs(values - med)))


def summarise(
    table: Table, flux_range: tuple[float, float], n_bins: int, n_false: int, iterations: int, unit: str
) -> dict[str, Any]:
    """Completeness per log-flux bin and overall statistics (see the module docstring)."""
    flux_in = np.asarray(table["flux_in"], dtype=float)
    rec = np.asarray(table["recovered"], dtype=bool)
    flux_out = np.asarray(table["flux_out"], dtype=float)
    dpos = np.hypot(
        np.asarray(table["x_out"]) - np.asarray(table["x_pix"]), np.asarray(table["y_out"]) - np.asarray(table["y_pix"])
    )
    rel = (flux_out - flux_in) / flux_in
    edges = np.geomspace(flux_range[0], flux_range[1], n_bins + 1)
    which = np.clip(np.searchsorted(edges, flux_in, side="right") - 1, 0, n_bins - 1)
    bins = []
    for b in range(n_bins):
        sel = which == b
        n, k = int(sel.sum()), int(rec[sel].sum())
        bias, scatter = _robust(rel[sel & rec])
        bins.append(
            {
                "flux": float(math.sqrt(edges[b] * edges[b + 1])),
                "flux_lo": float(edges[b]),
                "flux_hi": float(edges[b + 1]),
                "injected": n,
                "recovered": k,
                "completeness": k / n if n else None,
                "error": _beta_std(k, n) if n else None,
                "flux_bias": bias,
                "flux_scatter": scatter,
                "position_error_px": _finite(np.median(dpos[sel & rec])) if (sel & rec).any() else None,
            }
        )
    fit = logistic_fit(np.log10(flux_in), rec)
    flux_50 = flux_90 = None
    if fit is not None:
        m, w = fit
        flux_50, flux_90 = 10.0**m, 10.0 ** (m + w * math.log(9.0))
    bias, scatter = _robust(rel[rec])
    return {
        "bins": bins,
        "flux_50": flux_50,
        "flux_90": flux_90,
        "logistic": {"log10_flux_50": fit[0], "width_dex": fit[1]} if fit else None,
        "flux_unit": unit,
        "n_injected": len(flux_in),
        "n_recovered": int(rec.sum()),
        "iterations": iterations,
        "false_positives": n_false,
        "false_positives_per_iteration": n_false / max(iterations, 1),
        "flux_bias": bias,
        "flux_scatter": scatter,
        "position_error_px": _finite(np.median(dpos[rec])) if rec.any() else None,
    }


def plot(summary: dict[str, Any], paths: list[Path], title: str = "") -> None:
    """Completeness (with errors and the logistic fit) and flux recovery versus injected flux."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 6.0), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    bins = [b for b in summary["bins"] if b["injected"]]
    flux = np.array([b["flux"] for b in bins])
    comp = np.array([b["completeness"] for b in bins], dtype=float)
    err = np.array([b["error"] for b in bins], dtype=float)
    top.errorbar(flux, comp, yerr=err, fmt="o", color="k", capsize=2, label="injected / recovered")
    if summary.get("logistic"):
        m, w = summary["logistic"]["log10_flux_50"], summary["logistic"]["width_dex"]
        grid = np.geomspace(summary["bins"][0]["flux_lo"], summary["bins"][-1]["flux_hi"], 200)
        with np.errstate(over="ignore"):
            model = 1.0 / (1.0 + np.exp(-(np.log10(grid) - m) / w))
        top.plot(grid, model, color="tab:blue", label="logistic fit")
        for level, key, style in ((0.5, "flux_50", "--"), (0.9, "flux_90", ":")):
            top.axvline(summary[key], color="tab:red", ls=style, label=f"{int(level * 100)} %: {summary[key]:.3g}")
    top.set_ylim(-0.05, 1.05)
    top.set_ylabel("completeness")
    top.set_xscale("log")
    top.legend(loc="lower right", fontsize=8)
    top.set_title(title or f"{summary['n_injected']} sources in {summary['iterations']} iterations")
    bias = np.array([b["flux_bias"] if b["flux_bias"] is not None else np.nan for b in bins], dtype=float)
    scatter = np.array([b["flux_scatter"] if b["flux_scatter"] is not None else np.nan for b in bins], dtype=float)
    bottom.errorbar(flux, bias, yerr=scatter, fmt="s", color="tab:green", capsize=2)
    bottom.axhline(0.0, color="0.5", lw=0.8)
    bottom.set_ylabel("(F_out - F_in) / F_in")
    bottom.set_xlabel(f"injected flux [{summary.get('flux_unit', '')}]")
    for path in paths:
        fig.savefig(path, dpi=110)
