"""The one error every configuration check raises."""


class ConfigError(ValueError):
    """A config value (or a file it names) that the pipeline cannot run with.

    The message is folded onto one line (libraries' messages may span several).
    """

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
