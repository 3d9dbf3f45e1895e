"""Likelihood stage: maximum-likelihood fits with autodiff errors, and 2-D ln L grid scans."""
