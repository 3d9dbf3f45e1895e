"""Write a realistic published-style likelihood: a background-only workspace plus a signal patchset.

Deterministic (fixed seed, no clock): running it again writes the same bytes, which a test checks.

    python resources/generate_likelihood.py [OUTDIR]   (default: resources/generated)

The workspace has 3 channels x 10 bins (two signal regions and a control region), four background
samples and 56 nuisance parameters of every HistFactory modifier type: lumi, normfactor,
shapefactor, normsys, histosys, staterror and shapesys. Its measurement names the POI `mu_sig`,
which only the signal patches declare, as in a published background-only likelihood. The patchset
holds a 5 x 5 grid of signal hypotheses (m_parent, m_lsp): each patch adds a signal sample to every
channel, its size and shape following the masses (light signals are excluded, heavy ones are not).
"""

import json
import sys
from pathlib import Path

import numpy as np
import pyhf

SEED = 20261127
NBINS = 10
CHANNELS = ("SR_low", "SR_high", "CR")
M_PARENT = (400.0, 600.0, 800.0, 1000.0, 1200.0)
M_LSP = (0.0, 100.0, 200.0, 300.0, 400.0)


def _r(values) -> list[float]:
    return [float(round(float(v), 6)) for v in values]


def _background_shapes(rng: np.random.Generator) -> dict[str, dict[str, np.ndarray]]:
    x = (np.arange(NBINS) + 0.5) / NBINS
    shapes = {
        "SR_low": {"ttbar": 60 * np.exp(-2.5 * x), "wjets": 35 * np.exp(-3.5 * x), "diboson": 6 + 4 * x},
        "SR_high": {"ttbar": 25 * np.exp(-2.0 * x), "wjets": 10 * np.exp(-3.0 * x), "diboson": 4 + 2 * x},
        "CR": {"ttbar": 300 * np.exp(-1.5 * x), "wjets": 80 * np.exp(-2.0 * x), "diboson": 20 + 5 * x},
    }
    shapes["CR"]["fakes"] = 40 + 10 * np.cos(3 * x)
    for channel in shapes.values():
        for name in channel:
            channel[name] = channel[name] * rng.uniform(0.9, 1.1, NBINS)
    return shapes


def _normsys(name: str, size: float) -> dict:
    return {"name": name, "type": "normsys", "data": {"hi": 1 + size, "lo": 1 - 0.9 * size}}


def _histosys(name: str, nominal: np.ndarray, tilt: float) -> dict:
    ramp = np.linspace(-1.0, 1.0, NBINS)
    return {
        "name": name,
        "type": "histosys",
        "data": {"hi_data": _r(nominal * (1 + tilt * ramp)), "lo_data": _r(nominal * (1 - 0.8 * tilt * ramp))},
    }


def background_workspace() -> dict:
    """The background-only workspace.

    Returns:
        The workspace specification (channels, observations, measurements, version).
    """
    rng = np.random.default_rng(SEED)
    shapes = _background_shapes(rng)
    normsys = {"ttbar": ("ttbar_xsec", 0.06), "wjets": ("wjets_xsec", 0.10), "diboson": ("diboson_xsec", 0.08)}
    channels, observations = [], []
    for c, channel in enumerate(CHANNELS):
        samples = []
        for name, nominal in shapes[channel].items():
            modifiers = []
            if name != "fakes":
                modifiers.append({"name": "lumi", "type": "lumi", "data": None})
                sys_name, size = normsys[name]
                modifiers.append(_normsys(sys_name, size))
                modifiers.append(_normsys(f"eff_{channel}", 0.02 + 0.01 * c))
            if name == "ttbar":
                modifiers.append({"name": "mu_ttbar", "type": "normfactor", "data": None})
                modifiers.append(_histosys("ttbar_isr", nominal, 0.08))
                modifiers.append(_histosys("ttbar_pdf", nominal, -0.05))
                modifiers.append(_histosys("jes", nominal, 0.04))
            if name == "wjets":
                modifiers.append(_histosys("wjets_scale", nominal, 0.12))
                modifiers.append(_histosys("jes", nominal, 0.05))
                modifiers.append(_normsys("wjets_hf", 0.15))
            if name == "diboson":
                modifiers.append(_histosys("jer", nominal, 0.06))
                if channel == "CR":
                    modifiers.append({"name": "shapesys_diboson_CR", "type": "shapesys", "data": _r(0.2 * nominal)})
            if name == "fakes":
                modifiers.append({"name": "fakes_CR", "type": "shapefactor", "data": None})
            if channel != "CR" and name in ("ttbar", "wjets"):
                mc_error = np.sqrt(nominal) * 0.8
                modifiers.append({"name": f"staterror_{channel}", "type": "staterror", "data": _r(mc_error)})
            samples.append({"name": name, "data": _r(nominal), "modifiers": modifiers})
        channels.append({"name": channel, "samples": samples})
        expected = np.sum([s for s in shapes[channel].values()], axis=0)
        observations.append({"name": channel, "data": _r(rng.poisson(expected))})
    measurement = {
        "name": "NominalMeasurement",
        "config": {
            "poi": "mu_sig",
            "parameters": [
                {"name": "lumi", "auxdata": [1.0], "sigmas": [0.017], "bounds": [[0.915, 1.085]], "inits": [1.0]},
                {"name": "mu_ttbar", "bounds": [[0.0, 5.0]], "inits": [1.0]},
            ],
        },
    }
    return {"channels": channels, "observations": observations, "measurements": [measurement], "version": "1.0.0"}


def _signal_yields(m_parent: float, m_lsp: float) -> dict[str, np.ndarray]:
    x = (np.arange(NBINS) + 0.5) / NBINS
    reach = (m_parent - m_lsp) / 1200.0
    size = 120.0 * np.exp(-(m_parent - 400.0) / 220.0) * (0.4 + reach)
    peak = 0.15 + 0.6 * reach
    shape = np.exp(-0.5 * ((x - peak) / 0.18) ** 2)
    return {"SR_low": size * shape, "SR_high": 0.6 * size * shape[::-1], "CR": 0.05 * size * np.ones(NBINS)}


def signal_patchset(workspace: dict) -> dict:
    """The patchset of the 5 x 5 signal grid for `workspace`.

    Args:
        workspace: the background-only workspace it patches.

    Returns:
        The patchset specification (metadata with the workspace's digest, patches, version).
    """
    patches = []
    for m_parent in M_PARENT:
        for m_lsp in M_LSP:
            yields = _signal_yields(m_parent, m_lsp)
            operations = []
            for index, channel in enumerate(CHANNELS):
                sample = {
                    "name": "signal",
                    "data": _r(yields[channel]),
                    "modifiers": [
                        {"name": "mu_sig", "type": "normfactor", "data": None},
                        {"name": "lumi", "type": "lumi", "data": None},
                        _normsys("signal_theory", 0.1),
                    ],
                }
                operations.append({"op": "add", "path": f"/channels/{index}/samples/0", "value": sample})
            name = f"sig_{int(m_parent)}_{int(m_lsp)}"
            patches.append({"metadata": {"name": name, "values": [m_parent, m_lsp]}, "patch": operations})
    metadata = {
        "description": "diffpipe generated signal grid (resources/generate_likelihood.py)",
        "digests": {"sha256": pyhf.utils.digest(workspace)},
        "labels": ["m_parent", "m_lsp"],
        "references": {"hepdata": "ins0000000"},  # placeholder record: generated, not published
    }
    return {"metadata": metadata, "patches": patches, "version": "1.0.0"}


def main(outdir: str = "resources/generated") -> None:
    """Write bkgonly.json and patchset.json.

    Args:
        outdir: the destination folder.
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    workspace = background_workspace()
    (out / "bkgonly.json").write_text(json.dumps(workspace, indent=1, sort_keys=True) + "\n")
    (out / "patchset.json").write_text(json.dumps(signal_patchset(workspace), indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:2])
