"""The registry's reads (:mod:`.registry`), on their way into the registry package.

Every other read of the store is a function of :mod:`canvasback.query`.
"""
