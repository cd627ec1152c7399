"""Dossiers (hồ sơ): what a citizen filed, its code, its parts, its printed declarations.

The engine runs the process; this package keeps the citizen's view of it: a dossier row per
submission, whose code is the process instance's business key, one row per part (birth,
residence, BHYT...) with the state the diagram last gave it, a timeline, and the documents.
"""
