#!/usr/bin/env python3
"""The post-deploy check: run it against your own account after `sam deploy` (`make smoke
STACK=<name> EMAIL=<an address you read>`).

It reads the stack and checks what no local test can see on your account: the pool's triggers
are the stack's functions, Pre Token Generation is wired at event version 2 where deployed, the
state table has encryption, point-in-time recovery and TTL, the magic-link key is an ECC P-256
signing key whose policy lets only Create sign, the passkey API's authorizer accepts only the
stack's pool and client. Then it creates a throwaway user with the e-mail address you name
(marked verified: you read that mailbox), signs in with the CLI (you type the code from the
e-mail; with a password step, a random password it set), and deletes the user, whatever
happened. AWS credentials, region and endpoint come from the standard configuration (so
`AWS_ENDPOINT_URL` points it at the local AWS, where `make test` runs it).

Exits 0 when every check passed and the sign-in gave tokens; prints one line per check.
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent


def say(ok, what):
    print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)
    return ok


def stack_facts(cfn, stack):
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    params = {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}
    resources = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                 for r in cfn.describe_stack_resources(StackName=stack)["StackResources"]}
    return outputs, params, resources


def check_triggers(session, outputs, resources):
    idp = session.client("cognito-idp")
    lam = session.client("lambda")
    pool = idp.describe_user_pool(UserPoolId=outputs["UserPoolId"])["UserPool"]
    config = pool.get("LambdaConfig", {})
    ok = True
    for trigger, function in (("DefineAuthChallenge", "DefineAuthChallengeFunction"),
                              ("CreateAuthChallenge", "CreateAuthChallengeFunction"),
                              ("VerifyAuthChallengeResponse", "VerifyAuthChallengeFunction")):
        arn = lam.get_function(FunctionName=resources[function])["Configuration"]["FunctionArn"]
        ok &= say(config.get(trigger) == arn, f"the pool's {trigger} trigger is {resources[function]}")
    if "PreTokenGenerationFunction" in resources:
        arn = lam.get_function(FunctionName=resources["PreTokenGenerationFunction"])["Configuration"]["FunctionArn"]
        pre = config.get("PreTokenGenerationConfig", {})
        ok &= say(pre.get("LambdaArn") == arn and pre.get("LambdaVersion") == "V2_0",
                  "Pre Token Generation is wired at event version 2")
        ok &= say(pool.get("UserPoolTier") == "ESSENTIALS", "the pool is on Essentials (event version 2 needs it)")
    else:
        ok &= say("PreTokenGenerationConfig" not in config, "no Pre Token Generation (none deployed)")
    return ok


def check_table(session, resources):
    if "AuthStateTable" not in resources:
        return say(True, "no state table (StateStore=false)")
    ddb = session.client("dynamodb")
    name = resources["AuthStateTable"]
    table = ddb.describe_table(TableName=name)["Table"]
    ok = say(table.get("SSEDescription", {}).get("Status") in ("ENABLED", "ENABLING"),
             f"the state table {name} is encrypted at rest")
    ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    ok &= say(ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl.get("AttributeName") == "expiresAt",
              "its items expire by TTL on expiresAt")
    backups = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    pitr = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
    ok &= say(pitr == "ENABLED", "it has point-in-time recovery")
    return ok


def check_key(session, resources):
    if "MagicLinkKey" not in resources:
        return True
    kms = session.client("kms")
    key = kms.describe_key(KeyId=resources["MagicLinkKey"])["KeyMetadata"]
    ok = say(key.get("KeySpec") == "ECC_NIST_P256" and key.get("KeyUsage") == "SIGN_VERIFY",
             "the magic-link key is an ECC P-256 signing key")
    policy = json.loads(kms.get_key_policy(KeyId=resources["MagicLinkKey"], PolicyName="default")["Policy"])
    signers = []
    for statement in policy.get("Statement", []):
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if any(a in ("kms:*", "*", "kms:Sign") for a in actions):
            signers.append(statement)
    only_create = all("kms:*" not in json.dumps(s.get("Action")) and
                      "aws:PrincipalArn" in json.dumps(s.get("Condition", {})) for s in signers)
    return ok & say(bool(signers) and only_create, "only Create's role may sign with it")


def check_api(session, outputs):
    if "PasskeyApiId" not in outputs:
        return True
    api = session.client("apigatewayv2")
    authorizers = api.get_authorizers(ApiId=outputs["PasskeyApiId"]).get("Items", [])
    good = [a for a in authorizers if a.get("AuthorizerType") == "JWT"
            and a.get("JwtConfiguration", {}).get("Issuer", "").endswith(f"/{outputs['UserPoolId']}")
            and a.get("JwtConfiguration", {}).get("Audience") == [outputs["UserPoolClientId"]]]
    return say(bool(good), "the passkey API accepts only this pool's client's tokens")


def sign_in(session, outputs, params, email, cli, before_prompt):
    idp = session.client("cognito-idp")
    pool = outputs["UserPoolId"]
    name = f"smoke-{secrets.token_hex(6)}"
    password = f"Sm0ke-{secrets.token_urlsafe(18)}!"
    idp.admin_create_user(UserPoolId=pool, Username=name, MessageAction="SUPPRESS", UserAttributes=[
        {"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}])
    try:
        idp.admin_set_user_password(UserPoolId=pool, Username=name, Password=password, Permanent=True)
        say(True, f"created the throwaway user {name} ({email}, verified)")
        command = [str(cli), "--user-pool-id", pool, "--client-id", outputs["UserPoolClientId"],
                   "--username", name]
        env = dict(os.environ)
        if params.get("AuthFlow", "").split(",")[0].strip() == "password":
            command.append("--with-password")
            env["COGNITO_SIGNIN_PASSWORD"] = password
        if before_prompt:
            command += ["--before-prompt", before_prompt]
        print(f"     signing in as {name}: type the code from the e-mail to {email} when asked", flush=True)
        result = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True)
        claims = json.loads(result.stdout) if result.returncode == 0 and result.stdout.strip() else {}
        return say(claims.get("cognito:username") == name, "signed in with the CLI: tokens for the throwaway user")
    finally:
        idp.admin_delete_user(UserPoolId=pool, Username=name)
        say(True, f"deleted the throwaway user {name}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--email", required=True, help="an address whose mail you read (the user is deleted after)")
    parser.add_argument("--cli", default=str(ROOT / "target/debug/cognito-signin"), help="the cognito-signin binary")
    parser.add_argument("--before-prompt", default="", help="passed to the CLI (a command that shows the code)")
    args = parser.parse_args()
    session = boto3.session.Session()
    outputs, params, resources = stack_facts(session.client("cloudformation"), args.stack)
    ok = check_triggers(session, outputs, resources)
    ok &= check_table(session, resources)
    ok &= check_key(session, resources)
    ok &= check_api(session, outputs)
    ok &= sign_in(session, outputs, params, args.email, args.cli, args.before_prompt)
    print("smoke: all checks passed" if ok else "smoke: some checks FAILED", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
