#!/usr/bin/env python3
"""cocpit's own check with the official Huawei COC SDK against a running `cocpit serve`.

Covers the job API end to end the way an SDK user meets it: resources, script create / list
(paged with a marker) / detail / modify, an order with a rotation pause that is continued, the
read APIs of the order, a failing order paused by the success rate and cancelled, validation
errors the SDK surfaces as exceptions, and a wrong secret key; then an incident carried from
TRIGGERED to COMPLETED, and alarms pushed (custom and Prometheus) with their refusals.
The server needs the integrations `sdk-check` (custom) and `sdk-prom` (prometheus).

Usage: sdk_check.py BASE_URL AK SK PROJECT_ID.  Prints one line per check and ends with
'N passed, M failed'; exit 0 only when nothing failed.
"""
import logging
import sys
import time

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions as hw_exc
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcoc.v1 import CocClient
from huaweicloudsdkcoc.v1 import model as coc

logging.getLogger("HuaweiCloud-SDK-CocClient").addHandler(logging.NullHandler())
base, ak, sk, project = sys.argv[1:5]
results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print("%s %s%s" % ("PASS" if ok else "FAIL", name, ": " + str(detail) if detail else ""), flush=True)
    return ok


def client(secret):
    cfg = HttpConfig.get_default_config()
    cfg.retry_times = 0
    cfg.timeout = (10, 60)
    return (CocClient.new_builder().with_http_config(cfg)
            .with_credentials(BasicCredentials(ak, secret, project))
            .with_endpoints([base]).build())


c = client(sk)


def wait(eid, statuses, timeout=60):
    deadline = time.time() + timeout
    while True:
        d = c.get_script_job_info(coc.GetScriptJobInfoRequest(execute_uuid=eid)).data
        if d.status in statuses:
            return d
        if time.time() > deadline:
            return d
        time.sleep(0.05)


def props(version="1.0"):
    return coc.ScriptPropertiesModel(risk_level="LOW", version=version)


res = c.list_resources(coc.ListResourcesRequest(provider="ecs", type="cloudservers", limit=100)).data
check("resources", len(res) >= 3 and all(isinstance(t, coc.TagResponse) for r in res for t in r.tags or []),
      [r.resource_id for r in res])
hosts = [coc.ExecuteResourceInstance(resource_id=r.resource_id, region_id=r.region_id, agent_sn=r.agent_id)
         for r in res[:3]]

greet = c.create_script(coc.CreateScriptRequest(body=coc.AddScriptModel(
    name="sdk_greet", description="greets", type="SHELL", content="echo \"sdk says ${who}\"\n",
    properties=props(), script_params=[coc.ScriptParamDefine(
        param_name="who", param_value="world", param_description="", param_order=1, sensitive=False)]))).data
fail = c.create_script(coc.CreateScriptRequest(body=coc.AddScriptModel(
    name="sdk_fail", description="fails", type="SHELL", content="echo failing\nexit 2\n",
    properties=props()))).data
check("script.create", greet.startswith("SC") and len(greet) == 25, greet)

p1 = c.list_scripts(coc.ListScriptsRequest(limit=1, name_like="sdk_")).data
p2 = c.list_scripts(coc.ListScriptsRequest(limit=1, name_like="sdk_", marker=p1.data[0].id)).data
check("script.list.paged", p1.total == 2 and p2.data[0].script_uuid != p1.data[0].script_uuid,
      [p1.data[0].name, p2.data[0].name])

c.update_script(coc.UpdateScriptRequest(script_uuid=greet, body=coc.EditScriptModel(
    description="greets v2", content="echo \"sdk greets ${who}\"\n", properties=props("1.1"),
    script_params=[coc.ScriptParamDefine(param_name="who", param_value="ops", param_description="",
                                         param_order=1, sensitive=False)])))
d = c.get_script(coc.GetScriptRequest(script_uuid=greet)).data
check("script.modify", d.description == "greets v2" and d.properties.version == "1.1" and "greets" in d.content)


def execute(script, batches, params, rate=100):
    return c.execute_script(coc.ExecuteScriptRequest(script_uuid=script, body=coc.ScriptExecuteModel(
        execute_param=coc.ScriptExecuteParam(resourceful=True, timeout=60, success_rate=rate,
                                             execute_user="root", script_params=params),
        execute_batches=[coc.ExecuteInstancesBatchInfo(batch_index=i + 1, target_instances=t, rotation_strategy=r)
                         for i, (t, r) in enumerate(batches)]))).data


eid = execute(greet, [(hosts[:2], "PAUSE"), (hosts[2:3], "CONTINUE")],
              [coc.ScriptExecuteInputParam(param_name="who", param_value="sdk", param_order=1)])
o = wait(eid, {"PAUSED"})
check("order.rotation_pause", o.status == "PAUSED", o.status)
c.operate_script_job(coc.OperateScriptJobRequest(execute_uuid=eid, body=coc.JobScriptOrderOperationBody(
    operation_type="CONTINUE_ORDER")))
o = wait(eid, {"FINISHED"})
check("order.finished", o.status == "FINISHED" and o.gmt_finished, o.status)
st = c.get_script_job_statistics(coc.GetScriptJobStatisticsRequest(execute_uuid=eid)).data
fin = [s for s in st.execute_statistics if s.instance_status == "FINISHED"][0]
check("order.statistics", st.total_instance == 3 and fin.instance_count == 3 and fin.batch_indexes == [1, 2])
b = c.list_script_job_batches(coc.ListScriptJobBatchesRequest(execute_uuid=eid)).data
check("order.batches", [(x.batch_index, x.total_instances, x.rotation_strategy) for x in b] ==
      [(1, 2, "PAUSE"), (2, 1, "CONTINUE")])
bd = c.get_script_job_batch(coc.GetScriptJobBatchRequest(execute_uuid=eid, batch_index=1, limit=10, marker=0)).data
check("order.batch_detail", all("sdk greets sdk" in i.message for i in bd.execute_instances),
      [i.message for i in bd.execute_instances])
lst = c.list_script_jobs(coc.ListScriptJobsRequest(limit=10, status="FINISHED")).data
check("order.list", any(x.execute_uuid == eid for x in lst.data))

eid = execute(fail, [(hosts[:1], "CONTINUE"), (hosts[1:2], "CONTINUE")], [])
o = wait(eid, {"PAUSED"})
check("order.success_rate_pause", o.status == "PAUSED", o.status)
c.operate_script_job(coc.OperateScriptJobRequest(execute_uuid=eid, body=coc.JobScriptOrderOperationBody(
    operation_type="CANCEL_ORDER")))
check("order.canceled", wait(eid, {"CANCELED"}).status == "CANCELED")


def rejected(name, fn, status):
    try:
        fn()
        check(name, False, "accepted")
    except hw_exc.ClientRequestException as e:
        check(name, e.status_code == status and e.error_code and e.error_msg, "%s %s %s" % (
            e.status_code, e.error_code, e.error_msg))


rejected("neg.name", lambda: c.create_script(coc.CreateScriptRequest(body=coc.AddScriptModel(
    name="has space", description="x", type="SHELL", content="echo", properties=props()))), 400)
rejected("neg.timeout", lambda: c.execute_script(coc.ExecuteScriptRequest(script_uuid=greet, body=coc.ScriptExecuteModel(
    execute_param=coc.ScriptExecuteParam(resourceful=True, timeout=2, success_rate=100, execute_user="root"),
    execute_batches=[coc.ExecuteInstancesBatchInfo(batch_index=1, target_instances=hosts[:1],
                                                   rotation_strategy="CONTINUE")]))), 400)
rejected("neg.wrong_sk", lambda: client(sk + "x").list_scripts(coc.ListScriptsRequest(limit=1)), 401)

for s in (greet, fail):
    c.delete_script(coc.DeleteScriptRequest(script_uuid=s))
rejected("script.deleted", lambda: c.get_script(coc.GetScriptRequest(script_uuid=greet)), 404)

# ---------------------------------------------------------------- incidents
inc = coc.CreateExternalIncidentRequest(
    region=["cn-north-4"], enterprise_project=["0"], current_cloud_service=["app-1"],
    incident_level="level_20", is_service_interrupt="true", incident_type="inc_type_p_function_issues",
    incident_title="sdk check incident", incident_description="checkout fails",
    incident_source="incident_source_manual", incident_assignee=["ops"], creator="ops")
num = c.create_coc_incident(coc.CreateCocIncidentRequest(body=inc)).data.incident_num
check("incident.create", num.startswith("IM") and len(num) == 26, num)


def incident_status():
    return c.show_coc_incident_detail(coc.ShowCocIncidentDetailRequest(incident_num=num)).data


def handle(key, parameter):
    c.handle_coc_incident(coc.HandleCocIncidentRequest(body=coc.HandleExternalIncidentRequest(
        incident_num=num, operator="ops", operate_key=key, parameter=parameter)))


d = incident_status()
check("incident.detail", d.status == "INCIDENT_STATUS_TRIGGERED" and d.is_service_interrupt is True and
      any(e.filed_key == "level_id" and e.name_en == "P2" for e in d.enum_data_list), d.status)
rejected("neg.incident.wrong_state", lambda: handle("confirm", {"virtual_confirm_result": True,
                                                                "virtual_confirm_comment": "x"}), 400)
handle("acceptedIncident1", {})
handle("commitSolution1", {"mtm_type": "inc_type_p_config_issues", "is_service_interrupt": False,
                           "cause": "bad config", "solution": "rolled back"})
d = incident_status()
check("incident.resolved", d.status == "INCIDENT_STATUS_RESOLVED" and d.handle_time and
      d.is_service_interrupt is False, d.status)
handle("confirm", {"virtual_confirm_result": True, "virtual_confirm_comment": "ok now"})
check("incident.completed", incident_status().status == "INCIDENT_STATUS_COMPLETED")
rejected("neg.incident.operate_key", lambda: handle("acceptedIncident111", {}), 400)

# ---------------------------------------------------------------- alarms
def push(alarm_id, status, name="CPU usage above 90%"):
    return c.create_report_custom_event(coc.CreateReportCustomEventRequest(
        integration_key="sdk-check", body=coc.ReportCustomEventRequestBody(
            alarm_id=alarm_id, alarm_name=name, alarm_level="Critical", time=int(time.time() * 1000),
            name_space="sh", application_id="app-1", alarm_desc="cpu 97%", alarm_status=status,
            alarm_source="sdk", additional={"team": "sre"})))


r = push("sdk-cpu", "alarm")
check("alarm.push", r.provider_code == "049" and r.error_code == "COC.00000000", r.error_code)
push("sdk-cpu", "alarm")
push("sdk-cpu", "ok")
rejected("neg.alarm.missing_name", lambda: push("sdk-x", "alarm", name=None), 400)
rejected("neg.alarm.unknown_key", lambda: c.create_report_custom_event(coc.CreateReportCustomEventRequest(
    integration_key="no-such-key", body=coc.ReportCustomEventRequestBody(
        alarm_id="x", alarm_name="x", alarm_level="Info", time=1, name_space="n", application_id="a",
        alarm_desc="d", alarm_source="s"))), 404)
r = c.create_report_prometheus_event(coc.CreateReportPrometheusEventRequest(
    integration_key="sdk-prom", body={"version": "4", "status": "firing", "alerts": [
        {"status": "firing", "labels": {"alertname": "DiskFull", "severity": "critical", "instance": "db-1"},
         "annotations": {"summary": "disk 99%"}, "startsAt": "2024-03-15T08:09:10Z", "fingerprint": "fp-sdk-1"}]}))
check("alarm.prometheus", r.error_code == "COC.00000000", r.error_code)
print("%d passed, %d failed" % (results["passed"], results["failed"]))
sys.exit(0 if results["failed"] == 0 else 1)
