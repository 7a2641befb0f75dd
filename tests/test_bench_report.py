"""The benchmark's targets as the roles (bench/report.py), from figures given
here: where each passes and fails."""

from __future__ import annotations

from datetime import datetime

import pytest

from bench import report, roles
from bench.run import Growth, Results

QUERIES = ("01_session_lookup", "05_claim_next_job", "08_jobs_by_machine")


def results(catalog_small: dict, catalog_full: dict, sent_tps: tuple[float, float] = (100, 90),
            plans: list[str] = ()) -> Results:
    r = Results(scale=0.05, started=datetime.now(), seconds_per_run=1, repeats=1)
    r.growth = [Growth(0.1, 10, 10, 1, 1, catalog=catalog_small, role_plans=list(plans)),
                Growth(1.0, 100, 100, 1, 1, catalog=catalog_full)]
    workload = roles.WORKLOADS[0]
    su, role = sent_tps
    figures = {roles.SUPERUSER_KIND: roles.Figure(su, 1), roles.ROLE: roles.Figure(role, 1)}
    r.sent = [roles.Sent(workload, ("cadcam_worker",), figures)]
    return r


def verdicts(r: Results) -> dict[str, bool]:
    return {t.name: t.ok for t in report.role_targets(r)}


FLAT = {name: (0.3, 0.3) for name in QUERIES}


@pytest.mark.parametrize(("full", "passes"), [
    # (superuser ms, role ms) at 100%, against 0.3 ms both at 10%
    ({"08_jobs_by_machine": (0.3, 0.39)}, True),     # 1.3x as the role: the growth target
    ({"08_jobs_by_machine": (0.3, 0.42)}, False),    # 1.4x as the role, flat as the superuser
    ({"08_jobs_by_machine": (0.9, 1.17)}, True),     # grows with its result: 3x and 3.9x
    ({"08_jobs_by_machine": (0.9, 1.3)}, False),     # 3x as the superuser, 4.3x as the role
])
def test_catalog_growth_as_role(full, passes):
    assert verdicts(results(FLAT, {**FLAT, **full}))["catalog_growth_as_role"] is passes


@pytest.mark.parametrize(("role_ms", "passes"), [(0.39, True), (0.4, False)])
def test_claim_latency_growth_as_role_is_the_growth_target(role_ms, passes):
    full = {**FLAT, "05_claim_next_job": (0.3, role_ms)}
    assert verdicts(results(FLAT, full))["claim_latency_growth_as_role"] is passes


@pytest.mark.parametrize(("tps", "passes"), [((100, 80), True), ((100, 79), False)])
def test_role_ratio_of_each_workload(tps, passes):
    assert verdicts(results(FLAT, FLAT, tps))["role_ratio_claims"] is passes


def test_a_role_plan_that_reads_more_fails():
    assert verdicts(results(FLAT, FLAT))["catalog_plans_as_role"] is True
    assert verdicts(results(FLAT, FLAT, plans=["04 (custom plan as x): Sort of jobs"])
                    )["catalog_plans_as_role"] is False
