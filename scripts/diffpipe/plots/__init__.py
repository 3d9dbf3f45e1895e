"""Plot stage: figures drawn from artifacts and the `figures:` style only."""
