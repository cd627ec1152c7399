"""What the deceased received, from the social registers: the inputs of the funeral support DMN.

Topic ``eligibility.lookup``. Reads the process variable ``declaration`` (the death declaration):
``declaration.deceased.idNumber`` and ``declaration.death.diedAt`` (an ISO date, or an ISO
date-time: with a UTC offset it is taken in the service's zone (LIENTHONG_TIMEZONE), without one it is that zone's already).
The deceased's date of birth comes from the population register (registers/population.py), what
they received on the day of death from the social registers: eligibility data comes from the
registers, never from the citizen's declaration.

Returns the inputs of workflows/funeral_support.dmn as process variables:

* ``dateOfDeath``: ISO date; the DMN picks the base levels in force on it;
* ``deceasedAge``: whole years at death;
* ``monthlySocialAllowance`` (trợ cấp xã hội hằng tháng), ``childOfPoorSingleParent`` (con của
  người đơn thân nghèo), ``monthlySocialInsuranceAllowance`` (trợ cấp BHXH hằng tháng),
  ``socialInsurancePensioner`` (lương hưu), ``meritoriousPerson`` (người có công): booleans.

Outcomes: those variables; the registers unable to answer is ``SocialRegistersUnavailable`` (the
population register's ``RegisterUnavailable``), a technical failure, so the job is retried and
then becomes an incident; a declaration without the deceased's ID number or date of death, or a
deceased the population register does not know (identity.check comes first), is a ValueError,
also an incident.
"""
from __future__ import annotations

from datetime import date

from engine.handler_registry import TaskContext, handler
from forms.death import deceased_and_day_of_death
from registers.population import current_register
from registers.social import current_social_registers

TOPIC = "eligibility.lookup"


def age_on(born: date, day: date) -> int:
    """Whole years from `born` to `day` (born on 29 February: a year older on 1 March)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))



@handler(TOPIC)
def look_up_eligibility(task: TaskContext) -> dict:
    where = f"service task '{task.activity_id}' ({TOPIC})"
    id_number, day = deceased_and_day_of_death(task.variables.get("declaration"), where, task.timezone)
    citizen = current_register(task.database).find(id_number)
    if citizen is None:
        raise ValueError(f"{where}: the population register does not know the deceased {id_number}")
    born = date.fromisoformat(citizen.date_of_birth)
    if day < born:
        raise ValueError(f"{where}: the date of death {day.isoformat()} is before the birth of {id_number} "
                         f"({citizen.date_of_birth})")
    benefits = current_social_registers().benefits_on(id_number, day)
    return {"dateOfDeath": day.isoformat(), "deceasedAge": age_on(born, day), **benefits.to_variables()}
