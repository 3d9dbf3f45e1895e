"""The one error every configuration check raises, and the range check the stages share."""


class ConfigError(ValueError):
    """A config value (or a file it names) that the pipeline cannot run with.

    The message is folded onto one line (libraries' messages may span several).
    """

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


def ordered(pair, where: str) -> None:
    """A [min, max] range from the config, checked.

    Args:
        pair: the two values.
        where: the config key.

    Raises:
        ConfigError: min is not below max.
    """
    if not pair[0] < pair[1]:
        raise ConfigError(f"config key '{where}': needs min < max, got {list(pair)}")
