"""The funeral support cases as data, one a row of workflows/funeral_support.dmn, for tests to drive.

Each case is a fictional person of the population sample (registers/data/population_sample.json),
alive there, whose benefits the social registers sample (registers/data/social_registers_sample.json)
records; nobody here is real.

* ``case``: a name for the test id;
* ``idNumber``, ``fullName``, ``dateOfBirth``, ``sex``: the deceased, as the register knows them;
* ``declarationChanges``: what to change in an example death declaration, by path
  ("death__diedAt" is ``death.diedAt``), to make it this death: the time of death (Vietnam
  wall-clock, as forms/death.py loads it) and the last residence;
* ``eligibility``: what ``eligibility.lookup`` returns for it (the DMN's inputs);
* ``expected``: what the DMN decides: the paying agency and the amount in VND.

Deaths are after 1 July 2024 (social assistance standard level 500,000 VND, reference salary
2,340,000 VND) unless the case is about an older base level.
"""
from __future__ import annotations

NOTHING = {"monthlySocialAllowance": False, "childOfPoorSingleParent": False,
           "monthlySocialInsuranceAllowance": False, "socialInsurancePensioner": False, "meritoriousPerson": False}


def _case(case: str, id_number: str, full_name: str, born: str, sex: str, residence: str, died_at: str, age: int,
          received: dict, agency: str, amount: int) -> dict:
    return {"case": case, "idNumber": id_number, "fullName": full_name, "dateOfBirth": born, "sex": sex,
            "declarationChanges": {"death__diedAt": died_at, "deceased__lastResidence": residence},
            "eligibility": {"dateOfDeath": died_at[:10], "deceasedAge": age, **NOTHING, **received},
            "expected": {"funeralAgency": agency, "funeralAmount": amount}}


CASES = [
    # 20 × 500,000
    _case("monthly-social-allowance", "087148003301", "Lý Thị Mận", "1948-06-20", "female",
          "Ấp 3, xã Mỹ An, Đồng Tháp", "2024-10-05T08:30", 76,
          {"monthlySocialAllowance": True}, "ldtbxh", 10_000_000),
    # The older base level: 20 × 360,000 (died before 1 July 2024).
    _case("monthly-social-allowance-2023", "083051002718", "Phan Văn Lực", "1951-11-02", "male",
          "Ấp Phú Hòa, xã Phú Túc, Bến Tre", "2023-12-18T21:15", 72,
          {"monthlySocialAllowance": True}, "ldtbxh", 7_200_000),
    # 20 × 500,000; an 8-year-old in the household of the poor single mother Đinh Thị Hoa.
    _case("child-of-poor-single-parent", "094216005521", "Đinh Gia Huy", "2016-04-09", "male",
          "Ấp Tân Lộc, xã Tân Long, Sóc Trăng", "2025-03-14T10:00", 8,
          {"childOfPoorSingleParent": True}, "ldtbxh", 10_000_000),
    # 20 × 500,000
    _case("aged-80-with-monthly-social-insurance-allowance", "040138006612", "Trương Thị Sáu", "1938-01-25", "female",
          "Xóm 5, xã Diễn Hồng, Nghệ An", "2024-11-20T05:45", 86,
          {"monthlySocialInsuranceAllowance": True}, "ldtbxh", 10_000_000),
    # The same allowance the day before the 80th birthday: not yet 80, so nothing.
    _case("monthly-social-insurance-allowance-under-80", "036045008843", "Hà Văn Bảy", "1945-09-10", "male",
          "Xóm Trung, xã Hải Minh, Nam Định", "2025-09-09T16:20", 79,
          {"monthlySocialInsuranceAllowance": True}, "none", 0),
    # 10 × 2,340,000
    _case("social-insurance-pensioner", "001055009934", "Cao Văn Minh", "1955-07-30", "male",
          "Số 7 ngõ 15 phố Kim Mã, phường Giảng Võ, Hà Nội", "2025-01-08T02:10", 69,
          {"socialInsurancePensioner": True}, "bhxh", 23_400_000),
    # Through the scheme for people with meritorious service. unverified: the amount (10 × the
    # reference salary is assumed); the DMN marks its row "mức cần xác minh".
    _case("meritorious-person", "046049001256", "Lâm Văn Hùng", "1949-12-22", "male",
          "Thôn Vân Thê, xã Thủy Thanh, Thừa Thiên Huế", "2024-12-01T19:00", 74,
          {"meritoriousPerson": True}, "ldtbxh", 23_400_000),
    # None of these: her monthly social allowance ended in 2021, before her death.
    _case("none", "075170004488", "Mai Thị Tuyết", "1970-05-05", "female",
          "Ấp 2, xã Phước Thiền, Đồng Nai", "2025-02-17T11:30", 54,
          {}, "none", 0),
    # Several apply (a pensioner aged 85 with a monthly social-insurance allowance): the highest only.
    _case("several-apply", "046039002211", "Tôn Thất Phước", "1939-03-03", "male",
          "Số 21 đường Lê Lợi, phường Vĩnh Ninh, Thừa Thiên Huế", "2024-10-10T07:00", 85,
          {"socialInsurancePensioner": True, "monthlySocialInsuranceAllowance": True}, "bhxh", 23_400_000),
]
