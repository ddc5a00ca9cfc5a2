"""One exception type for every problem a user can fix: bad input, bad files, bad settings."""


class IsoReconError(ValueError):
    """A problem with the user's input, named with its fix. Entry points show only its message."""
