#!/usr/bin/env python3
"""Script review with the official Huawei COC SDK against a running `cocpit serve`.

Five identities sign with their own keys: the author alice, the reviewer rita (user id u-rita),
the outsider oscar, the viewer vera. A script created with rita as reviewer waits
PENDING_APPROVE; it cannot run; neither its author nor an outsider may approve it; rita
approves (`accept_script`); it runs; rita may change only its risk level; a content change sends
it back to PENDING_APPROVE; rita rejects it; a rejected script cannot run either.

Usage: review_check.py BASE_URL PROJECT_ID AK:SK(alice) AK:SK(rita) AK:SK(oscar) AK:SK(vera).
Prints one line per check and ends with 'N passed, M failed'; exit 0 only when nothing failed.
"""
import logging
import sys

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions as hw_exc
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcoc.v1 import CocClient
from huaweicloudsdkcoc.v1 import model as coc

logging.getLogger("HuaweiCloud-SDK-CocClient").addHandler(logging.NullHandler())
base, project = sys.argv[1:3]
results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print("%s %s%s" % ("PASS" if ok else "FAIL", name, ": " + str(detail) if detail else ""), flush=True)
    return ok


def client(pair):
    ak, sk = pair.split(":", 1)
    cfg = HttpConfig.get_default_config()
    cfg.retry_times = 0
    return (CocClient.new_builder().with_http_config(cfg)
            .with_credentials(BasicCredentials(ak, sk, project))
            .with_endpoints([base]).build())


alice, rita, oscar, vera = (client(p) for p in sys.argv[3:7])


def refused(name, fn, status, words):
    try:
        fn()
        check(name, False, "accepted")
    except hw_exc.ClientRequestException as e:
        check(name, e.status_code == status and words in (e.error_msg or ""),
              "%s %s %s" % (e.status_code, e.error_code, e.error_msg))


def props(risk="LOW", reviewers=True):
    return coc.ScriptPropertiesModel(
        risk_level=risk, version="1.0",
        reviewers=[coc.ReviewerInfo(reviewer_name="rita", reviewer_id="u-rita")] if reviewers else None)


def status(uuid):
    return alice.get_script(coc.GetScriptRequest(script_uuid=uuid)).data.status


def execute(c, uuid, timeout):
    # Each call differs (its timeout): the server accepts a signed write once, and the SDK signs
    # equal requests in one second equally.
    return c.execute_script(coc.ExecuteScriptRequest(script_uuid=uuid, body=coc.ScriptExecuteModel(
        execute_param=coc.ScriptExecuteParam(resourceful=True, timeout=timeout, success_rate=100,
                                             execute_user="root"),
        execute_batches=[coc.ExecuteInstancesBatchInfo(
            batch_index=1, rotation_strategy="CONTINUE",
            target_instances=[coc.ExecuteResourceInstance(resource_id="demo-01")])]))).data


def decide(c, uuid, verdict, comment):
    return c.accept_script(coc.AcceptScriptRequest(
        script_uuid=uuid, body=coc.ApprovalJobScriptModel(status=verdict, comments=comment))).data


def modify(c, uuid, content, risk="LOW", reviewers=True):
    return c.update_script(coc.UpdateScriptRequest(script_uuid=uuid, body=coc.EditScriptModel(
        description="reviewed", content=content, properties=props(risk, reviewers))))


uuid = alice.create_script(coc.CreateScriptRequest(body=coc.AddScriptModel(
    name="reviewed_rollout", description="reviewed", type="SHELL", content="echo v1\n",
    properties=props()))).data
check("create.pending", status(uuid) == "PENDING_APPROVE", status(uuid))
d = alice.get_script(coc.GetScriptRequest(script_uuid=uuid)).data
check("create.author", d.creator == "alice", d.creator)
refused("execute.pending", lambda: execute(alice, uuid, 60), 400, "PENDING_APPROVE")
refused("approve.by_author", lambda: decide(alice, uuid, "APPROVED", "mine"), 403, "author")
refused("approve.by_outsider", lambda: decide(oscar, uuid, "APPROVED", "lgtm"), 403, "rita")
refused("approve.by_viewer", lambda: decide(vera, uuid, "APPROVED", "lgtm"), 403, "viewer")
check("approve.by_reviewer", decide(rita, uuid, "APPROVED", "ran it in staging") is True)
check("approved", status(uuid) == "APPROVED", status(uuid))
refused("approve.twice", lambda: decide(rita, uuid, "APPROVED", "again"), 400, "APPROVED already")
eid = execute(alice, uuid, 61)
check("execute.approved", eid and eid.startswith("SCT"), eid)

refused("reviewer.changes_content", lambda: modify(rita, uuid, "echo sneaky\n"), 403, "only its risk level")
modify(rita, uuid, "echo v1\n", risk="HIGH")
d = alice.get_script(coc.GetScriptRequest(script_uuid=uuid)).data
check("reviewer.changes_risk", d.properties.risk_level == "HIGH" and d.status == "APPROVED",
      "%s %s" % (d.properties.risk_level, d.status))

# Any modify by its author, even one that changes nothing it runs, is reviewed again.
modify(alice, uuid, "echo v1\n", risk="HIGH")
check("modify.pending_again", status(uuid) == "PENDING_APPROVE", status(uuid))
check("approve.again", decide(rita, uuid, "APPROVED", "same as before") is True)
modify(alice, uuid, "echo v2\n", risk="HIGH")
check("content_change.pending_again", status(uuid) == "PENDING_APPROVE", status(uuid))
refused("drop_reviewers", lambda: modify(alice, uuid, "echo v3\n", reviewers=False), 400,
        "properties.reviewers")
check("reject", decide(rita, uuid, "REJECTED", "v2 breaks the canary") is True)
check("rejected", status(uuid) == "REJECTED", status(uuid))
refused("execute.rejected", lambda: execute(alice, uuid, 62), 400, "REJECTED")
refused("bad_verdict", lambda: decide(rita, uuid, "PENDING_APPROVE", ""), 400, "status")

print("%d passed, %d failed" % (results["passed"], results["failed"]))
sys.exit(1 if results["failed"] else 0)
