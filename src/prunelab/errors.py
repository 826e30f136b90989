"""Errors a user can act on. Stages print their message alone, without a traceback."""


class UserError(ValueError):
    """Bad input or configuration; the message names what is wrong and how to fix it."""


class DataError(UserError):
    """SST-2 input that cannot be used."""


class CheckpointError(UserError):
    """A checkpoint that cannot be found or loaded."""


class ParamsError(UserError):
    """A value in params.yaml outside what the pipeline accepts."""


class ArtifactError(UserError):
    """A model artifact (SavedModel folder or LiteRT file) that is missing or cannot be read."""
