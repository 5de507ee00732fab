"""Workload settings: the platform settings plus staff hourly rates and the provider response window."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from shared.settings import ServiceSettings, settings_for

SERVICE = "workload"


class WorkloadSettings(ServiceSettings):
    # QOF_WORKLOAD_HOURLY_RATES='{"gp_partner": 160, "admin": 21}' overrides reference/hourly_rates.yaml.
    workload_hourly_rates: dict[str, Decimal] = Field(default_factory=dict)
    # Days after which an item raised with the provider and not answered counts as unanswered.
    workload_response_days: int = Field(28, ge=1, le=365)
    # Staff role a quick capture without one is costed at, by practice ODS code ("*": every practice), e.g.
    # QOF_WORKLOAD_DEFAULT_ROLES='{"A81001": "gp_salaried", "*": "admin"}'. Without one, a quick capture that
    # gives minutes must name the role: time is never costed at £0 for want of a role.
    workload_default_roles: dict[str, str] = Field(default_factory=dict)
    # Largest CSV import accepted in one request (all-or-nothing).
    workload_import_max_rows: int = Field(5000, ge=1, le=100_000)


def workload_settings(base: ServiceSettings | None = None, **overrides: object) -> WorkloadSettings:
    if isinstance(base, WorkloadSettings) and not overrides:
        return base
    values = base.model_dump() if base is not None else settings_for(SERVICE).model_dump()
    values.update(overrides)
    return WorkloadSettings(**values)
