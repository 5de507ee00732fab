"""Indicators service: QOF and local-scheme rule sets as versioned data, and the engine that scores them.

The pure core lives in :mod:`services.indicators.domain`; the rule data in ``rulesets/``.
"""
