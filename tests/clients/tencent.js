// tencentcloud-sdk-nodejs, the TAT client, against cocpit serve on a port that is not 80:
// POST (the SDK's default) and GET (reqMethod "GET", parameters in the signed query string).
// Prints one JSON object of what came back; the Rust test (tests/clients.rs) judges it.
const tencentcloud = require("tencentcloud-sdk-nodejs");

const [hostPort, secretId, secretKey] = process.argv.slice(2);
const TatClient = tencentcloud.tat.v20201028.Client;

function client(reqMethod) {
  return new TatClient({
    credential: { secretId, secretKey },
    region: "ap-guangzhou",
    profile: { httpProfile: { endpoint: hostPort, protocol: "http://", reqMethod, reqTimeout: 30 } },
  });
}

async function main() {
  const post = client("POST");
  const get = client("GET");
  const out = {};
  const cmd = await post.CreateCommand({
    CommandName: "node-sdk",
    Content: Buffer.from("echo from the node sdk").toString("base64"),
  });
  out.command = cmd.CommandId;
  const inv = await post.CreateInvoker({
    Name: "node-nightly",
    Type: "SCHEDULE",
    CommandId: cmd.CommandId,
    InstanceIds: ["demo-01"],
    ScheduleSettings: { Policy: "RECURRENCE", Recurrence: "0 3 * * *" },
  });
  out.invoker = inv.InvokerId;
  const byGet = await get.DescribeCommands({ CommandIds: [cmd.CommandId], Limit: 10, Offset: 0 });
  out.get_total = byGet.TotalCount;
  out.get_name = byGet.CommandSet[0].CommandName;
  const filtered = await get.DescribeInvokers({
    Filters: [{ Name: "command-id", Values: [cmd.CommandId] }],
  });
  out.get_invokers = filtered.InvokerSet.map((i) => i.InvokerId);
  await get.DisableInvoker({ InvokerId: inv.InvokerId });
  const after = await post.DescribeInvokers({ InvokerIds: [inv.InvokerId] });
  out.enabled_after_get_disable = after.InvokerSet[0].Enable;
  for (const [name, c] of [["post", post], ["get", get]]) {
    try {
      await c.DeleteInvoker({ InvokerId: "ivk-00000000" });
      out[`missing_${name}`] = "no error";
    } catch (e) {
      out[`missing_${name}`] = e.code;
    }
  }
  const bad = new TatClient({
    credential: { secretId, secretKey: "not-the-key" },
    region: "ap-guangzhou",
    profile: { httpProfile: { endpoint: hostPort, protocol: "http://", reqMethod: "GET" } },
  });
  try {
    await bad.DescribeCommands({});
    out.bad_key = "no error";
  } catch (e) {
    out.bad_key = e.code;
  }
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.log(JSON.stringify({ failed: String(e && (e.message || e)), code: e && e.code }));
  process.exit(1);
});
