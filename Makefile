# Entry points; tests/run-all.sh does the real work (and its own set-up).
.PHONY: venv test site lint unit integration molecule bench

venv:
	bash scripts/ensure-venv.sh

test:
	bash tests/run-all.sh

# site.yml turns this machine (inventories/local) into a container host.
site: venv
	.venv/bin/ansible-playbook site.yml

lint:
	BERTH_TEST_STAGES=lint bash tests/run-all.sh

unit:
	BERTH_TEST_STAGES=unit bash tests/run-all.sh

integration:
	BERTH_TEST_STAGES=integration bash tests/run-all.sh

molecule:
	BERTH_TEST_STAGES=molecule bash tests/run-all.sh

bench: venv
	@if [ -f bench/run.sh ]; then bash bench/run.sh; else echo "bench: no bench/run.sh yet"; fi
