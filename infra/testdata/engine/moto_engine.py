"""moto's server for the engine test (infra/engine_test.go), with stand-ins
for the parts of moto 5.2.5 a deployed scan needs and moto lacks. Each patch
names its gap; nothing else of moto is changed. Run as

    .venv/bin/python moto_engine.py -H 127.0.0.1 -p PORT

with CITADEL_ENGINE_RUN (JSON: the container engine's command, e.g.
["podman", "--runtime", "runc"]) and CITADEL_ENGINE_PROWLER_IMAGE (the image
`make image` built) in the environment, plus moto's own Docker settings for
Lambda (DOCKER_HOST, MOTO_DOCKER_LAMBDA_IMAGE, MOTO_DOCKER_NETWORK_MODE).
"""

import json
import os
import subprocess
import sys
import threading
import time

from moto import settings
from moto.ecs.models import EC2ContainerServiceBackend
from moto.events.models import EventBus
from moto.stepfunctions.models import StateMachine
from moto.stepfunctions.parser.models import stepfunctions_parser_backends
from moto.stepfunctions.utils import cfn_to_api_tags
from moto.moto_api import state_manager
from moto.server import main
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.state.fail import state_fail
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.api import (
    HistoryEventType,
    TaskFailedEventDetails,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs import (
    StateTaskServiceEcs,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)


def _recase(value, first):
    """value with every key's first letter passed through first()."""
    if isinstance(value, dict):
        return {first(k[:1]) + k[1:]: _recase(v, first) for k, v in value.items()}
    if isinstance(value, list):
        return [_recase(v, first) for v in value]
    return value


# Gap 1: Step Functions' ecs:runTask integration hands the state's PascalCase
# parameters to boto3 unmapped (boto3 wants camelCase), and reads boto3's
# camelCase answer as PascalCase. AWS maps both ways.
def _normalise_parameters(self, parameters, boto_service_name=None, service_action_name=None):
    fixed = _recase(parameters, str.lower)
    parameters.clear()
    parameters.update(fixed)


def _normalise_response(self, response, boto_service_name=None, service_action_name=None):
    fixed = _recase(response, str.upper)
    response.clear()
    response.update(fixed)


StateTaskServiceEcs._normalise_parameters = _normalise_parameters
StateTaskServiceEcs._normalise_response = _normalise_response


# Gap 2: moto's runTask.sync ends the state however the task's container
# exited. AWS fails the state (States.TaskFailed, the task as the cause) when
# an essential container exits non-zero.
_build_sync_resolver = StateTaskServiceEcs._build_sync_resolver


def _failing_sync_resolver(self, env, resource_runtime_part, normalised_parameters, state_credentials):
    resolve = _build_sync_resolver(self, env, resource_runtime_part, normalised_parameters, state_credentials)

    def resolver():
        task = resolve()
        if task is None:
            return None
        codes = [c.get("ExitCode") for c in task.get("Containers", [])]
        if any(code not in (0, None) for code in codes):
            raise FailureEventException(
                failure_event=FailureEvent(
                    env=env,
                    error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=EventDetails(
                        taskFailedEventDetails=TaskFailedEventDetails(
                            error=StatesErrorNameType.StatesTaskFailed.to_name(),
                            cause=json.dumps(task, default=str),
                            resource=self._get_sfn_resource(),
                            resourceType=self._get_sfn_resource_type(),
                        )
                    ),
                )
            )
        return task

    return resolver


StateTaskServiceEcs._build_sync_resolver = _failing_sync_resolver


# Gap 3: moto sums container-level memory to place a task; a Fargate task
# definition may set memory on the task only (ours does), and moto then fails
# adding None.
_requirements = EC2ContainerServiceBackend._calculate_task_resource_requirements


def _task_requirements(task_definition):
    added = []
    for c in task_definition.container_definitions:
        if not any(k in c for k in ("memory", "Memory", "memoryReservation", "MemoryReservation")):
            c["memory"] = 0
            added.append(c)
    try:
        return _requirements(task_definition)
    finally:
        for c in added:
            del c["memory"]


EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(_task_requirements)


# Gap 4: moto's ECS tasks never run. Tasks stay RUNNING (the "ecs::task"
# state manager is set to manual below) while an agent runs the task's one
# container with the local engine, from the image `make image` built (no
# registry serves the asset's ECR image here), with the task definition's
# and the overrides' environment and moto as the AWS endpoint; when the
# container exits, its exit code is recorded and the task stopped, as ECS
# does. A task stopped through StopTask first kills its container.
_run_task = EC2ContainerServiceBackend.run_task
ENGINE = json.loads(os.environ.get("CITADEL_ENGINE_RUN", '["podman"]'))
PROWLER_IMAGE = os.environ.get("CITADEL_ENGINE_PROWLER_IMAGE", "citadel-prowler:latest")
LOGS = os.environ.get("CITADEL_ENGINE_LOGS", "/tmp")


def _run_task_and_agent(self, *args, **kwargs):
    tasks = _run_task(self, *args, **kwargs)
    for task in tasks:
        threading.Thread(target=_agent, args=(task,), daemon=True).start()
    return tasks


def _agent(task):
    definition = task._backend.describe_task_definition(task.task_definition_arn)
    container = definition.container_definitions[0]
    env = {e["name"]: e["value"] for e in container.get("environment") or []}
    for o in task.overrides.get("containerOverrides", []):
        if o.get("name") == container.get("name"):
            env.update({e["name"]: e["value"] for e in o.get("environment") or []})
    # The test's own knob, no ECS feature: task-env.json in the log folder
    # adds variables to the next tasks (a failing task is one whose
    # Prowler executable is pointed at nothing).
    knob = os.path.join(LOGS, "task-env.json")
    if os.path.exists(knob):
        env.update(json.load(open(knob)))
    endpoint = "http://127.0.0.1:" + os.environ["MOTO_PORT"]
    env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": task.region_name,
                "AWS_ACCESS_KEY_ID": "task-role", "AWS_SECRET_ACCESS_KEY": "task-role"})
    name = "citadel-task-" + task.id
    cmd = ENGINE + ["run", "--rm", "--name", name, "--network", "host"]
    for k, v in sorted(env.items()):
        cmd += ["-e", f"{k}={v}"]
    cmd.append(PROWLER_IMAGE)
    log = open(os.path.join(LOGS, name + ".log"), "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    c = task.containers[0]
    c.last_status = "RUNNING"
    while proc.poll() is None:
        if task.desired_status == "STOPPED":
            subprocess.run(ENGINE + ["kill", name], capture_output=True)
        time.sleep(0.5)
    c.exitCode = proc.returncode
    c.last_status = "STOPPED"
    if task.desired_status != "STOPPED":
        task.stopped_reason = "Essential container in task exited"
        task.desired_status = "STOPPED"
    task.last_status = "STOPPED"


EC2ContainerServiceBackend.run_task = _run_task_and_agent

# Gap 5: moto's CloudFormation resolves a Ref to an AWS::Events::EventBus to
# the model object instead of the bus's name (a function's environment then
# holds it, and every Lambda answer that lists it fails to serialize).
EventBus.physical_resource_id = property(lambda self: self.name)

# Gap 7: with execute_state_machine on, moto's Step Functions API serves
# its executing backend, but its CloudFormation still creates state machines
# in the other one: the stack's state machine would not exist for
# StartExecution.
def _state_machine_from_cloudformation(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    p = cloudformation_json["Properties"]
    backend = stepfunctions_parser_backends[account_id][region_name]
    tags = cfn_to_api_tags(p.get("Tags", []))
    return backend.create_state_machine(p.get("StateMachineName", resource_name), p.get("DefinitionString", ""),
                                        p.get("RoleArn", ""), tags=tags)


StateMachine.create_from_cloudformation_json = classmethod(_state_machine_from_cloudformation)

# Gap 8: moto's Fail state refuses an error name that begins with "States."
# (it turns the execution's error into States.Runtime); AWS fails the
# execution with the name ErrorPath selects, such as a caught
# States.TaskFailed.
class _FailErrorName(CustomErrorName):
    def __init__(self, error_name):
        ErrorName.__init__(self, error_name=error_name)


state_fail.CustomErrorName = _FailErrorName

# Gap 9: Step Functions' states:startExecution integration (.sync, .sync:2:
# the organization scan's child executions) hands the state's PascalCase
# parameters to boto3, which names them stateMachineArn, name and input, and
# reads boto3's camelCase answer (executionArn) as PascalCase: both mapped.
_orig_sfn_normalise = StateTaskServiceSfn._normalise_parameters
_orig_sfn_eval = StateTaskServiceSfn._eval_service_task


def _sfn_normalise(self, parameters, boto_service_name=None, service_action_name=None):
    _orig_sfn_normalise(self, parameters, boto_service_name, service_action_name)
    if service_action_name is None and self._get_boto_service_action() == "start_execution":
        for key in [k for k in parameters if k[:1].isupper()]:
            parameters[key[:1].lower() + key[1:]] = parameters.pop(key)


def _sfn_eval(self, env, resource_runtime_part, normalised_parameters, state_credentials):
    _orig_sfn_eval(self, env, resource_runtime_part, normalised_parameters, state_credentials)
    if isinstance(env.stack[-1], dict):
        env.stack[-1] = _recase(env.stack[-1], str.upper)


StateTaskServiceSfn._normalise_parameters = _sfn_normalise
StateTaskServiceSfn._eval_service_task = _sfn_eval

# Gap 10: a stopped execution ends ABORTED on AWS, and runs no Catch
# (StopExecution aborts it). moto's engine turns the stop into a
# MapIterationAborted failure of a Map's items, which the Map reports as its
# own error and which then sets the program's state to an error over the
# stop: the execution ends FAILED. Once stopped, a program stays stopped.
from moto.stepfunctions.parser.asl.eval.environment import Environment  # noqa: E402
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped  # noqa: E402

_orig_set_error = Environment.set_error


def _set_error_unless_stopped(self, error):
    if isinstance(self.program_state(), ProgramStopped):
        return
    _orig_set_error(self, error)


Environment.set_error = _set_error_unless_stopped

# Gap 6: moto points a Lambda container at the server as
# http://host.docker.internal (or a guess from inside a container); with the
# host's network (MOTO_DOCKER_NETWORK_MODE=host) the server is on loopback.
settings.moto_server_host = lambda: "http://127.0.0.1"

if __name__ == "__main__":
    state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 10**9})  # never by itself
    main(sys.argv[1:])
