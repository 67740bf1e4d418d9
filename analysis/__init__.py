"""faultline analysis: reads the tracer's sqlite database and reports across runs.

Modules, one job each:
  model        records (dataclasses) and enums shared by everything below
  db           read-only access to the database, schema version check, symbolization
  fingerprint  stack normalization, finding fingerprints, titles
  unique       grouping per-run findings into unique findings, the whole audit
  suppressions the LSan-style suppressions file
  sources      source paths relative to the repo root, source excerpts
  json_report  JSON output
  sarif        SARIF 2.1.0 output
  junit        JUnit XML output
  chart        the outcome-over-N chart (inline SVG)
  html_report  the static HTML site
  summary      plain-text tables for the terminal
  cli          argument parsing for `python3 -m analysis`
  version      faultline's version string (scripts/version.sh)
  merge        several databases made into one (one report over parallel sweeps)
  gate         sweep or run into a database and give typed results (tests assert on them)
  pytest_plugin  the pytest plugin: sweep items, the faultline fixture (docs/pytest.md)
"""
