"""Builds the iam_* fields of an AWS IAM auth login as Vault's stock clients build them, with botocore.

Usage: vault_login.py '<json: accessKeyId, secretAccessKey, sessionToken, stsUrl, region, serverId, style>'
Prints the login fields as JSON. The styles are the shapes those clients send:
- hvac: hvac's iam_login (a prepared request; header map {name: [value]} in base64; Vault's server-id header);
- go: Vault's Go CLI (cli.go GenerateLoginData): Go keeps Host and Content-Length out of the map;
- object: the header map given as a JSON object instead of base64 (Vault's TypeHeader takes both);
- wrapped: base64 from Python's encodebytes, wrapped at 76 columns;
- lone: header values as lone strings, not lists.
"""
import base64
import json
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

BODY = "Action=GetCallerIdentity&Version=2011-06-15"


def login(args):
    request = AWSRequest(
        method="POST",
        url=args["stsUrl"],
        data=BODY,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "X-Vault-AWS-IAM-Server-ID": args["serverId"]},
    )
    if args["style"] == "go":
        # aws-sdk-go signs the request's Content-Length; Go's http.Header never holds it.
        request.headers["Content-Length"] = str(len(BODY))
    SigV4Auth(Credentials(args["accessKeyId"], args["secretAccessKey"], args.get("sessionToken")), "sts", args["region"]).add_auth(request)
    prepared = request.prepare()
    headers = {name: [value] for name, value in prepared.headers.items()}
    if args["style"] == "go":
        headers.pop("Content-Length", None)
        headers.pop("Host", None)
        headers["User-Agent"] = ["aws-sdk-go/1.55.5 (go1.22; linux; amd64)"]
    if args["style"] == "lone":
        headers = {name: values[0] for name, values in headers.items()}
    encode = (lambda b: base64.encodebytes(b).decode()) if args["style"] == "wrapped" else (lambda b: base64.b64encode(b).decode())
    fields = {
        "iam_http_request_method": prepared.method,
        "iam_request_url": encode(prepared.url.encode()),
        "iam_request_body": encode(BODY.encode()),
        "iam_request_headers": headers if args["style"] == "object" else encode(json.dumps(headers).encode()),
    }
    return fields


if __name__ == "__main__":
    print(json.dumps(login(json.loads(sys.argv[1]))))
