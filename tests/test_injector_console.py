"""What the injector learns from a kernel's console, through the tracer's record reader: a
stand-in QEMU (a script speaking the protocol on the console's fd) sends the odd bytes a
real kernel rarely does."""
import sqlite3
import subprocess
import zlib

import harness

FAKE_QEMU = '''#!/usr/bin/python3
import os, sys, time
if "-version" in sys.argv:
    print("QEMU emulator version 0.0")
    sys.exit(0)
ANSWERS = {answers!r}
os.write(3, b"\\x1b[0mboot noise, no record\\nhel")   # the hello split across two reads
time.sleep(0.2)
os.write(3, b"lo faultline 1 {build_id}\\n")
buf = b""
while True:
    data = os.read(3, 4096)
    if not data:
        break
    buf += data
    while b"\\n" in buf:
        line, buf = buf.split(b"\\n", 1)
        word = line.split(b" ")[0].decode()
        if word == "quit":
            sys.exit(0)
        os.write(3, ANSWERS.get(word, "err %s unknown-command\\n" % word).encode())
'''


def run_on_fake(build_dir, kernel_elf, tmp_path, answers):
    """`injector run` of vm N=1 on a QEMU that answers each command word as answers says."""
    fake = tmp_path / "fake-qemu"
    fake.write_text(FAKE_QEMU.format(answers=answers,
                                     build_id=harness.elf_build_id(kernel_elf)))
    fake.chmod(0o755)
    db = tmp_path / "x.db"
    p = subprocess.run([str(build_dir / "injector"), "run", "--kernel", str(kernel_elf),
                        "--db", str(db), "--scenario", "vm", "--fail", "1", "--qemu", str(fake),
                        "--quiet"], capture_output=True, text=True, timeout=60)
    return p, db


def test_a_refused_command_fails_the_run_quoting_the_kernels_answer(build_dir, kernel_elf,
                                                                    tmp_path):
    p, _ = run_on_fake(build_dir, kernel_elf, tmp_path, {"arm": "err arm need-reset\n"})
    assert p.returncode == 2, p.stdout + p.stderr
    assert "the kernel refused the command: err arm need-reset" in p.stderr


def test_bytes_after_the_end_record_in_the_same_read_stay_in_the_raw_log_only(
        build_dir, kernel_elf, tmp_path):
    run = "".join(line + "\n" for line in [
        harness.record("ok", "run"), harness.record("run", "vm"),
        harness.record("ckpt", "baseline", 0, 0, 0, 0), harness.record("ckpt", "end", 0, 0, 0, 0),
        harness.record("result", "vm", 0), harness.record("end", 0, 0, 0),
        harness.record("ok", "quit"), "stray bytes \x01 after the run"])
    p, db = run_on_fake(build_dir, kernel_elf, tmp_path, {"arm": "ok arm\n", "run": run})
    con = sqlite3.connect(db)
    try:
        outcome, nmalformed, log = con.execute(
            "SELECT outcome, nmalformed, raw_log FROM runs").fetchone()
        kinds = [k for (k,) in con.execute("SELECT kind FROM events ORDER BY seq")]
    finally:
        con.close()
    assert (outcome, nmalformed) == ("completed", 0), p.stdout + p.stderr
    assert kinds == ["hello", "ok", "ok", "run", "ckpt", "ckpt", "result", "end"]
    with open(log, "rb") as f:
        assert f.read().endswith(b"end 0 0 0\nok quit\nstray bytes \x01 after the run\n")


def test_a_clean_run_too_long_to_hold_keeps_its_whole_stream_compressed_and_no_file(
        build_dir, kernel_elf, tmp_path):
    # past 4 MiB the injector writes a run's stream out as it comes; a run stored without
    # its events then keeps it compressed in its row, and the file goes
    filler = harness.record("log", "x" * 200) + "\n"
    run = "".join([harness.record("ok", "run") + "\n", harness.record("run", "vm") + "\n",
                   filler * (5 * 2 ** 20 // len(filler)),
                   "".join(line + "\n" for line in [
                       harness.record("ckpt", "baseline", 0, 0, 0, 0),
                       harness.record("ckpt", "end", 0, 0, 0, 0),
                       harness.record("result", "vm", 0), harness.record("end", 0, 0, 0)])])
    fake = tmp_path / "fake-qemu"
    fake.write_text(FAKE_QEMU.format(answers={"arm": "ok arm\n", "run": run},
                                     build_id=harness.elf_build_id(kernel_elf)))
    fake.chmod(0o755)
    db = tmp_path / "x.db"
    p = subprocess.run([str(build_dir / "injector"), "sweep", "--kernel", str(kernel_elf),
                        "--db", str(db), "--scenario", "vm", "--qemu", str(fake), "--quiet",
                        "--keep-logs", "all", "--no-analysis", "-j", "1"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    con = sqlite3.connect(db)
    try:
        (n, log, blob), = con.execute("SELECT n, raw_log, raw_log_z FROM runs WHERE in_full = 0")
    finally:
        con.close()
    stream = zlib.decompress(blob)
    assert n == 1 and log is None and len(stream) > 5 * 2 ** 20
    assert stream.startswith(b"hello faultline 1 ") and stream.endswith(b"\nend 0 0 0\n")
    assert list((tmp_path / "x.db.logs").glob("*.log")) == []
