"""Runs the project on a local AWS: ministack on 127.0.0.1, `sam build`, `sam deploy`, a demo user.

Used by `make demo` and the end-to-end tests. Every AWS call made here, and by the tools it
starts, goes to the local emulator: credentials are fixed test values and AWS_ENDPOINT_URL is
always set, so a run can never touch a real account.

    python tools/local_aws.py up --port 4599 --stack custom-auth-demo --flow password,email-otp
    python tools/local_aws.py mailbox --port 4599 --to jane@example.com
    python tools/local_aws.py code --port 4599 --to jane@example.com
    python tools/local_aws.py user --port 4599 --stack custom-auth-demo --username sam --email sam@example.com
    python tools/local_aws.py describe --port 4599 --stack custom-auth-demo
    python tools/local_aws.py down --port 4599      (also stops the sign-in page `demo` serves)
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
MINISTACK = VENV / "ministack" / "bin" / "ministack"
STATE = ROOT / ".ministack"
SENDER = "no-reply@example.com"
DEMO_USER = {
    "username": "jane",
    "password": "Demo-Passw0rd!",
    "email": "jane@example.com",
    "phone": "+15555550123",
    "accounts": '{"acct-1001":"Personal","acct-2002":"Acme Corp"}',
}


def say(message):
    print(f"==> {message}", file=sys.stderr, flush=True)


def fail(message, fix):
    print(f"error: {message}\n  fix: {fix}", file=sys.stderr, flush=True)
    sys.exit(1)


def aws_env(port):
    env = dict(os.environ)
    env.update(
        {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "SAM_CLI_TELEMETRY": "0",
            "SAM_CLI_BETA_RUST_CARGO_LAMBDA": "1",
            "PATH": f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        env.pop(name, None)
    return env


def http_get(url, timeout=2.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:  # loopback only
        return response.read()


def healthy(port):
    try:
        http_get(f"http://127.0.0.1:{port}/_ministack/health")
        return True
    except OSError:
        return False


def pid_file(port):
    return STATE / str(port) / "pid"


def start(port):
    if healthy(port):
        say(f"local AWS already running on 127.0.0.1:{port}")
        return
    if not MINISTACK.exists():
        fail("ministack is not installed", "run `make venv`")
    (STATE / str(port)).mkdir(parents=True, exist_ok=True)
    log = open(STATE / str(port) / "ministack.log", "ab")
    env = aws_env(port)
    # Loopback only: the gateway on 127.0.0.1, and no MQTT/SFTP listeners (they bind 0.0.0.0).
    env.update({"BIND_HOST": "127.0.0.1", "GATEWAY_PORT": str(port), "IOT_MTLS_ENABLED": "0", "SFTP_ENABLED": "0"})
    # What Lambda derives from the template's LoggingConfig (JSON; ApplicationLogLevel), which
    # ministack records but does not apply; its function processes inherit this environment.
    env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
    env["AWS_LAMBDA_LOG_LEVEL"] = os.environ.get("LOCAL_AWS_LOG_LEVEL", "info")
    # Every Cognito call holds one of ministack's worker threads while it runs our triggers, and
    # the Create trigger's SES call needs another. With its default 64, a hundred concurrent
    # sign-ins starve SES and every send times out (seen in `make load`); AWS has no such
    # coupling between services, so give the emulator room.
    env["MINISTACK_WORKER_THREADS"] = "512"
    # A failing Pre Token Generation fails the sign-in, as on AWS (ministack's default would
    # log the failure and issue the tokens anyway).
    env["MINISTACK_COGNITO_PRETOKEN_STRICT"] = "1"
    # Its own process group, so `down` stops it and every function process it spawned.
    process = subprocess.Popen([str(MINISTACK)], env=env, stdout=log, stderr=log, start_new_session=True)
    pid_file(port).write_text(str(process.pid))
    for _ in range(120):
        if healthy(port):
            say(f"local AWS (ministack) running on 127.0.0.1:{port}, pid {process.pid}")
            return
        if process.poll() is not None:
            break
        time.sleep(0.25)
    stop(port)
    fail(f"ministack did not start on port {port}", f"see {STATE / str(port) / 'ministack.log'}; try another port")


def stop(port):
    stop_group(page_pid_file(port))
    if stop_group(pid_file(port)):
        say(f"local AWS on port {port} stopped")


def stop_group(path):
    """Stops the process group whose leader's pid `path` holds; whether there was one."""
    if not path.exists():
        return False
    pid = int(path.read_text())
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        for _ in range(40):
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            continue
        break
    path.unlink(missing_ok=True)
    return True


def page_pid_file(port):
    return STATE / str(port) / "page.pid"


def start_page(port, page_port, info, flow):
    """Serves the sign-in page (web/dist, built by `make web`) on 127.0.0.1, configured for the stack."""
    if not (ROOT / "web" / "dist" / "app.js").exists():
        fail("the sign-in page is not built", "run `make web`")
    stop_group(page_pid_file(port))
    config = {"userPoolId": info["userPoolId"], "clientId": info["clientId"], "flow": flow,
              "endpoint": f"http://127.0.0.1:{port}", "title": "Sign in (local AWS)"}
    if ("passkey" in flow or "device" in flow) and info.get("passkeyApi"):
        config["passkeyApi"] = info["passkeyApi"]
    path = STATE / str(port) / "page.json"
    path.write_text(json.dumps(config, indent=2))
    log = open(STATE / str(port) / "page.log", "ab")
    process = subprocess.Popen(["node", str(ROOT / "web" / "serve.mjs"), "--port", str(page_port), "--config", str(path)],
                               stdout=log, stderr=log, start_new_session=True)
    page_pid_file(port).write_text(str(process.pid))
    url = f"http://127.0.0.1:{page_port}/"
    # Passkeys are bound to a domain (localhost), not an address: the page is then visited by name.
    shown = f"http://localhost:{page_port}/" if "passkey" in flow else url
    for _ in range(40):
        try:
            http_get(url)
            return shown
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.25)
    fail(f"the sign-in page did not start on port {page_port}",
         f"see {STATE / str(port) / 'page.log'}; try another port (make demo DEMO_PAGE_PORT=...)")


def build_cli():
    """The demo's CLI, built before it is needed so step 5 does not sit quiet while it compiles."""
    say("building the sign-in CLI (cargo build -p cognito-signin; a minute or two on the first run)")
    result = subprocess.run(["cargo", "build", "--locked", "-p", "cognito-signin"], cwd=ROOT)
    if result.returncode != 0:
        fail("cargo build -p cognito-signin failed", "see the Rust build output above")
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "debug" / "cognito-signin"


def run(cmd, env, what, fix):
    say(what)
    result = subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        print(result.stdout[-4000:], file=sys.stderr)
        fail(f"{what} failed", fix)
    return result.stdout


def build(port, architecture="x86_64", build_dir=None):
    """`sam build` of the functions for `architecture`: x86_64 for the local AWS (it runs the
    bootstraps on this machine), arm64 as a `sam build` for AWS makes by default."""
    cmd = ["sam", "build", "--parameter-overrides", f"Architecture={architecture}"]
    if build_dir:
        cmd += ["--build-dir", str(build_dir)]
    run(
        cmd,
        aws_env(port),
        f"sam build (cargo lambda build --release of the functions, {architecture})",
        "check the Rust build output above; `make venv` reinstalls cargo-lambda and zig",
    )


# The local AWS runs no CloudWatch metric math, which the success-ratio alarm is: every stack
# deployed here leaves that one alarm out (tools/template_check.py checks it; README).
LOCAL_DEFAULTS = {"Architecture": "x86_64", "OtpEmailFrom": SENDER, "SuccessRatioAlarmPercent": "0"}


def deploy(port, stack, flow, extra):
    given = {pair.split("=", 1)[0] for pair in extra}
    overrides = [f"{k}={v}" for k, v in LOCAL_DEFAULTS.items() if k not in given]
    overrides += [f"AuthFlow={flow}"] + extra
    run(
        ["sam", "deploy", "--stack-name", stack, "--resolve-s3", "--capabilities", "CAPABILITY_IAM",
         "--no-confirm-changeset", "--no-fail-on-empty-changeset", "--parameter-overrides", *overrides],
        aws_env(port),
        f"sam deploy of stack {stack} with AUTH_FLOW={flow}",
        "see the CloudFormation events above",
    )


def try_deploy(port, stack, flow, extra):
    """One more deploy into a running local AWS (built already), which may fail: returns what a
    test needs to judge it: whether it succeeded, the stack's status, its resources, and the
    reasons of the events that failed."""
    overrides = {**LOCAL_DEFAULTS, "AuthFlow": flow}
    overrides.update(pair.split("=", 1) for pair in extra)
    # (The parameters' names only: a value may be a secret.)
    say(f"sam deploy of stack {stack} with AUTH_FLOW={flow}, setting {', '.join(p.split('=', 1)[0] for p in extra)}")
    # In a file: the command line's Key=Value form cannot say an empty value (Key=).
    (STATE / str(port)).mkdir(parents=True, exist_ok=True)
    # (JSON is YAML; SAM reads parameter files as YAML or TOML.)
    params = (STATE / str(port) / f"{stack}-parameters.yaml").resolve()
    params.write_text(json.dumps(overrides))
    result = subprocess.run(
        ["sam", "deploy", "--stack-name", stack, "--resolve-s3", "--capabilities", "CAPABILITY_IAM",
         "--no-confirm-changeset", "--no-fail-on-empty-changeset", "--parameter-overrides", f"file://{params}"],
        env=aws_env(port), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    cfn = boto(port, "cloudformation")
    try:
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    except Exception:  # noqa: BLE001 (a stack that was never created)
        described = {}
    resources = []
    failures = []
    if described:
        resources = [r["LogicalResourceId"] for r in
                     cfn.describe_stack_resources(StackName=stack).get("StackResources", [])]
        events = cfn.describe_stack_events(StackName=stack).get("StackEvents", [])
        failures = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}" for e in events
                    if e.get("ResourceStatus", "").endswith("FAILED")]
    return {"ok": result.returncode == 0, "status": described.get("StackStatus", ""),
            "outputs": {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
            "resources": sorted(resources), "failures": failures, "log": result.stdout[-3000:]}


# A user pool made outside our template, with settings of its own (README, Using an existing
# user pool): the end-to-end test adds our sign-in to it and checks each setting survives.
EXISTING_USER = {"username": "olivia", "email": "olivia@example.com"}


def existing_pool(port, name):
    """Creates the pool, its app client and a user; prints their ids."""
    idp = boto(port, "cognito-idp")
    pool = idp.create_user_pool(
        PoolName=name,
        Policies={"PasswordPolicy": {"MinimumLength": 12, "RequireUppercase": True, "RequireLowercase": True,
                                     "RequireNumbers": True, "RequireSymbols": False,
                                     "TemporaryPasswordValidityDays": 3}},
        DeletionProtection="ACTIVE",
        LambdaConfig={"PreSignUp": f"arn:aws:lambda:us-east-1:000000000000:function:{name}-pre-sign-up",
                      "PostConfirmation": f"arn:aws:lambda:us-east-1:000000000000:function:{name}-welcome"},
        AutoVerifiedAttributes=["email"],
        UserAttributeUpdateSettings={"AttributesRequireVerificationBeforeUpdate": ["email"]},
        EmailVerificationMessage="Your Acme verification code is {####}",
        EmailVerificationSubject="Verify your Acme address",
        VerificationMessageTemplate={"EmailMessage": "Your Acme verification code is {####}",
                                     "EmailSubject": "Verify your Acme address",
                                     "DefaultEmailOption": "CONFIRM_WITH_CODE"},
        SmsAuthenticationMessage="Your Acme sign-in code is {####}",
        MfaConfiguration="OPTIONAL",
        DeviceConfiguration={"ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": True},
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True,
                               "InviteMessageTemplate": {"EmailMessage": "Welcome {username}: {####}",
                                                         "EmailSubject": "Welcome to Acme"}},
        AccountRecoverySetting={"RecoveryMechanisms": [{"Priority": 1, "Name": "verified_email"}]},
        UsernameConfiguration={"CaseSensitive": False},
        UserPoolTags={"team": "identity"},
        Schema=[{"Name": "email", "AttributeDataType": "String", "Mutable": True}],
    )["UserPool"]
    client = idp.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName=f"{name}-web", GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        PreventUserExistenceErrors="ENABLED", ReadAttributes=["email", "email_verified"],
        WriteAttributes=["email"])["UserPoolClient"]
    idp.admin_create_user(UserPoolId=pool["Id"], Username=EXISTING_USER["username"], MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": EXISTING_USER["email"]},
                                          {"Name": "email_verified", "Value": "true"}])
    return {"userPoolId": pool["Id"], "clientId": client["ClientId"], **EXISTING_USER}


def describe_pool(port, pool):
    """The pool as DescribeUserPool returns it (dates as text)."""
    return boto(port, "cognito-idp").describe_user_pool(UserPoolId=pool)["UserPool"]


def boto(port, service):
    import boto3  # from the project .venv (aws-sam-cli pins it)

    env = aws_env(port)
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def outputs(port, stack):
    described = boto(port, "cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def prepare(port, stack):
    say(f"verifying the SES sender {SENDER} and creating demo user {DEMO_USER['username']}")
    boto(port, "sesv2").create_email_identity(EmailIdentity=SENDER)
    out = outputs(port, stack)
    pool = out["UserPoolId"]
    idp = boto(port, "cognito-idp")
    attributes = [
        {"Name": "email", "Value": DEMO_USER["email"]},
        {"Name": "email_verified", "Value": "true"},
        {"Name": "phone_number", "Value": DEMO_USER["phone"]},
        {"Name": "custom:accounts", "Value": DEMO_USER["accounts"]},
    ]
    try:
        idp.admin_create_user(UserPoolId=pool, Username=DEMO_USER["username"], MessageAction="SUPPRESS",
                              UserAttributes=attributes)
    except idp.exceptions.UsernameExistsException:
        idp.admin_update_user_attributes(UserPoolId=pool, Username=DEMO_USER["username"], UserAttributes=attributes)
    idp.admin_set_user_password(UserPoolId=pool, Username=DEMO_USER["username"], Password=DEMO_USER["password"],
                                Permanent=True)
    sub = next(a["Value"] for a in idp.admin_get_user(UserPoolId=pool, Username=DEMO_USER["username"])
               ["UserAttributes"] if a["Name"] == "sub")
    info = {"port": port, "stack": stack, "userPoolId": pool, "clientId": out["UserPoolClientId"],
            "handoffClientId": out.get("HandoffClientId", ""),
            "stateTable": out.get("AuthStateTableName", ""), "sub": sub,
            "stateKeyArn": out.get("AuthStateKeySecretArn", ""),
            "auditLogGroup": out.get("SupportAuditLogGroup", ""), **DEMO_USER}
    if out.get("AuthStateTableName"):
        # The emulator's CloudFormation makes the table without the template's encryption, TTL
        # and point-in-time recovery (README, the local AWS); AWS applies all three. Applied here
        # as CloudFormation would, so the local table is the one the template describes.
        ddb = boto(port, "dynamodb")
        table = out["AuthStateTableName"]
        ddb.update_table(TableName=table, SSESpecification={"Enabled": True})
        ddb.update_time_to_live(TableName=table,
                                TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"})
        ddb.update_continuous_backups(TableName=table,
                                      PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    if out.get("PasskeyApiId"):
        fix_passkey_cors(port, stack, out["PasskeyApiId"])
        # The HTTP API by path on the local AWS (browsers resolve *.localhost hosts unevenly).
        info["passkeyApi"] = f"http://127.0.0.1:{port}/_aws/execute-api/{out['PasskeyApiId']}"
    (STATE / str(port)).mkdir(parents=True, exist_ok=True)
    (STATE / str(port) / f"{stack}.json").write_text(json.dumps(info, indent=2))
    return info


def fix_passkey_cors(port, stack, api_id):
    """The template's CORS rule for the passkey API, set again through UpdateApi: the emulator keeps
    an AWS::ApiGatewayV2::Api's CorsConfiguration under CloudFormation's key names, which its data
    plane does not read (README, the local AWS). On AWS the template's rule is used as written."""
    described = boto(port, "cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    params = {p["ParameterKey"]: p["ParameterValue"] for p in described.get("Parameters", [])}
    origins = [o.strip() for o in params.get("PasskeyOrigins", "").split(",") if o.strip()]
    boto(port, "apigatewayv2").update_api(ApiId=api_id, CorsConfiguration={
        "AllowOrigins": origins, "AllowMethods": ["GET", "POST", "PATCH", "DELETE"],
        "AllowHeaders": ["authorization", "content-type"], "MaxAge": 600,
    })


def add_user(port, stack, username, email, email_verified, phone=None):
    """A user with an e-mail address (and, if given, a verified phone number) and the demo password."""
    pool = outputs(port, stack)["UserPoolId"]
    idp = boto(port, "cognito-idp")
    attributes = [
        {"Name": "email", "Value": email},
        {"Name": "email_verified", "Value": "true" if email_verified else "false"},
        {"Name": "custom:accounts", "Value": DEMO_USER["accounts"]},
    ]
    if phone:
        attributes += [{"Name": "phone_number", "Value": phone}, {"Name": "phone_number_verified", "Value": "true"}]
    try:
        idp.admin_create_user(UserPoolId=pool, Username=username, MessageAction="SUPPRESS",
                              UserAttributes=attributes)
    except idp.exceptions.UsernameExistsException:
        idp.admin_update_user_attributes(UserPoolId=pool, Username=username, UserAttributes=attributes)
    idp.admin_set_user_password(UserPoolId=pool, Username=username, Password=DEMO_USER["password"],
                                Permanent=True)


def describe(port, stack):
    """The deployed pool's and app client's settings that decide who may write what."""
    out = outputs(port, stack)
    idp = boto(port, "cognito-idp")
    pool = idp.describe_user_pool(UserPoolId=out["UserPoolId"])["UserPool"]
    client = idp.describe_user_pool_client(UserPoolId=out["UserPoolId"],
                                           ClientId=out["UserPoolClientId"])["UserPoolClient"]
    env = boto(port, "lambda").get_function_configuration(FunctionName=f"{stack}-define")
    variables = env.get("Environment", {}).get("Variables", {})
    return {
        "authFlow": variables.get("AUTH_FLOW", ""),
        "authFlows": variables.get("AUTH_FLOWS", ""),
        "allowAdminCreateUserOnly": pool.get("AdminCreateUserConfig", {}).get("AllowAdminCreateUserOnly"),
        "autoVerifiedAttributes": pool.get("AutoVerifiedAttributes", []),
        "requireVerificationBeforeUpdate":
            pool.get("UserAttributeUpdateSettings", {}).get("AttributesRequireVerificationBeforeUpdate", []),
        "explicitAuthFlows": sorted(client.get("ExplicitAuthFlows", [])),
        "readAttributes": client.get("ReadAttributes", []),
        "writeAttributes": client.get("WriteAttributes", []),
    }


def password_only(port, stack):
    """Tries the flows that would issue tokens on a password alone; prints each one's outcome."""
    out = outputs(port, stack)
    idp = boto(port, "cognito-idp")
    outcomes = {}
    attempts = {
        # A well-formed SRP_A: the flow is refused before any SRP arithmetic if it is off.
        "USER_SRP_AUTH": {"USERNAME": DEMO_USER["username"], "SRP_A": "a" * 768},
    }
    for flow, params in attempts.items():
        try:
            answer = idp.initiate_auth(ClientId=out["UserPoolClientId"], AuthFlow=flow, AuthParameters=params)
            outcomes[flow] = answer.get("ChallengeName") or ("tokens" if "AuthenticationResult" in answer else "?")
        except idp.exceptions.ClientError as e:
            outcomes[flow] = e.response["Error"]["Code"]
    return outcomes


def messages(port, to):
    data = json.loads(http_get(f"http://127.0.0.1:{port}/_ministack/ses/messages"))
    found = []
    for per_account in (data.get("messages") or {}).values():
        found.extend(m for m in per_account if to in m.get("To", []))
    return sorted(found, key=lambda m: m.get("Timestamp", 0))


def function_logs(port, prefix="/aws/lambda/", since_ms=None):
    """Every line logged in the log groups under `prefix` (the functions', by default), from the
    local CloudWatch Logs; only those logged from `since_ms` (Unix ms) when given."""
    logs = boto(port, "logs")
    lines = []
    groups = []
    token = None
    for _ in range(100):  # (pages of 50 groups: the end-to-end test's stacks have more)
        page = logs.describe_log_groups(logGroupNamePrefix=prefix, **({"nextToken": token} if token else {}))
        groups += page.get("logGroups", [])
        token = page.get("nextToken")
        if not token:
            break
    for group in groups:
        token = None
        for _ in range(1000):
            kwargs = {"logGroupName": group["logGroupName"], "nextToken": token} if token else \
                {"logGroupName": group["logGroupName"]}
            if since_ms is not None:
                kwargs["startTime"] = since_ms
            page = logs.filter_log_events(**kwargs)
            lines.extend(e["message"].rstrip("\n") for e in page.get("events", []))
            token = page.get("nextToken")
            if not token:
                break
    return lines


def run_demo(port, page_port, flow):
    stack = "custom-auth-demo"
    say(f"step 1/5: local AWS on 127.0.0.1:{port}")
    start(port)
    say("step 2/5: build the functions and the sign-in CLI")
    build(port)
    cli = build_cli()
    say("step 3/5: deploy template.yaml")
    # Magic links may open the demo's page only; passkeys are bound to it (by name: localhost).
    deploy(port, stack, flow, [f"MagicLinkUrls=http://127.0.0.1:{page_port}/", "PasskeyRpId=localhost",
                               f"PasskeyOrigins=http://localhost:{page_port}"])
    info = prepare(port, stack)
    say("step 4/5: serve the sign-in page")
    url = start_page(port, page_port, info, flow)
    print(f"""
  user pool  {info['userPoolId']}   app client  {info['clientId']}
  user       {info['username']}   password  {info['password']}   e-mail  {info['email']}
  flow       {flow}

  The sign-in page:  {url}
  Open it in a browser on this machine and sign in as {info['username']}; read e-mailed codes with
      .venv/bin/python tools/local_aws.py mailbox --port {port} --to {info['email']}
  Stop the local AWS and the page afterwards with `make demo-down`.
""", file=sys.stderr, flush=True)
    if "passkey" in flow:
        say(f"step 5/5: the flow has passkey: on the page, {url}, sign in as {info['username']} with "
            "an e-mailed code (the mailbox command above prints it), press \"Add a passkey\", sign out, "
            "and sign in again with the passkey (a browser with a platform authenticator or security "
            "key, or Chromium's DevTools > WebAuthn > virtual authenticator)")
        return
    if "magic-link" in flow:
        say(f"step 5/5: the flow has magic-link: sign in on the page, {url}; the mailbox command above "
            "prints the e-mail with the link (open it in any browser on this machine)")
        return
    say("step 5/5: sign in as the demo user with cognito-signin (each e-mailed code is printed from the "
        "local mailbox just before you are asked for it)")
    mailbox = f"{sys.executable} {Path(__file__).resolve()} mailbox --port {port} --to {info['email']}"
    cmd = [str(cli), "--user-pool-id", info["userPoolId"], "--client-id", info["clientId"],
           "--username", info["username"], "--before-prompt", mailbox]
    env = aws_env(port)
    if flow.split(",")[0].strip() == "password":
        # From the environment, not the command line (where every local user could read it).
        cmd += ["--with-password"]
        env = {**env, "COGNITO_SIGNIN_PASSWORD": info["password"]}
    result = subprocess.run(cmd, env=env, cwd=ROOT)
    if result.returncode != 0:
        fail("the sign-in did not succeed", "run `make demo` again and type the code from the mailbox above")
    say(f"signed in: the ID token claims are printed above; the page stays at {url} until `make demo-down`")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the local AWS, build, deploy, create the demo user")
    up.add_argument("--port", type=int, required=True)
    up.add_argument("--stack", action="append", required=True, help="stack name (repeat with --flow)")
    up.add_argument("--flow", action="append", required=True, help="AUTH_FLOW of the matching --stack")
    up.add_argument("--no-build", action="store_true", help="reuse .aws-sam/build")
    up.add_argument("--param", action="append", default=[], help="extra Key=Value parameter override")
    demo = sub.add_parser("demo", help="up, then sign the demo user in interactively")
    demo.add_argument("--port", type=int, required=True)
    demo.add_argument("--flow", required=True)
    demo.add_argument("--page-port", type=int, required=True, help="where to serve the sign-in page")
    down = sub.add_parser("down", help="stop the local AWS")
    down.add_argument("--port", type=int, required=True)
    box = sub.add_parser("mailbox", help="print the newest e-mail sent to an address")
    box.add_argument("--port", type=int, required=True)
    box.add_argument("--to", required=True)
    code = sub.add_parser("code", help="print the code in the newest e-mail sent to an address")
    code.add_argument("--port", type=int, required=True)
    code.add_argument("--to", required=True)
    user = sub.add_parser("user", help="create (or reset) a user with an e-mail address")
    user.add_argument("--port", type=int, required=True)
    user.add_argument("--stack", required=True)
    user.add_argument("--username", required=True)
    user.add_argument("--email", required=True)
    user.add_argument("--email-verified", choices=["true", "false"], default="true")
    user.add_argument("--phone", help="a verified phone number (E.164)")
    po = sub.add_parser("password-only", help="try the password-only flows; print each outcome as JSON")
    po.add_argument("--port", type=int, required=True)
    po.add_argument("--stack", required=True)
    desc = sub.add_parser("describe", help="print the pool's and client's attribute settings as JSON")
    desc.add_argument("--port", type=int, required=True)
    desc.add_argument("--stack", required=True)
    dep = sub.add_parser("deploy", help="deploy one more stack into a running local AWS (built already); "
                                        "print the outcome as JSON, whether it succeeded or not")
    dep.add_argument("--port", type=int, required=True)
    dep.add_argument("--stack", required=True)
    dep.add_argument("--flow", required=True)
    dep.add_argument("--param", action="append", default=[], help="extra Key=Value parameter override")
    dep.add_argument("--prepare", action="store_true", help="on success, create the demo user too")
    sec = sub.add_parser("secret", help="create a Secrets Manager secret; print its ARN")
    sec.add_argument("--port", type=int, required=True)
    sec.add_argument("--name", required=True)
    sec.add_argument("--value", required=True)
    bld = sub.add_parser("build", help="only `sam build` the functions (no local AWS needed)")
    bld.add_argument("--architecture", choices=["x86_64", "arm64"], default="x86_64")
    bld.add_argument("--build-dir", help="where sam puts the functions (default .aws-sam/build)")
    logs = sub.add_parser("logs", help="print every line the functions logged")
    logs.add_argument("--port", type=int, required=True)
    logs.add_argument("--group-prefix", default="/aws/lambda/", help="another log group (prefix)")
    ex = sub.add_parser("existing-pool", help="create a user pool outside the template (settings, client, user); print ids")
    ex.add_argument("--name", required=True)
    ex.add_argument("--port", type=int, required=True)
    dp = sub.add_parser("describe-pool", help="print DescribeUserPool's pool as JSON")
    dp.add_argument("--pool", required=True)
    dp.add_argument("--port", type=int, required=True)
    ops = sub.add_parser("operations", help="print the alarms, dashboards and SNS subscriptions (JSON)")
    ops.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    if args.command == "up":
        if len(args.stack) != len(args.flow):
            parser.error("give one --flow per --stack")
        start(args.port)
        if not args.no_build:
            build(args.port)
        infos = []
        for stack, flow in zip(args.stack, args.flow):
            deploy(args.port, stack, flow, args.param)
            infos.append(prepare(args.port, stack))
        print(json.dumps(infos))
    elif args.command == "build":
        build(0, args.architecture, args.build_dir)
    elif args.command == "deploy":
        outcome = try_deploy(args.port, args.stack, args.flow, args.param)
        if outcome["ok"] and args.prepare:
            outcome["info"] = prepare(args.port, args.stack)
        print(json.dumps(outcome))
    elif args.command == "secret":
        created = boto(args.port, "secretsmanager").create_secret(Name=args.name, SecretString=args.value)
        print(created["ARN"])
    elif args.command == "demo":
        run_demo(args.port, args.page_port, args.flow)
    elif args.command == "down":
        stop(args.port)
    elif args.command == "mailbox":
        # Run before each prompt of the CLI, with CHALLENGE set: only a code prompt needs it.
        if os.environ.get("CHALLENGE", "EMAIL_OTP") != "EMAIL_OTP":
            return
        found = messages(args.port, args.to)
        if not found:
            print(f"(local mailbox of {args.to} is empty)", file=sys.stderr)
            sys.exit(1)
        m = found[-1]
        print(f"\n--- local mailbox: newest message to {args.to} ---\nFrom: {m.get('Source')}\n"
              f"Subject: {m.get('Subject')}\n\n{m.get('BodyText')}\n---", file=sys.stderr)
    elif args.command == "user":
        add_user(args.port, args.stack, args.username, args.email, args.email_verified == "true", args.phone)
    elif args.command == "password-only":
        print(json.dumps(password_only(args.port, args.stack)))
    elif args.command == "describe":
        print(json.dumps(describe(args.port, args.stack)))
    elif args.command == "existing-pool":
        print(json.dumps(existing_pool(args.port, args.name)))
    elif args.command == "describe-pool":
        print(json.dumps(describe_pool(args.port, args.pool), default=str))
    elif args.command == "logs":
        for line in function_logs(args.port, args.group_prefix):
            print(line)
    elif args.command == "operations":
        # (Fifty alarms a page: every page.)
        alarms = [a for page in boto(args.port, "cloudwatch").get_paginator("describe_alarms").paginate()
                  for a in page.get("MetricAlarms", [])]
        dashboards = boto(args.port, "cloudwatch").list_dashboards().get("DashboardEntries", [])
        subscriptions = boto(args.port, "sns").list_subscriptions().get("Subscriptions", [])
        print(json.dumps({
            "alarms": [{k: a.get(k) for k in ("AlarmName", "Namespace", "MetricName", "Dimensions",
                                               "Threshold", "AlarmActions")} for a in alarms],
            "dashboards": [d["DashboardName"] for d in dashboards],
            "subscriptions": [{"protocol": x.get("Protocol"), "endpoint": x.get("Endpoint")}
                              for x in subscriptions]}))
    elif args.command == "code":
        found = messages(args.port, args.to)
        match = re.search(r"code is (\d+)", found[-1].get("BodyText", "")) if found else None
        if not match:
            sys.exit(1)
        print(match.group(1))


if __name__ == "__main__":
    main()
