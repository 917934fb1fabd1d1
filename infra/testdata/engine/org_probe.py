"""Runs the organization state machine's synthesized definition on moto's
Step Functions engine, in process (infra/orgstatemachine_test.go,
TestOrgStateMachineRunsOnMoto), with moto_engine.py's stand-ins. Its Lambda
states are Pass states standing in for the functions (org-plan, org-sync
listing the members given, org-member starting each); the scan state
machine is a stand-in that fails the scan of "int-bad". Prints the
execution's status, output and the child executions as JSON. Run as

    .venv/bin/python org_probe.py DEFINITION.json MEMBER...
"""

import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import moto_engine  # noqa: E402,F401  (the stand-ins)
import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

ACCOUNT_SCAN = {"StartAt": "check", "States": {
    "check": {"Type": "Choice", "Choices": [
        {"Variable": "$.scan.integration_id", "StringEquals": "int-bad", "Next": "scan-failed"}], "Default": "scan-succeeded"},
    "scan-failed": {"Type": "Fail", "Error": "States.TaskFailed", "Cause": "the prowler step failed"},
    "scan-succeeded": {"Type": "Pass", "Result": {"final": {"status": "succeeded"}}, "End": True}}}


def stand_ins(states, members):
    for name, st in states.items():
        if st.get("Type") == "Map":
            stand_ins(st["ItemProcessor"]["States"], members)
        if st.get("Type") != "Task" or ":lambda:" not in st.get("Resource", ""):
            continue
        new = {"Type": "Pass", **{k: st[k] for k in ("Next", "End", "ResultPath") if k in st}}
        if name == "org-plan":
            new["Result"] = {"scan_id": "org-1", "integration_id": "int-org", "folder_id": "f1"}
        elif name == "org-sync":
            new["Result"] = {"integration_id": "int-org", "folder_id": "f1", "scan": members}
        elif name == "org-member":
            scan_id = "States.Format('{}-{}', $.org_scan_id, $.integration_id)"
            new["Parameters"] = {"integration_id.$": "$.integration_id", "status": "started", "scan_id.$": scan_id,
                                 "scan": {"scan_id.$": scan_id, "integration_id.$": "$.integration_id", "trigger": "organization"}}
        elif name == "org-summary":
            new["Parameters"] = {"members.$": "$.members"}
        states[name] = new


@mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
def run(definition, members):
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    role = "arn:aws:iam::123456789012:role/citadel-states"
    account = sfn.create_state_machine(name="ScanStateMachine", definition=json.dumps(ACCOUNT_SCAN), roleArn=role)["stateMachineArn"]
    org = json.loads(definition)
    stand_ins(org["States"], members)
    text = re.sub(r'"StateMachineArn": "ScanStateMachine[0-9A-F]{8}"', '"StateMachineArn": "%s"' % account, json.dumps(org))
    sm = sfn.create_state_machine(name="OrgScanStateMachine", definition=text, roleArn=role)["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=sm, name="org-1",
                              input=json.dumps({"scan": {"scan_id": "org-1", "integration_id": "int-org", "trigger": "api"}}))["executionArn"]
    # moto's engine runs the execution in threads of the server: on a loaded
    # machine it takes minutes (a CI run beside an engine test: over 60 s).
    deadline = time.time() + 360
    while True:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING" or time.time() > deadline:
            break
        time.sleep(0.2)
    children = []
    for e in sfn.list_executions(stateMachineArn=account)["executions"]:
        c = sfn.describe_execution(executionArn=e["executionArn"])
        children.append({"name": e["name"], "status": c["status"], "input": json.loads(c["input"])})
    return {"status": d["status"], "output": json.loads(d.get("output") or "null"), "children": children}


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        print(json.dumps(run(f.read(), sys.argv[2:])))
