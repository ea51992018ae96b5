"""The engine's version: stored with every result, so a score can be traced to its code.

Bump it whenever normalisation, blocking, a feature, a weight or a config constant changes.
"""

ENGINE_VERSION = "kyc-match-1.8"
