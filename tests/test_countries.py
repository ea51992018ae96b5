import pytest

from data.countries import to_iso2


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Korea, North", "KP"),
        ("Iran (Islamic Republic of)", "IR"),
        ("Iranian", "IR"),
        ("Russian Federation", "RU"),
        ("Congo, Democratic Republic of the", "CD"),
        ("Viet Nam", "VN"),
        ("Türkiye", "TR"),
        ("IRN", "IR"),
        ("de", "DE"),
        ("Kosovo", "XK"),
    ],
)
def test_known_spellings(text: str, code: str) -> None:
    assert to_iso2(text) == code


@pytest.mark.parametrize("text", ["", "   ", "Atlantis", None])
def test_unknown_is_none(text: str | None) -> None:
    assert to_iso2(text) is None
