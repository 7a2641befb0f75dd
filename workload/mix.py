"""The mixed workload: how often each catalog query runs."""

# Share of each catalog query in the mixed workload, per 1000 transactions:
# token refreshes and progress reports dominate; the billing sweep runs
# nightly, so it gets the smallest share pgbench can give.
MIX = {
    "01_session_lookup": 400, "02_active_license": 120, "03_latest_models": 80,
    "04_jobs_dashboard": 40, "05_claim_next_job": 20, "06_job_progress": 300,
    "07_models_by_params": 20, "08_jobs_by_machine": 19, "09_licenses_expiring": 1,
}
