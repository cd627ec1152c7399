"""Service-task handlers, one module per concern; importing this package imports every module in
it, which registers their handlers (@handler) and joins their tables to the engine's metadata. A
new topic is a module here (or a function in one), its test and the diagram that names it."""
import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
