"""Report stage: the self-contained HTML report from the declared artifacts."""
