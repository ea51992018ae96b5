"""The roof: the ``kyc`` command line and the process supervisor of ``kyc serve``."""
