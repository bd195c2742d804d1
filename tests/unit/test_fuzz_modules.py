"""No traceback for any input (issue 8.4): hostile parameters for every module, at the pure level.

Each module's argument spec feeds hypothesis (tests/unit/hostile.py); the parameters then go where
the module sends them before it talks to anything: the checks of common.validate_params (what
engine_module runs, plus AnsibleModule's own validation) and the module's pure desired-state
function. Either the input is accepted, or a ValueError says which option is wrong, in words a
user can act on: never another exception, never a raw Python message.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import os

import pytest
from hypothesis import HealthCheck, given, settings

from ansible_collections.berth.engine.plugins.module_utils import prereqs as pr
from ansible_collections.berth.engine.plugins.module_utils.common import CONNECTION_ARGS, validate_params
from ansible_collections.berth.engine.plugins.module_utils.container_options import (
    ARGUMENT_SPEC as CONTAINER_SPEC,
)
from ansible_collections.berth.engine.plugins.module_utils.container_plan import (
    create_body,
    desired_container,
    update_body,
)
from ansible_collections.berth.engine.plugins.module_utils.image_plan import build_params, desired_image
from ansible_collections.berth.engine.plugins.module_utils.network_plan import (
    ARGUMENT_SPEC as NETWORK_SPEC,
)
from ansible_collections.berth.engine.plugins.module_utils.network_plan import desired_network, network_body
from ansible_collections.berth.engine.plugins.module_utils.service_plan import ARGUMENT_SPEC as SERVICE_SPEC
from ansible_collections.berth.engine.plugins.module_utils.volume_plan import (
    ARGUMENT_SPEC as VOLUME_SPEC,
)
from ansible_collections.berth.engine.plugins.module_utils.volume_plan import desired_volume, volume_body
from tests.unit.hostile import HEALTHY_FACTS, option_names, params_targeting, targets

MODULES_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "modules")
# Examples per option of the modules with a pipeline below (see examples_for); all in well under 60 s.
EXAMPLES = int(os.environ.get("BERTH_FUZZ_EXAMPLES", "15"))

# What Python says when a parser trusted its input: never good enough for a user.
RAW_MESSAGES = ("invalid literal for", "could not convert", "object is not", "not subscriptable",
                "unsupported operand", "embedded null", "cannot convert", "has no attribute", "NoneType",
                "argument must be", "not supported between", "object of type", "too large to convert",
                "unhashable", "expected string", "can't multiply")


def _module(name):
    return importlib.import_module("ansible_collections.berth.engine.plugins.modules." + name)


def module_spec(name):
    """The module's argument spec: its ARGUMENT_SPEC, or the dict main() passes to AnsibleModule."""
    module = _module(name)
    spec = getattr(module, "ARGUMENT_SPEC", None)
    if spec is None:
        tree = ast.parse(inspect.getsource(module.main))
        call = next(node for node in ast.walk(tree) if isinstance(node, ast.Call)
                    and any(k.arg == "argument_spec" for k in node.keywords))
        expression = next(k.value for k in call.keywords if k.arg == "argument_spec")
        spec = eval(compile(ast.Expression(expression), name, "eval"), vars(module))  # noqa: S307
    if "engine_module" in inspect.getsource(module.main):
        spec = dict(CONNECTION_ARGS, **spec)
    return spec


# --- what each module does with its validated parameters before any engine call -----------------------

def container_pipeline(params):
    desired = desired_container(params)
    create_body(desired)
    update_body(desired)


def network_pipeline(params):
    network_body(desired_network(params))


def volume_pipeline(params):
    volume_body(desired_volume(params))


def image_pipeline(params):
    desired = desired_image(params)
    if desired["build"]:
        build_params(desired, "Dockerfile")


def _stack():
    # Imported when used: the stack imports the engine side of every resource.
    return importlib.import_module("ansible_collections.berth.engine.plugins.module_utils.stack")


def stack_pipeline(params):
    stack = _stack()
    try:  # validates every entry with its resource's spec, then runs each resource's desire()
        stack.Stack(None, params, True).declared()
    except stack.ItemError as err:  # the module turns it into a failure with this message
        raise ValueError(str(err)) from None


def swarm_stack_pipeline(params):
    swarm_stack = importlib.import_module("ansible_collections.berth.engine.plugins.module_utils.swarm_stack")
    try:  # validates every entry with validate_params and its resource's spec, then each resource's desire()
        swarm_stack.SwarmStack(None, params, True).resources()
    except swarm_stack.ItemError as err:  # the module turns it into a failure with this message
        raise ValueError(str(err)) from None


def daemon_config_pipeline(params):
    resource = importlib.import_module("ansible_collections.berth.engine.plugins.module_utils.daemon_config_resource")
    resource.DaemonJson(params, check_mode=True)  # its desire(), before the file is read


def engine_info_pipeline(params):
    normalise = _module("engine_info").normalise_filters
    for kind in ("containers", "images", "networks", "volumes"):
        normalise(params[kind + "_filters"], kind + "_filters")


def host_prereqs_pipeline(params):
    desired = pr.desire(params)
    pr.required_kernel_options("unified", desired["storage_driver"], desired["extra_kernel_options"])
    pr.evaluate(HEALTHY_FACTS, want_cgroup_v2=desired["cgroup_v2"], storage_driver=desired["storage_driver"],
                sysctls=desired["sysctls"], kernel_modules=desired["kernel_modules"])


PIPELINES = {
    "container": (container_pipeline, {"name": "web", "image": "berth-test/busybox"}),
    "network": (network_pipeline, {"name": "net"}),
    "volume": (volume_pipeline, {"name": "vol"}),
    "image": (image_pipeline, {"name": "berth-test/busybox"}),
    "stack": (stack_pipeline, {"name": "shop"}),
    "swarm_stack": (swarm_stack_pipeline, {"name": "shop"}),
    "daemon_config": (daemon_config_pipeline, {}),
    "engine_info": (engine_info_pipeline, {}),
    "host_prereqs": (host_prereqs_pipeline, {}),
}


def strategies(name, spec):
    """(what, strategy) pairs: one per option of the spec (suboptions included), aimed at it."""
    base = PIPELINES.get(name, (None, {}))[1]
    for path, option in targets(spec):
        yield ".".join(path), params_targeting(spec, base, path, option)
    if name == "stack":
        # A stack's items are validated with the single-resource specs: aim at those options too.
        items = {"containers": (CONTAINER_SPEC, {"name": "web", "image": "berth-test/busybox"}),
                 "networks": (NETWORK_SPEC, {"name": "net"}), "volumes": (VOLUME_SPEC, {"name": "vol"})}
        for kind, (item_spec, item_base) in items.items():
            for path, option in targets(item_spec):
                item = params_targeting(item_spec, item_base, path, option)
                yield "%s[].%s" % (kind, ".".join(path)), item.map(lambda entry, kind=kind: {
                    "name": "shop", kind: [entry]})
    if name == "swarm_stack":
        # The services entries have no suboptions in the module's spec: aim at the service module's options.
        for path, option in targets(SERVICE_SPEC):
            item = params_targeting(SERVICE_SPEC, {"name": "web", "image": "berth-test/busybox"}, path, option)
            yield "services[].%s" % ".".join(path), item.map(lambda entry: {"name": "shop", "services": [entry]})


def assert_clean(err, spec, strict=True):
    """A message a user can act on: names an option; `strict` also rules out raw Python messages.

    Not strict for AnsibleModule's own validation messages ("argument 'tls' is of type NoneType ..."):
    they name the option, in ansible's words.
    """
    message = str(err)
    assert message.strip(), "an empty message for %r" % (err,)
    if strict:
        assert "Traceback" not in message
        assert not any(raw in message for raw in RAW_MESSAGES), "a raw Python message: %s" % message
    assert any(option in message for option in option_names(spec)), "names no option: %s" % message


MODULES = sorted(f[:-3] for f in os.listdir(MODULES_DIR) if f.endswith(".py") and not f.startswith("_"))


def test_the_nine_modules_have_pipelines():
    assert set(PIPELINES) <= set(MODULES)


def examples_for(name, what):
    """Fewer for the modules only spec-checked here and for the stack's items (the modules cover those)."""
    if name not in PIPELINES or "[]." in what:
        return max(3, EXAMPLES // 4)
    return EXAMPLES


def check(spec, named, pipeline, params):
    try:
        validated = validate_params(spec, params)
    except ValueError as err:
        assert_clean(err, named, strict=False)
        return
    try:
        pipeline(validated)
    except ValueError as err:
        assert_clean(err, named)


@pytest.mark.parametrize("name", MODULES)
def test_hostile_parameters_fail_cleanly_or_pass(name):
    """Every option in turn gets hostile values; modules without a pipeline here get their spec's checks."""
    spec = module_spec(name)
    pipeline = PIPELINES.get(name, (lambda params: None, {}))[0]
    named = {"stack": {**spec, **CONTAINER_SPEC, **NETWORK_SPEC, **VOLUME_SPEC},
             "swarm_stack": dict(spec, service_entry={"options": SERVICE_SPEC})}.get(name, spec)
    for what, params in strategies(name, spec):
        @settings(max_examples=examples_for(name, what), deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(params)
        def run(params):
            check(spec, named, pipeline, params)

        try:
            run()
        except Exception as err:
            raise AssertionError("%s, option %s: %s" % (name, what, err)) from err
