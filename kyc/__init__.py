"""The ground floor: the service's settings (kyc/settings.py), which every part may import."""


class SettingError(ValueError):
    """A KYC_* environment variable whose value cannot be read (kyc/settings.py)."""
