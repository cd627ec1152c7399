"""Service-task handlers, one module per concern; importing this package registers them."""
from . import (
    deadlines,  # noqa: F401
    delivery,  # noqa: F401
    eligibility,  # noqa: F401
    extraction,  # noqa: F401
    handoff,  # noqa: F401
    models,  # noqa: F401  (their tables join the engine's metadata)
    notify,  # noqa: F401
    population_check,  # noqa: F401
    printing,  # noqa: F401
)
