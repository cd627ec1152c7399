"""Service-task handlers, one module per concern; importing this package registers them."""
from . import (
    deadlines,  # noqa: F401
    identity,  # noqa: F401
)
