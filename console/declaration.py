"""A citizen's declaration as an officer reads it: sections and fields with their Vietnamese labels
(taken from the procedure's form schema), values in words (Nam, Có...), never raw JSON."""
from __future__ import annotations

from api.form_fields import label_of
from dossiers.service import PROCEDURES

# Fields whose messages do not name them (they share one message), and words for coded values.
LABELS = {
    "idNumber": "Số định danh cá nhân", "parts": "Các thủ tục đề nghị", "copies": "Số bản sao",
    "commitment": "Cam kết thông tin khai là đúng sự thật", "delivery": "Hình thức nhận kết quả",
}
VALUES = {
    "male": "Nam", "female": "Nữ", "desk": "Nhận tại bộ phận một cửa", "post": "Qua bưu chính",
    "electronic": "Bản điện tử", True: "Có", False: "Không",
}


def readable(engine, procedure_key: str, declaration: dict) -> list[dict]:
    """[{title, rows: [{label, value}]}]: the top-level fields first, then one section per group
    (the schema from the engine's form registry)."""
    procedure = PROCEDURES.get(procedure_key)
    schema = procedure.schema(engine.forms, engine.timezone) if procedure else None
    general = {"title": "Thông tin chung", "rows": []}
    sections = [general]
    for key, value in declaration.items():
        field = schema.fields.get(key) if schema else None
        if isinstance(value, dict):
            nested = getattr(field, "schema", None)
            sections.append({"title": _label(key, field), "rows": [
                {"label": _label(k, nested.fields.get(k) if nested else None), "value": _value(k, v, procedure)}
                for k, v in value.items()]})
        elif value is not None:
            general["rows"].append({"label": _label(key, field), "value": _value(key, value, procedure)})
    return [s for s in sections if s["rows"]]


def _label(key: str, field) -> str:
    if key in LABELS:
        return LABELS[key]
    label = label_of(field) if field is not None else None
    if label and label.startswith("Thông tin "):
        return "T" + label[1:]
    return label or key


def _value(key: str, value, procedure) -> str:
    if key == "parts" and isinstance(value, list) and procedure:
        return "; ".join(procedure.part_names.get(p, p) for p in value)
    if isinstance(value, list):
        return ", ".join(str(VALUES.get(v, v)) for v in value)
    if isinstance(value, bool) or value in VALUES:
        return VALUES.get(value, str(value))
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        return f"{value[8:10]}/{value[5:7]}/{value[0:4]}"  # dd/mm/yyyy as Vietnamese forms write dates
    return str(value)



