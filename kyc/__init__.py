"""The service's entry points: settings, the ``kyc`` command line."""
