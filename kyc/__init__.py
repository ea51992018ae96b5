"""The ground floor: the service's settings (kyc/settings.py), which every part may import."""
