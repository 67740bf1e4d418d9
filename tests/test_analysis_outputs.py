"""Machine-readable outputs: SARIF 2.1.0, JUnit XML and JSON say what the text says."""
import json
import xml.etree.ElementTree as ET

import pytest
from test_analysis_fixtures import clean_db, sample_db

from analysis import json_report, junit, sarif, suppressions
from analysis.db import Database
from analysis.unique import analyze


@pytest.fixture
def audit(tmp_path):
    with Database(sample_db(tmp_path / "s.db")) as db:
        yield analyze(db, suppressions.parse("leak:proc_create\n"))


def check_location(loc):
    """The shape SARIF 2.1.0 requires of a location."""
    assert set(loc) <= {"id", "physicalLocation", "logicalLocations", "message"}
    if "physicalLocation" in loc:
        phys = loc["physicalLocation"]
        assert "artifactLocation" in phys
        assert isinstance(phys["artifactLocation"]["uri"], str)
        assert not phys["artifactLocation"]["uri"].startswith("/")
        if "region" in phys:
            assert isinstance(phys["region"]["startLine"], int)
            assert phys["region"]["startLine"] >= 1
    for ll in loc.get("logicalLocations", []):
        assert isinstance(ll["name"], str)
    if "message" in loc:
        assert isinstance(loc["message"]["text"], str)


def check_sarif(log):
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-schema-2.1.0.json")
    assert isinstance(log["runs"], list) and log["runs"]
    for run in log["runs"]:
        driver = run["tool"]["driver"]
        assert isinstance(driver["name"], str) and driver["name"]
        ids = [r["id"] for r in driver["rules"]]
        assert len(ids) == len(set(ids))
        for base in run.get("originalUriBaseIds", {}).values():
            assert base["uri"].endswith("/")
        for res in run["results"]:
            assert isinstance(res["message"]["text"], str) and res["message"]["text"]
            assert res["ruleId"] in ids
            assert ids[res["ruleIndex"]] == res["ruleId"]
            assert res["level"] in ("none", "note", "warning", "error")
            assert all(isinstance(v, str) for v in res["partialFingerprints"].values())
            for loc in res["locations"] + res.get("relatedLocations", []):
                check_location(loc)
            rel_ids = [loc["id"] for loc in res.get("relatedLocations", [])]
            assert len(rel_ids) == len(set(rel_ids))
            for flow in res.get("codeFlows", []):
                assert flow["threadFlows"]
                for tf in flow["threadFlows"]:
                    assert tf["locations"]
                    for tfl in tf["locations"]:
                        assert tfl["nestingLevel"] >= 0
                        check_location(tfl["location"])
            for s in res.get("suppressions", []):
                assert s["kind"] in ("inSource", "external")


def test_sarif_has_the_required_2_1_0_structure(audit):
    log = json.loads(json_report.dumps(sarif.sarif_log(audit)))
    check_sarif(log)


def test_sarif_results_carry_stable_rule_ids_fingerprints_and_repo_relative_sites(audit):
    log = sarif.sarif_log(audit)
    results = log["runs"][0]["results"]
    assert len(results) == len(audit.findings) + len(audit.suppressed)
    df = next(r for r in results if r["ruleId"] == "faultline-double-free")
    fp = next(f for f in audit.findings if f.class_text == "double-free").fingerprint
    assert df["partialFingerprints"][sarif.FINGERPRINT_KEY] == fp
    # the location is the line of the function to fix: fork, where both frees came from
    site = df["locations"][0]["physicalLocation"]
    assert site["artifactLocation"]["uri"] == \
        "tests/data/analysis-src/sample-kernel/proc.c"
    assert site["region"]["startLine"] == 152
    assert df["locations"][0]["logicalLocations"][0]["name"] == "fork"
    # the error path is the code flow: the failed allocation, then the verdict in fork
    (flow,) = df["codeFlows"]
    steps = flow["threadFlows"][0]["locations"]
    assert steps[0]["location"]["message"]["text"] == "page_alloc failed in fork"
    assert "fork freed it twice" in steps[-1]["location"]["message"]["text"]
    # the fault, the allocation, both frees: Valgrind style, innermost frame first
    assert [s["message"]["text"] for s in df["stacks"]] == [
        "stack of the injected fault", "stack of the allocation", "stack of the first free",
        "stack of the offending call"]
    assert [f["location"]["logicalLocations"][0]["name"] for f in df["stacks"][1]["frames"]] \
        == ["obj_alloc", "fork", "sys_fork"]
    assert all("/" not in r["id"] and r["helpUri"].startswith("file://")
               for r in log["runs"][0]["tool"]["driver"]["rules"])
    assert log["runs"][0]["tool"]["driver"]["informationUri"].endswith("docs/analysis.md")
    leak = next(r for r in results if r["ruleId"] == "faultline-leak")
    assert leak["suppressions"][0]["kind"] == "external"


def test_junit_has_one_testcase_per_scenario_and_fault_mode(audit):
    root = ET.fromstring(junit.junit_xml(audit))
    cases = root.findall(".//testcase")
    names = sorted(c.get("name") for c in cases)
    assert names == ["all fault=once", "blk fault=once", "boot fault=once", "fork fault=once",
                     "proc fault=once", "proc fault=persist"]
    assert root.get("tests") == "6"
    failed = sorted(c.get("name") for c in cases if c.find("failure") is not None)
    # the leak's cause is suppressed with all its symptoms; blk has only a warning
    assert failed == ["boot fault=once", "fork fault=once"]
    assert root.get("failures") == "2"
    blk = next(c for c in cases if c.get("name") == "blk fault=once")
    assert "warning (does not fail)" in blk.find("system-out").text
    boot = next(c for c in cases if c.get("name") == "boot fault=once")
    assert "expected panic in kinit" in boot.find("system-out").text
    assert "qemu exited before hello" in boot.find("system-out").text
    fork = next(c for c in cases if c.get("name") == "fork fault=once")
    assert "double-free" in fork.find("failure").get("type")
    # every failing finding is named in the failure message, not only the first few
    for c in cases:
        el = c.find("failure")
        for f in audit.failing():
            if any((o.run.scenario, o.run.fault_mode) == (c.get("name").split()[0],
                   c.get("name").split("=")[1]) for o in f.occurrences):
                assert f.title in el.get("message"), (c.get("name"), f.title)


def test_junit_passes_a_clean_sweep_and_reports_infra_as_error(tmp_path):
    with Database(clean_db(tmp_path / "c.db")) as db:
        root = ET.fromstring(junit.junit_xml(analyze(db)))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("1", "0", "0")


def test_junit_stays_well_formed_with_control_characters_from_the_guest(audit):
    audit.findings[0].minimal.message = "bad\x01byte\x1b[31m"
    audit.findings[0].title = "leak \x07 title"
    ET.fromstring(junit.junit_xml(audit))


def test_json_lists_findings_suppressions_and_expected_panics(audit):
    data = json.loads(json_report.dumps(json_report.audit_dict(audit)))
    assert data["format"] == "faultline-findings"
    assert data["totals"]["suppressed"] == 1
    assert data["suppressions"][0] == {"entry": "leak:proc_create", "source":
                                       "<suppressions>", "line": 1, "findings": 1,
                                       "occurrences": 10}
    assert data["expected_panics"][0]["function"] == "kinit"
    assert not any(f["class"] == "panic" and f["function"] == "kinit"
                   for f in data["findings"])
    df = next(f for f in data["findings"] if f["class"] == "double-free")
    assert [fr["function"] for fr in df["stacks"]["bad"]] == ["obj_free", "fork", "sys_fork"]
    assert (df["function"], df["location"]["function"]) == ("fork", "fork")
    assert df["location"]["file"] == "tests/data/analysis-src/sample-kernel/proc.c"
    assert [(s["class"], s["function"]) for s in df["symptoms"]] == [
        ("double-free", "fork"), ("unwind-order", "fork")]
    assert df["attribution"]["failed_call"] == "page_alloc"
    assert df["error_path"][-1]["function"] == "fork"
    assert data["exit_code"] == 1


def test_a_class_this_analysis_does_not_know_still_reports_with_its_own_rule(tmp_path):
    from test_analysis_fixtures import DbBuilder, RunWriter
    b = DbBuilder(tmp_path / "u.db")
    build = b.build("u1")
    w = RunWriter(b, build, None, "vm", 2)
    w.fault("page", ("vm_unmap", 2), [("vm_unmap", 2), ("kinit", 8)])
    w.finding("frobnicate", "vm_unmap", "something new", [], bad=[("vm_unmap", 5)])
    w.finding("accounting", None, "the kernel counts +1 page live; records say +0", [],
              severity="warning")
    w.write("handled")
    with Database(b.close()) as db:
        audit = analyze(db)
    titles = sorted(f.title for f in audit.findings)
    assert titles == ["accounting mismatch", "frobnicate in vm_unmap"]
    assert audit.exit_code() == 1 and len(audit.warnings) == 1
    log = sarif.sarif_log(audit)
    check_sarif(log)
    assert {r["ruleId"] for r in log["runs"][0]["results"]} == \
        {"faultline-frobnicate", "faultline-accounting"}


def test_json_names_the_injected_fault_of_the_minimal_run(audit):
    leak = next(f for f in json_report.audit_dict(audit)["suppressed"] if f["class"] == "leak")
    assert leak["fault"]["function"] == "map_trapframe"
    assert leak["fault"]["class"] == "page"
    assert leak["fault"]["file"] == "tests/data/analysis-src/sample-kernel/proc.c"
