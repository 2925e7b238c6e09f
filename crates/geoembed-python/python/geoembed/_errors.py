"""The exceptions geoembed raises.

Every one is an :class:`EmbError`, and also the builtin a Python user would catch for that
problem: a file that is not a valid ``.emb`` is a :class:`ValueError`, a read or write that
fails an :class:`OSError`. Messages name the file (or chunk) and the problem.
"""

from __future__ import annotations


class EmbError(Exception):
    """Base class of every geoembed error."""


class EmbFormatError(EmbError, ValueError):
    """The bytes are not a valid ``.emb`` file or chunk: wrong magic, truncated, corrupt,
    or declaring sizes beyond the reader's limits."""


class EmbChecksumError(EmbFormatError):
    """A stored checksum does not match the bytes or the decoded samples it covers."""


class EmbUnsupportedError(EmbError, ValueError):
    """A valid file using something this build cannot decode (a newer format version, or
    JPEG XL tiles in a wheel built without libjxl)."""


class EmbArgumentError(EmbError, ValueError):
    """A request that does not fit the file: a window outside the raster, a band that does
    not exist, an unknown codec or option."""


class EmbIOError(EmbError, OSError):
    """Reading or writing the underlying file or stream failed."""


__all__ = [
    "EmbError",
    "EmbFormatError",
    "EmbChecksumError",
    "EmbUnsupportedError",
    "EmbArgumentError",
    "EmbIOError",
]
