"""The base of every error a user can act on (bad input, a missing or foreign file, a failed run): the command
line prints its message alone, in one line, and exits with status 2."""


class ActlabError(Exception):
    """An error with a message meant for the user; subclasses name the layer it comes from."""
