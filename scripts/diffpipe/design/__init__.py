"""Analysis design optimised end to end: a selection and binning trained on the expected sensitivity.

Events (`events`) pass a parametrised selection and binning (`soft`: a sigmoid cut and a
histogram with learnable edges, both smoothed by a bandwidth) into a HistFactory model
(`design_model`: the histograms as the compiled kernel's numbers); `objective` gives the expected
CLs, the expected upper limit or 1/Z_A of that model with its gradient with respect to the cut
and the edges, `train` steps them with optax, and `validate` rebuilds the trained analysis with
hard cuts and bins as an ordinary pyhf workspace and compares its pyhf expected limit with the
untrained start's and with the best point of a grid scan.
"""
