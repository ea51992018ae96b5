"""The roof: the ``kyc`` command line and the process supervisor of ``kyc serve``."""

from kyc import SettingError


def run() -> None:
    """The `kyc` command's entry point. Settings are read when the commands are imported, so
    a KYC_* value that cannot be read is reported here, as one line naming it."""
    try:
        from cli.main import app
    except SettingError as error:
        raise SystemExit(f"kyc: {error}") from None
    app()
