"""Runs the scan state machine's synthesized definition up to prowler on
moto's Step Functions engine, in process (infra/assetsyncmap_test.go,
TestAssetSyncFanOutRunsOnMoto), with moto_engine.py's stand-ins: plan and
asset-sync are Pass states (asset-sync answering with the fan-out's plan
of the regions given, or, with none, a sync's counts); each item of the
Map runs a stand-in state machine as its task (states:startExecution.sync),
which fails the item of "us-west-2" and otherwise answers the item's scope;
the apply is a Pass that keeps what it was given; prowler ends the run.
Prints the execution's status and output as JSON. Run as

    .venv/bin/python assetsync_probe.py DEFINITION.json [REGION...]
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import moto_engine  # noqa: E402,F401  (the stand-ins)
import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

ITEM = {"StartAt": "check", "States": {
    "check": {"Type": "Choice", "Choices": [
        {"Variable": "$.item.region", "StringEquals": "us-west-2", "Next": "item-failed"}], "Default": "item-done"},
    "item-failed": {"Type": "Fail", "Error": "ItemBroke", "Cause": "the region's collectors ran out of time"},
    "item-done": {"Type": "Pass", "Parameters": {
        "region.$": "$.item.region", "key.$": "States.Format('scans/scan-1/assets/{}.json', $.item.region)"}, "End": True}}}


def stand_ins(states, regions, item_sm):
    for name, st in states.items():
        if st.get("Type") == "Map":
            stand_ins(st["ItemProcessor"]["States"], regions, item_sm)
        if name == "prowler":
            states[name] = {"Type": "Succeed"}
            continue
        if st.get("Type") != "Task" or ":lambda:" not in st.get("Resource", ""):
            continue
        keep = {k: st[k] for k in ("Next", "End", "ResultPath", "Catch") if k in st}
        if name == "plan":
            states[name] = {"Type": "Pass", **keep, "Result": {"scan_id": "scan-1", "integration_id": "int-1", "regions": regions}}
        elif name == "asset-sync":
            items = [{"region": "global", "regions": regions}] + [{"region": r} for r in regions]
            result = {"assets_created": 3, "errors": []}
            if regions:
                result = {"errors": [], "fan_out": {"regions": regions, "items": items}}
            states[name] = {"Type": "Pass", **{k: v for k, v in keep.items() if k != "Catch"}, "Result": result}
        elif name == "asset-sync-region":
            states[name] = {"Type": "Task", **keep, "Resource": "arn:aws:states:::states:startExecution.sync",
                            "Parameters": {"StateMachineArn": item_sm, "Input.$": "$",
                                           "Name.$": "States.Format('item-{}', $.item.region)"},
                            # moto's .sync answer is DescribeExecution's as boto3 has it
                            # (output, camelCase; Step Functions' own is Output)
                            "ResultSelector": {"scope.$": "States.StringToJson($.output)"}}
        elif name == "asset-sync-apply":
            states[name] = {"Type": "Pass", **{k: v for k, v in keep.items() if k != "Catch"}, "Parameters": st["Parameters"]}


@mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
def run(definition, regions):
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    role = "arn:aws:iam::123456789012:role/citadel-states"
    item_sm = sfn.create_state_machine(name="ItemStandIn", definition=json.dumps(ITEM), roleArn=role)["stateMachineArn"]
    scan = json.loads(definition)
    stand_ins(scan["States"], regions, item_sm)
    sm = sfn.create_state_machine(name="ScanStateMachine", definition=json.dumps(scan), roleArn=role)["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=sm, name="scan-1",
                              input=json.dumps({"scan": {"scan_id": "scan-1", "integration_id": "int-1", "trigger": "api"}}))["executionArn"]
    deadline = time.time() + 360  # moto runs it in threads: minutes on a loaded machine
    while True:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING" or time.time() > deadline:
            break
        time.sleep(0.2)
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    failures = [e.get(k) for e in events for k in e if k.endswith("FailedEventDetails")]
    return {"status": d["status"], "error": d.get("error"), "cause": d.get("cause"),
            "output": json.loads(d.get("output") or "null"), "entered": entered, "failures": failures}


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        print(json.dumps(run(f.read(), sys.argv[2:])))
