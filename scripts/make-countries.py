"""Writes forms/data/countries.json, the nationality catalogue, from pycountry (ISO 3166-1 with its
Vietnamese translation) plus the names Vietnamese papers use today where the translation is old.

Run by hand when ISO 3166-1 changes: `pip install pycountry && python scripts/make-countries.py`.
The service reads only the JSON file (no pycountry at run time); an analyst may edit it directly."""
import gettext
import json
from pathlib import Path

import pycountry

# The names in current Vietnamese use (pycountry's translation has e.g. "Căm Bốt", "A Phú Hãn").
CURRENT = {
    "VN": "Việt Nam", "LA": "Lào", "KH": "Campuchia", "CN": "Trung Quốc", "KR": "Hàn Quốc",
    "KP": "Triều Tiên", "JP": "Nhật Bản", "US": "Hoa Kỳ", "GB": "Vương quốc Anh", "FR": "Pháp",
    "DE": "Đức", "RU": "Nga", "TH": "Thái Lan", "TW": "Đài Loan", "AU": "Úc", "CA": "Canada",
    "AF": "Afghanistan", "SG": "Singapore", "MY": "Malaysia", "PH": "Philippines", "ID": "Indonesia",
    "IN": "Ấn Độ", "IT": "Ý", "ES": "Tây Ban Nha", "NL": "Hà Lan", "CZ": "Séc", "PL": "Ba Lan",
}
EXTRA = {"US": ["Mỹ"], "AU": ["Australia"], "IT": ["Italia"], "GB": ["Anh"], "CZ": ["Cộng hòa Séc"]}

vi = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["vi"])
countries = []
for country in pycountry.countries:
    names = [CURRENT.get(country.alpha_2) or vi.gettext(country.name)]
    for name in (vi.gettext(country.name), country.name, getattr(country, "common_name", None),
                 getattr(country, "official_name", None), *EXTRA.get(country.alpha_2, ())):
        if name and name not in names:
            names.append(name)
    countries.append({"code": country.alpha_2, "alpha3": country.alpha_3, "name": names[0], "aliases": names[1:]})
countries.sort(key=lambda c: c["code"])
out = {"source": f"ISO 3166-1 (pycountry {pycountry.__version__ if hasattr(pycountry, '__version__') else ''}, "
                 "bản dịch tiếng Việt) và tên thông dụng hiện nay; tạo bởi scripts/make-countries.py",
       "countries": countries}
path = Path(__file__).resolve().parent.parent / "forms" / "data" / "countries.json"
lines = ",\n".join("  " + json.dumps(c, ensure_ascii=False) for c in countries)
path.write_text('{\n "source": ' + json.dumps(out["source"], ensure_ascii=False) + ',\n "countries": [\n' + lines + "\n ]\n}\n",
                encoding="utf-8")
print(f"{len(countries)} countries -> {path}")
