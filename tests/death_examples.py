"""One example death declaration for the tests that need one: Nguyễn Văn An (087084000999, whom the
sample population register registers/data/population_sample.json knows) declares the death of his
father Nguyễn Văn Tám (087040000888) and asks for all four procedures."""
from __future__ import annotations

from tests.birth_examples import DELETE, set_path

__all__ = ["DELETE", "death_declaration"]


def death_declaration(**changes) -> dict:
    """The declaration as the portal sends it, with `changes` applied by path ("death__diedAt")."""
    data = {
        "receivingAgency": "UBND xã Mỹ An",
        "requester": {"fullName": "Nguyễn Văn An", "idNumber": "087084000999", "dateOfBirth": "1984-01-15",
                      "residence": "Ấp 1, xã Mỹ An, Đồng Tháp", "relationship": "con", "phone": "0912345678"},
        "deceased": {"fullName": "Nguyễn Văn Tám", "dateOfBirth": "1940-02-15", "sex": "male", "ethnicity": "Kinh",
                     "nationality": "Việt Nam", "lastResidence": "Ấp 1, xã Mỹ An, Đồng Tháp",
                     "idNumber": "087040000888"},
        "death": {"diedAt": "2026-11-20T05:30", "place": "Tại nhà, Ấp 1, xã Mỹ An, Đồng Tháp", "cause": "Bệnh già",
                  "noticeNumber": "GBT-2026-0415", "noticeIssuedBy": "Trạm y tế xã Mỹ An",
                  "noticeIssuedOn": "2026-11-20"},
        "burial": {"date": "2026-11-22", "place": "Nghĩa trang nhân dân xã Mỹ An"},
        "parts": ["death", "residence", "funeral", "survivor"],
        "delivery": "electronic",
        "copies": 2,
        "commitment": True,
    }
    for path, value in changes.items():
        set_path(data, path, value)
    return data
