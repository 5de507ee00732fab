"""The common package of the QOF platform: settings, storage, events, security and HTTP plumbing.

Every service builds on these pieces and on nothing of another service's.
"""
