"""pyhf's ToyCalculator q̃μ samples for one model and μ, printed as JSON (numpy backend, own process).

python pyhf_toys.py '<model entry as JSON>' MU NTOYS
"""

import json
import sys
from pathlib import Path

import numpy as np
import pyhf

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))

from diffpipe.models import build_model  # noqa: E402

if __name__ == "__main__":
    spec, mu, ntoys = json.loads(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    pyhf.set_backend("numpy")
    np.random.seed(0)
    model, data = build_model(spec)
    calc = pyhf.infer.calculators.ToyCalculator([float(v) for v in data], model, ntoys=ntoys, track_progress=False)
    q_obs = float(calc.teststatistic(mu))
    sb, b = calc.distributions(mu)
    print(json.dumps({"q_obs": q_obs, "sb": np.asarray(sb.samples).tolist(), "b": np.asarray(b.samples).tolist()}))
