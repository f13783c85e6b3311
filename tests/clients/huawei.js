// The Huawei Cloud Node.js SDK core (there is no COC package on npm): its ClientBuilder and
// HcClient sign and send requests exactly as a generated service client does. Prints one JSON
// object of what came back; the Rust test (tests/clients.rs) judges it.
const { ClientBuilder } = require("@huaweicloud/huaweicloud-sdk-core/ClientBuilder");
const { BasicCredentials } = require("@huaweicloud/huaweicloud-sdk-core");

const [base, ak, sk, project] = process.argv.slice(2);
const client = new ClientBuilder((hc) => hc)
  .withCredential(new BasicCredentials().withAk(ak).withSk(sk).withProjectId(project))
  .withEndpoint(base)
  .build();

function call(method, url, { query = {}, path = {}, data } = {}) {
  return client.sendRequest({
    method,
    url,
    contentType: "application/json",
    queryParams: query,
    pathParams: path,
    headers: {},
    data,
  });
}

async function main() {
  const out = {};
  const created = await call("POST", "/v1/job/scripts", {
    data: {
      name: "node_core",
      description: "from the Huawei Node core",
      type: "SHELL",
      content: "echo hello from node",
      properties: { risk_level: "LOW", version: "1.0.0" },
    },
  });
  out.created = created.data;
  const shown = await call("GET", "/v1/job/scripts/{script_uuid}", {
    path: { script_uuid: created.data },
  });
  out.shown_name = shown.data.name;
  const listed = await call("GET", "/v1/job/scripts", { query: { name_like: "node_", limit: 10 } });
  out.listed_total = listed.data.total;
  const ran = await call("POST", "/v1/job/scripts/{script_uuid}", {
    path: { script_uuid: created.data },
    data: {
      execute_param: { resourceful: true, timeout: 60, success_rate: 100, execute_user: "root" },
      execute_batches: [
        { batch_index: 1, rotation_strategy: "CONTINUE", target_instances: [{ resource_id: "demo-01" }] },
      ],
    },
  });
  out.order = ran.data;
  const incident = await call("POST", "/v1/external/incident/create", {
    data: {
      region: ["cn-north-4"],
      enterprise_project: ["0"],
      current_cloud_service: ["6470681a31da2a47ed50a919"],
      incident_level: "level_50",
      is_service_interrupt: false,
      incident_type: "inc_type_p_function_issues",
      incident_title: "from node",
      incident_description: "the Huawei Node core signed this",
      incident_source: "incident_source_manual",
      incident_assignee: ["ops-1"],
      creator: "node",
      assignee_scene: "",
      assignee_role: "",
    },
  });
  out.incident = incident.data;
  try {
    await call("GET", "/v1/job/scripts/{script_uuid}", { path: { script_uuid: "SC-missing" } });
    out.missing = "no error";
  } catch (e) {
    out.missing = { status: e.status, code: e.errorCode, message: e.errorMsg };
  }
  const wrong = new ClientBuilder((hc) => hc)
    .withCredential(new BasicCredentials().withAk(ak).withSk("not-the-key").withProjectId(project))
    .withEndpoint(base)
    .build();
  try {
    await wrong.sendRequest({
      method: "GET", url: "/v1/job/scripts", contentType: "application/json",
      queryParams: {}, pathParams: {}, headers: {},
    });
    out.bad_key = "no error";
  } catch (e) {
    out.bad_key = e.errorCode;
  }
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.log(JSON.stringify({ failed: String(e && (e.errorMsg || e.message || e)), status: e && e.status }));
  process.exit(1);
});
