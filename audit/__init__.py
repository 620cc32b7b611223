"""iom-audit core: domain model, persistence, import/export and report compilation.

No UI code lives here; the terminal app (`tui`) builds on this package.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("iom-audit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
