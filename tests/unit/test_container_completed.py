"""state: completed, the one-shot container (migrations, init jobs): the pure plan, no daemon."""
from __future__ import annotations

from ansible_collections.berth.engine.plugins.module_utils.container_plan import desired_container, plan_container
from tests.unit.test_container_plan import IMAGE, container_from, params


def one_shot(**overrides):
    return desired_container(params(**dict({"state": "completed", "command": ["migrate"]}, **overrides)))


def exited(desired, code, finished="2026-12-01T10:00:00.5Z"):
    container = container_from(desired, running=False)
    container["State"] = {"Status": "exited", "Running": False, "ExitCode": code, "FinishedAt": finished}
    return container


def test_a_missing_one_shot_is_created_run_and_waited_for():
    plan = plan_container(one_shot(), None, IMAGE)
    assert plan.action_names() == ["create", "start", "wait_exit"]
    assert plan.after["state"] == "exited (0)"


def test_one_that_exited_zero_with_the_same_settings_is_done():
    desired = one_shot()
    plan = plan_container(desired, exited(desired, 0), IMAGE)
    assert plan.action_names() == [] and not plan.changed


def test_one_that_failed_or_never_ran_is_run_again():
    desired = one_shot()
    assert plan_container(desired, exited(desired, 3), IMAGE).action_names() == ["start", "wait_exit"]
    never = exited(desired, 0, finished="0001-01-01T00:00:00Z")
    assert plan_container(desired, never, IMAGE).action_names() == ["start", "wait_exit"]


def test_one_still_running_is_only_waited_for_which_is_no_change():
    desired = one_shot()
    running = container_from(desired, running=True)
    plan = plan_container(desired, running, IMAGE)
    assert plan.action_names() == ["wait_exit"] and not plan.changed


def test_changed_settings_recreate_and_run_it_again():
    old = exited(one_shot(), 0)
    plan = plan_container(one_shot(command=["migrate", "--all"]), old, IMAGE)
    assert plan.action_names() == ["recreate", "wait_exit"] and plan.actions[0]["start"] is True
