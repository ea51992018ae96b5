"""One module per ``kyc`` command group."""
