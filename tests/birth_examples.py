"""One example birth declaration for the tests that need one: the Đồng Tháp couple that the
sample population register (registers/data/population_sample.json) also knows."""
from __future__ import annotations

import itertools

DELETE = object()  # a change that removes the key


def set_path(data: dict, path: str, value) -> None:
    """`"child__dateOfBirth"` sets data["child"]["dateOfBirth"]; DELETE removes it."""
    *parents, key = path.split("__")
    node = data
    for parent in parents:
        node = node[parent]
    if value is DELETE:
        del node[key]
    else:
        node[key] = value


_FILED = itertools.count(1)


def letters(n: int) -> str:
    """1 -> "A", 26 -> "Z", 27 -> "Ab": a word of letters only (a name may hold no digits)."""
    word = ""
    while n:
        n, rest = divmod(n - 1, 26)
        word = chr(ord("a") + rest) + word
    return word.capitalize()


def another_child(**changes) -> dict:
    """birth_declaration() for a child not filed before in this process: the same child filed twice
    is refused at receipt (dossiers.service.subject_of), so tests filing several dossiers use this."""
    return birth_declaration(**{"child__fullName": f"Nguyễn Minh {letters(next(_FILED))}", **changes})


def birth_declaration(**changes) -> dict:
    """The declaration as the portal sends it, with `changes` applied by path."""
    data = {
        "receivingAgency": "UBND xã Mỹ An",
        "requester": {"fullName": "Nguyễn Văn An", "idNumber": "087084000999",
                      "residence": "Ấp 1, xã Mỹ An, Đồng Tháp", "relationship": "cha",
                      "phone": "0912345678"},
        "child": {"fullName": "Nguyễn Minh Khang", "dateOfBirth": "2024-05-20", "sex": "male", "ethnicity": "Kinh",
                  "nationality": "Việt Nam", "placeOfBirth": "Bệnh viện Đa khoa Đồng Tháp", "homeTown": "Đồng Tháp"},
        "mother": {"fullName": "Trần Thị Bình", "birthYear": 1990, "ethnicity": "Kinh", "nationality": "Việt Nam",
                   "residence": "Ấp 1, xã Mỹ An, Đồng Tháp", "idNumber": "087190001234"},
        "father": {"fullName": "Nguyễn Văn An", "birthYear": 1984, "ethnicity": "Kinh", "nationality": "Việt Nam",
                   "residence": "Ấp 1, xã Mỹ An, Đồng Tháp", "idNumber": "087084000999"},
        "marriage": {"certificateNumber": "12/2015", "issuedBy": "UBND xã Mỹ An", "issuedOn": "2015-03-02"},
        "parts": ["birth", "residence", "bhyt"],
        "delivery": "electronic",
        "copies": 2,
        "commitment": True,
    }
    for path, value in changes.items():
        set_path(data, path, value)
    return data


def twins_declaration(**changes) -> dict:
    """birth_declaration() for twins: a boy and a girl of the same birth, filed as `children`."""
    data = birth_declaration(**changes)
    first = data.pop("child")
    data["children"] = [first, {**first, "fullName": "Nguyễn Ngọc Hân", "sex": "female"}]
    return data
