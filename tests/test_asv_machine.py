"""asv's machine name comes from the hardware (scripts/asv-machine), and every asv run uses it."""
import json
import os
import re
import subprocess

from gilcore import provenance

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_machine_is_registered_with_its_hardware_under_the_name_derived_from_it(tmp_path):
    done = subprocess.run([os.path.join(ROOT, "scripts", "asv-machine")], capture_output=True, text=True,
                          env={**os.environ, "HOME": str(tmp_path)}, timeout=60)
    assert done.returncode == 0, done.stderr
    name = done.stdout.strip()
    assert name == provenance.this_machine()["name"] and name != "vm"
    saved = json.loads((tmp_path / ".asv-machine.json").read_text())[name]
    # what asv writes into each result file's params: CPU, cores and memory, naming the same machine
    assert saved["cpu"] and saved["num_cpu"] and saved["ram"]
    assert provenance.machine_from_asv(saved)["name"] == name


def test_every_asv_run_of_the_run_scripts_names_the_machine():
    for script in ("run-benchmarks", "scripts/run-cross-version"):
        with open(os.path.join(ROOT, script)) as handle:
            text = handle.read()
        assert "asv_machine=$(scripts/asv-machine)" in text, script
        runs = re.findall(r'"\$asv" run [^\n]*', text)
        assert runs and all('--machine "$asv_machine"' in run for run in runs), script
        assert '"$asv" machine' not in text, script
