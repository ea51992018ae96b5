"""Country names, codes and nationality adjectives as the lists write them -> ISO 3166-1 alpha-2.

pycountry supplies the ISO names and codes; the lists add their own spellings ("Korea,
North", "Burma", "Iran (Islamic Republic of)") and adjectives ("Iranian"), which the table
below maps. Lookup ignores case, accents and punctuation.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import pycountry

# Spellings used by OFAC, the UN, OFSI, the EU and the CSL that pycountry does not know, and
# nationality adjectives. Territories without an ISO code keep the codes the lists use
# themselves (XK Kosovo, PS for the Palestinian territories).
_ALIASES: dict[str, str] = {
    "korea north": "KP",
    "north korea": "KP",
    "democratic people s republic of korea": "KP",
    "korea dprk": "KP",
    "dprk": "KP",
    "korea democratic people s republic of": "KP",
    "korea south": "KR",
    "south korea": "KR",
    "republic of korea": "KR",
    "korea": "KR",
    "burma": "MM",
    "myanmar burma": "MM",
    "russia": "RU",
    "iran": "IR",
    "syria": "SY",
    "laos": "LA",
    "vietnam": "VN",
    "viet nam": "VN",
    "moldova": "MD",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "taiwan": "TW",
    "brunei": "BN",
    "czech republic": "CZ",
    "congo democratic republic of the": "CD",
    "democratic republic of the congo": "CD",
    "congo kinshasa": "CD",
    "drc": "CD",
    "congo republic of the": "CG",
    "republic of the congo": "CG",
    "congo brazzaville": "CG",
    "congo": "CG",
    "cote d ivoire": "CI",
    "ivory coast": "CI",
    "the gambia": "GM",
    "gambia the": "GM",
    "the bahamas": "BS",
    "bahamas the": "BS",
    "kosovo": "XK",
    "palestinian": "PS",
    "palestine": "PS",
    "west bank": "PS",
    "gaza": "PS",
    "region gaza": "PS",
    "gaza strip": "PS",
    "palestinian territories": "PS",
    "occupied palestinian territories": "PS",
    "state of palestine": "PS",
    "bosnia herzegovina": "BA",
    "occupied palestinian territory": "PS",
    "macedonia": "MK",
    "north macedonia the republic of": "MK",
    "the former yugoslav republic of macedonia": "MK",
    "turkey": "TR",
    "turkiye": "TR",
    "united kingdom": "GB",
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "united states": "US",
    "usa": "US",
    "united states of america": "US",
    "u s a": "US",
    "uae": "AE",
    "vatican": "VA",
    "holy see": "VA",
    "micronesia": "FM",
    "st kitts and nevis": "KN",
    "st lucia": "LC",
    "st vincent and the grenadines": "VC",
    "swaziland": "SZ",
    "cape verde": "CV",
    "east timor": "TL",
    "timor leste": "TL",
    "curacao": "CW",
    "sint maarten": "SX",
    "netherlands antilles": "AN",
    "serbia and montenegro": "CS",
    "yugoslavia": "YU",
    "soviet union": "SU",
    "ussr": "SU",
    "former ussr": "SU",
    "former soviet union": "SU",
    "hong kong": "HK",
    "macau": "MO",
    "macao": "MO",
    "virgin islands british": "VG",
    "british virgin islands": "VG",
    "virgin islands u s": "VI",
    "crimea": "UA",
    "region crimea": "UA",
    "sudan north": "SD",
    "south sudan republic of": "SS",
    # Nationality adjectives.
    "afghan": "AF",
    "albanian": "AL",
    "algerian": "DZ",
    "american": "US",
    "angolan": "AO",
    "argentine": "AR",
    "argentinian": "AR",
    "armenian": "AM",
    "australian": "AU",
    "austrian": "AT",
    "azerbaijani": "AZ",
    "bahraini": "BH",
    "bangladeshi": "BD",
    "belarusian": "BY",
    "belgian": "BE",
    "bosnian": "BA",
    "brazilian": "BR",
    "british": "GB",
    "bulgarian": "BG",
    "burmese": "MM",
    "burundian": "BI",
    "cambodian": "KH",
    "cameroonian": "CM",
    "canadian": "CA",
    "central african": "CF",
    "chadian": "TD",
    "chilean": "CL",
    "chinese": "CN",
    "colombian": "CO",
    "congolese": "CD",
    "croatian": "HR",
    "cuban": "CU",
    "cypriot": "CY",
    "czech": "CZ",
    "danish": "DK",
    "dutch": "NL",
    "ecuadorian": "EC",
    "egyptian": "EG",
    "emirati": "AE",
    "eritrean": "ER",
    "estonian": "EE",
    "ethiopian": "ET",
    "filipino": "PH",
    "finnish": "FI",
    "french": "FR",
    "georgian": "GE",
    "german": "DE",
    "ghanaian": "GH",
    "greek": "GR",
    "guatemalan": "GT",
    "guinean": "GN",
    "haitian": "HT",
    "honduran": "HN",
    "hungarian": "HU",
    "indian": "IN",
    "indonesian": "ID",
    "iranian": "IR",
    "iraqi": "IQ",
    "irish": "IE",
    "israeli": "IL",
    "italian": "IT",
    "jamaican": "JM",
    "japanese": "JP",
    "jordanian": "JO",
    "kazakh": "KZ",
    "kazakhstani": "KZ",
    "kenyan": "KE",
    "kuwaiti": "KW",
    "kyrgyz": "KG",
    "latvian": "LV",
    "lebanese": "LB",
    "liberian": "LR",
    "libyan": "LY",
    "lithuanian": "LT",
    "malaysian": "MY",
    "malian": "ML",
    "maltese": "MT",
    "mauritanian": "MR",
    "mexican": "MX",
    "moldovan": "MD",
    "mongolian": "MN",
    "montenegrin": "ME",
    "moroccan": "MA",
    "mozambican": "MZ",
    "nepalese": "NP",
    "nicaraguan": "NI",
    "nigerian": "NG",
    "nigerien": "NE",
    "north korean": "KP",
    "norwegian": "NO",
    "omani": "OM",
    "pakistani": "PK",
    "panamanian": "PA",
    "paraguayan": "PY",
    "peruvian": "PE",
    "polish": "PL",
    "portuguese": "PT",
    "qatari": "QA",
    "romanian": "RO",
    "russian": "RU",
    "rwandan": "RW",
    "salvadoran": "SV",
    "saudi": "SA",
    "saudi arabian": "SA",
    "senegalese": "SN",
    "serbian": "RS",
    "singaporean": "SG",
    "slovak": "SK",
    "slovenian": "SI",
    "somali": "SO",
    "south african": "ZA",
    "south korean": "KR",
    "south sudanese": "SS",
    "spanish": "ES",
    "sri lankan": "LK",
    "sudanese": "SD",
    "swedish": "SE",
    "swiss": "CH",
    "syrian": "SY",
    "taiwanese": "TW",
    "tajik": "TJ",
    "tajikistani": "TJ",
    "tanzanian": "TZ",
    "thai": "TH",
    "tunisian": "TN",
    "turkish": "TR",
    "turkmen": "TM",
    "ugandan": "UG",
    "ukrainian": "UA",
    "uruguayan": "UY",
    "uzbek": "UZ",
    "uzbekistani": "UZ",
    "venezuelan": "VE",
    "vietnamese": "VN",
    "yemeni": "YE",
    "zambian": "ZM",
    "zimbabwean": "ZW",
}


def _key(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", " ", folded.lower()).strip()


@cache
def _table() -> dict[str, str]:
    table: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                table.setdefault(_key(value), code)
                # "Iran, Islamic Republic of" -> also "Iran"
                head = value.split(",")[0].split("(")[0]
                table.setdefault(_key(head), code)
    for code in {c.alpha_2 for c in pycountry.countries}:
        table.setdefault(code.lower(), code)
    table.update({_key(alias): code for alias, code in _ALIASES.items()})
    return table


@cache
def to_iso2(text: str | None) -> str | None:
    """The ISO alpha-2 code for a country name, code or nationality adjective, else None.

    >>> to_iso2("Korea, North"), to_iso2("Iran (Islamic Republic of)"), to_iso2("Iranian")
    ('KP', 'IR', 'IR')
    """
    if not text:
        return None
    key = _key(text)
    if not key:
        return None
    table = _table()
    if key in table:
        return table[key]
    if len(key) == 3 and (country := pycountry.countries.get(alpha_3=key.upper())):
        return country.alpha_2
    # "Iran (Islamic Republic of)", "Sudan (North)": the part before the bracket.
    head = _key(re.split(r"[(,]", text, maxsplit=1)[0])
    return table.get(head)
