"""Create a TAT command on a cocpit serve with the official Tencent SDK and print its CommandId.
Usage: tat_command.py BASE_URL SECRET_ID SECRET_KEY [CONTENT]"""
import base64
import json
import sys
from urllib.parse import urlsplit

from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.tat.v20201028 import models, tat_client


def client(base, sid, skey):
    u = urlsplit(base)
    hp = HttpProfile(protocol=u.scheme, endpoint=u.netloc, reqTimeout=30)
    return tat_client.TatClient(credential.Credential(sid, skey), "ap-guangzhou",
                                ClientProfile(httpProfile=hp))


def main():
    base, sid, skey = sys.argv[1:4]
    content = sys.argv[4] if len(sys.argv) > 4 else 'echo "tat says {{target}}"'
    req = models.CreateCommandRequest()
    req.from_json_string(json.dumps({
        "CommandName": "conformance", "CommandType": "SHELL", "Timeout": 60,
        "Content": base64.b64encode(content.encode()).decode(),
        "EnableParameter": True, "DefaultParameters": json.dumps({"target": "world"}),
    }))
    r = client(base, sid, skey).CreateCommand(req)
    print(r.CommandId)


if __name__ == "__main__":
    main()
