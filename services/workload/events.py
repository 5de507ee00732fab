"""What the workload service publishes: ``workload.transfer.logged`` (analytics audience, no patient data).

One event when an item is logged and one more each time its status moves on, all with the same
``item_id``; consumers counting items keep the latest event per ``item_id``. The payload carries the
practice, provider, specialty, category, clause, staff role, minutes, date and status: never the NHS
number, the free text or anything else about the patient.
"""

from __future__ import annotations

from services.workload.store.models import WorkloadItem
from shared.events.schemas import WorkloadTransferLogged

SOURCE = "/services/workload"
PUBLISHES = (WorkloadTransferLogged,)


def transfer_logged(item: WorkloadItem) -> WorkloadTransferLogged:
    clause = f"{item.clause_number} ({item.contract_year})" if item.clause_number else None
    return WorkloadTransferLogged(
        practice_ods=item.practice_ods,
        item_id=item.id,
        provider_ods=item.provider_ods,
        specialty=item.specialty,
        category=item.category,
        contract_clause=clause,
        staff_role=item.staff_role,
        minutes=item.minutes,
        received_on=item.received_on,
        status=item.status,
    )
