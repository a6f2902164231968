#!/usr/bin/env python3
"""Checks what cfn-lint and `sam validate` cannot see: the template as CloudFormation would
deploy it for each set of parameters a user may choose.

For every parameter set below, the SAM template is transformed with the SAM translator (the
same code `sam deploy` runs), its conditions are evaluated with the parameters, and what
CloudFormation would create is checked:

- every IAM policy has at least one statement (IAM refuses an empty one: the role would end
  CREATE_FAILED, as `StateStore=false` once did);
- a flow that sends e-mail without a sender deploys the resource that fails the deploy, and no
  other flow does;
- the pool is on the Essentials plan exactly when Pre Token Generation (event version 2) is
  deployed, and says LITE otherwise (a pool without a tier is created on Essentials);
- the magic-link key's policy grants no wildcard and lets only Create's role sign;
- the state table and its key are kept on stack deletion and on replacement, yet deleted when
  the first deploy fails (RetainExceptOnCreate), with DynamoDB's deletion protection off by
  default;
- every function name fits Lambda's 64 characters under a 52-character stack name;
- SES sends are allowed only from the sender (`ses:FromAddress`);
- no function's environment holds a secret (a `{{resolve:...}}` reference, a NoEcho
  parameter's value, or a secret variable itself): secrets are named by ARN and read at start;
- every DynamoDB permission is limited to item-key prefixes (`dynamodb:LeadingKeys`);
- every secret a function is given by ARN, its role may read (and nothing else of Secrets
  Manager);
- every variable a function gets is one its code reads (Define: the three of
  `Config::for_define`, which a unit test pins; the others: a name their crates spell).

Run by `make template-lint` with the project .venv (the SAM translator comes with the SAM
CLI). Exits non-zero listing every finding. `tools/template_check.py [TEMPLATE]` checks another
file (an older template, to see a finding the check exists for).
"""

import copy
import json
import re
import sys
from pathlib import Path

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parent.parent
SENDER = "no-reply@example.com"
STACK = "s" * 52

# Each set is what a user may deploy; `Email` marks whether the flow sends e-mail.
PARAMETER_SETS = {
    "defaults with a sender": {"OtpEmailFrom": SENDER},
    "defaults without a sender": {},
    "stateless": {"AuthFlow": "email-otp", "OtpEmailFrom": SENDER, "StateStore": "false"},
    "sms": {"AuthFlow": "password,sms-otp"},
    "magic links, kms": {"AuthFlow": "magic-link", "OtpEmailFrom": SENDER,
                         "MagicLinkUrls": "https://app.example.com/signin"},
    "magic links, hmac": {"AuthFlow": "email-otp|magic-link", "OtpEmailFrom": SENDER,
                          "MagicLinkSigning": "hmac", "MagicLinkUrls": "https://app.example.com/signin"},
    "hand-off": {"AuthFlow": "email-otp", "OtpEmailFrom": SENDER,
                 "SignedTokenSecret": "hand-off-secret-" + "x" * 24, "SignedTokenIssuer": "backend"},
    "passkeys": {"AuthFlow": "passkey|email-otp", "OtpEmailFrom": SENDER, "PasskeyRpId": "example.com",
                 "PasskeyOrigins": "https://example.com"},
    "passkeys without e-mail": {"AuthFlow": "passkey|sms-otp", "PasskeyRpId": "example.com",
                                "PasskeyOrigins": "https://example.com"},
    "account claim": {"AuthFlow": "email-otp,select-account", "OtpEmailFrom": SENDER},
    "account, no claim": {"AuthFlow": "email-otp,select-account", "OtpEmailFrom": SENDER,
                          "SelectedAccountClaim": ""},
    "account, stateless": {"AuthFlow": "select-account", "StateStore": "false"},
    "captcha": {"AuthFlow": "captcha,email-otp", "OtpEmailFrom": SENDER, "CaptchaSiteKey": "k",
                "CaptchaSecret": "captcha-secret-value-0123456789"},
    "hand-off and captcha by existing secrets": {
        "AuthFlow": "captcha,email-otp", "OtpEmailFrom": SENDER, "CaptchaSiteKey": "k",
        "CaptchaSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:captcha-AbCdEf",
        "SignedTokenSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:hand-off-AbCdEf"},
    "self sign-up": {"AuthFlow": "email-otp", "OtpEmailFrom": SENDER, "AllowSelfSignUp": "true"},
    "methods claim": {"AuthFlow": "password,email-otp", "OtpEmailFrom": SENDER,
                      "SignInMethodsClaim": "signin_amr"},
    "remembered devices": {"AuthFlow": "password,device|email-otp", "OtpEmailFrom": SENDER,
                           "SignInMethodsClaim": "signin_amr", "PasskeyOrigins": "https://example.com"},
    "devices and passkeys": {"AuthFlow": "passkey|device|email-otp", "OtpEmailFrom": SENDER,
                             "SignInMethodsClaim": "signin_amr", "PasskeyRpId": "example.com",
                             "PasskeyOrigins": "https://example.com"},
    "devices without the methods claim": {"AuthFlow": "password,device|email-otp", "OtpEmailFrom": SENDER},
    "methods claim, stateless": {"AuthFlow": "email-otp", "OtpEmailFrom": SENDER, "StateStore": "false",
                                 "SignInMethodsClaim": "signin_amr"},
    "alarms to an address": {"AuthFlow": "password,sms-otp|email-otp", "OtpEmailFrom": SENDER,
                             "AlarmEmail": "ops@example.com", "MetricsNamespace": "Acme/SignIn"},
    "metrics off": {"OtpEmailFrom": SENDER, "Metrics": "off", "AlarmEmail": "ops@example.com"},
    "no success alarm": {"OtpEmailFrom": SENDER, "SuccessRatioAlarmPercent": "0"},
}

NO_VALUE = object()

# The secret variables: none may be in a function's environment (their `_ARN` forms may).
SECRET_VARIABLES = ("AUTH_STATE_KEY", "CAPTCHA_SECRET", "MAGIC_LINK_SECRET", "SIGNED_TOKEN_SECRET")

# Define reads these alone (`Config::for_define`; `define_reads_its_own_variables_and_no_secret`),
# and the metrics' two (`Telemetry::from_lookup`, which every function reads).
DEFINE_READS = {"AUTH_FLOW", "AUTH_FLOWS", "AUTH_MAX_ATTEMPTS", "METRICS", "METRICS_NAMESPACE"}

# Each function's crate, for the names its code reads.
CRATES = {
    "CreateAuthChallengeFunction": "create-auth-challenge",
    "VerifyAuthChallengeFunction": "verify-auth-challenge",
    "PreTokenGenerationFunction": "pre-token-generation",
    "PasskeyApiFunction": "passkey-api",
}


def names_read(crate):
    """The upper-case names the function's code spells as string literals: its own crate's,
    the shared crate's and aws-io's (a superset of what it reads, which is enough to catch a
    variable nobody reads)."""
    names = set()
    for folder in (f"crates/{crate}/src", "crates/custom-auth/src", "crates/aws-io/src"):
        for path in (ROOT / folder).rglob("*.rs"):
            names.update(re.findall(r'"([A-Z][A-Z0-9_]{2,})"', path.read_text()))
    return names


class NoManagedPolicies:
    """The SAM translator asks IAM for managed policy ARNs only for policy names it does not
    know; this template names none."""

    def load(self):
        return {}


def sam_transform(template):
    template = copy.deepcopy(template)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            # `sam build` puts the built code here; the translator wants an S3 location.
            resource["Properties"]["CodeUri"] = "s3://bucket/key"
    return transform(template, {}, NoManagedPolicies())


class Evaluator:
    """CloudFormation's intrinsic functions, as far as conditions and Fn::If need them."""

    def __init__(self, template, parameters):
        self.parameters = {
            name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()
        }
        self.parameters.update(parameters)
        for name, spec in template.get("Parameters", {}).items():
            if spec.get("Type") == "CommaDelimitedList":
                self.parameters[name] = self.parameters[name].split(",")
        self.parameters.update({"AWS::StackName": STACK, "AWS::Region": "us-east-1",
                                "AWS::AccountId": "123456789012", "AWS::Partition": "aws"})
        self.raw_conditions = template.get("Conditions", {})
        self.conditions = {}

    def condition(self, name):
        if name not in self.conditions:
            self.conditions[name] = bool(self.value(self.raw_conditions[name]))
        return self.conditions[name]

    def value(self, node):
        if isinstance(node, list):
            out = [self.value(item) for item in node]
            return [item for item in out if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                if arg == "AWS::NoValue":
                    return NO_VALUE
                return self.parameters.get(arg, node)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::If":
                name, yes, no = arg
                return self.value(yes if self.condition(name) else no)
            if key == "Fn::Equals":
                left, right = (self.value(a) for a in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.value(arg[0])
            if key == "Fn::And":
                return all(self.value(a) for a in arg)
            if key == "Fn::Or":
                return any(self.value(a) for a in arg)
            if key == "Fn::Split":
                separator, text = arg
                text = self.value(text)
                return text.split(separator) if isinstance(text, str) else node
            if key == "Fn::Select":
                index, items = arg
                items = self.value(items)
                return items[int(index)] if isinstance(items, list) else node
            if key == "Fn::Sub":
                text, names = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                names = {name: self.value(value) for name, value in names.items()}

                def put(match):
                    name = match.group(1)
                    value = names.get(name, self.parameters.get(name))
                    return value if isinstance(value, str) else match.group(0)
                return re.sub(r"\$\{([A-Za-z0-9:]+)\}", put, text)
            if key == "Fn::Join":
                separator, items = arg
                items = self.value(items)
                if isinstance(items, list) and all(isinstance(i, str) for i in items):
                    return separator.join(items)
                return {"Fn::Join": [separator, items]}
        out = {key: self.value(item) for key, item in node.items()}
        return {key: item for key, item in out.items() if item is not NO_VALUE}

    def deployed(self, template):
        """The resources CloudFormation would create, their conditions and Fn::Ifs resolved."""
        resources = {}
        for name, resource in template["Resources"].items():
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            resources[name] = self.value(resource)
        return resources


def statements(document):
    found = document.get("Statement", [])
    return found if isinstance(found, list) else [found]


def role_statements(resources, action):
    """(role, statement) for every statement of the roles' inline policies naming `action`
    (or any action it begins)."""
    for name, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in statements(policy["PolicyDocument"]):
                if action in json.dumps(statement.get("Action")):
                    yield name, statement


def telemetry_names():
    """The metric names, dimensions and reasons the functions' code spells (telemetry, flow)."""
    names = set()
    for rel in ("crates/custom-auth/src/telemetry/emf.rs", "crates/custom-auth/src/triggers/report.rs",
                "crates/custom-auth/src/flow.rs"):
        names.update(re.findall(r'"([A-Za-z][A-Za-z0-9-]+)"', (ROOT / rel).read_text()))
    return names


def check_operations(evaluator, resources, finding):
    """The alarms and the dashboard: there exactly when metrics are on; every alarm on a metric
    the functions write, in the namespace they write it to, with dimensions and values their
    code spells; notifying the topic exactly when there is an address to notify."""
    metrics_on = evaluator.parameters["Metrics"] == "on"
    alarms = {n: r for n, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    dashboards = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    if not metrics_on and (alarms or dashboards):
        finding(f"metrics off, yet {sorted(alarms)} and {len(dashboards)} dashboard(s) deployed")
    if metrics_on and (len(dashboards) != 1 or not {"DefineErrorsAlarm", "VerifyErrorsAlarm"} <= set(alarms)):
        finding("metrics on, yet no dashboard or no trigger error alarms")
    if ("AccountApiErrorsAlarm" in alarms) != (metrics_on and "PasskeyApiFunction" in resources):
        finding("the account API's error alarm is not there exactly when the API and metrics are")
    wants_ratio = metrics_on and str(evaluator.parameters["SuccessRatioAlarmPercent"]) != "0"
    if ("SuccessRatioAlarm" in alarms) != wants_ratio:
        finding(f"SuccessRatioAlarm deployed={'SuccessRatioAlarm' in alarms}, wanted {wants_ratio}")
    namespaces = {json.dumps(r["Properties"]["Environment"]["Variables"].get("METRICS_NAMESPACE"))
                  for r in resources.values() if r["Type"] == "AWS::Lambda::Function"}
    if len(namespaces) != 1:
        finding(f"the functions write metrics to several namespaces: {namespaces}")
    spelled = telemetry_names()
    topic = "AlarmTopic" in resources
    if topic != bool(evaluator.parameters["AlarmEmail"]):
        finding(f"AlarmTopic deployed={topic} with AlarmEmail {evaluator.parameters['AlarmEmail']!r}")
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        stats = [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m]
        if not stats:
            stats = [{"Namespace": props.get("Namespace"), "MetricName": props.get("MetricName"),
                      "Dimensions": props.get("Dimensions", [])}]
        for metric in stats:
            if metric["Namespace"] == "AWS/Lambda":
                continue
            if json.dumps(metric["Namespace"]) not in namespaces:
                finding(f"{name}: namespace {metric['Namespace']} is not the functions'")
            if metric["MetricName"] not in spelled:
                finding(f"{name}: no function writes {metric['MetricName']}")
            for dim in metric.get("Dimensions", []):
                if dim["Name"] not in spelled or dim["Value"] not in spelled | {"email", "sms"}:
                    finding(f"{name}: dimension {dim} is not one the functions write")
        ids = {m["Id"] for m in props.get("Metrics", [])}
        for m in props.get("Metrics", []):
            expression = m.get("Expression")
            if isinstance(expression, dict):
                expression = expression.get("Fn::Sub", "")
            for used in re.findall(r"\b([a-z][a-z0-9_]*)\b", expression or ""):
                if used not in ids | {"fill", "if"} and used.upper() != used:
                    finding(f"{name}: expression names {used}, which is no metric id")
        actions = props.get("AlarmActions", [])
        if bool(actions) != topic:
            finding(f"{name}: alarm actions {actions} with AlarmTopic deployed={topic}")
    for dashboard in dashboards:
        body = dashboard["Properties"]["DashboardBody"]
        body = body if isinstance(body, str) else body["Fn::Sub"][0]
        try:
            parsed = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))
        except ValueError as e:
            finding(f"the dashboard body is not JSON once substituted: {e}")
            continue
        for widget in parsed["widgets"]:
            text = json.dumps(widget)
            for metric in re.findall(r'MetricName=\\"([A-Za-z]+)', text) + [
                    m[1] for m in widget["properties"].get("metrics", []) if len(m) > 1 and isinstance(m[1], str) and m[1] != "."]:
                if metric not in spelled:
                    finding(f"dashboard: no function writes {metric}")


EXISTING_POOL = {"ExistingUserPoolId": "us-east-1_Existing9", "ExistingUserPoolClientIds": "webclient1,mobileclient2"}
EXISTING_HANDOFF = "backendclient3"


def check_existing_pool(evaluator, resources, finding):
    """On a pool that exists: no pool, app client or SMS role of the stack's own; every
    trigger permission and the account API's authorizer name that pool and its clients; each
    function's flows name exactly the listed clients (and the hand-off's)."""
    pool_id = evaluator.parameters["ExistingUserPoolId"]
    clients = evaluator.parameters["ExistingUserPoolClientIds"]
    arn = f"arn:aws:cognito-idp:us-east-1:123456789012:userpool/{pool_id}"
    for own in ("UserPool", "UserPoolClient", "HandoffClient", "CognitoSmsRole"):
        if own in resources:
            finding(f"{own} deployed on an existing pool")
    for name, resource in resources.items():
        if resource["Type"] == "AWS::Lambda::Permission" and \
                resource["Properties"]["Principal"] == "cognito-idp.amazonaws.com" and \
                resource["Properties"]["SourceArn"] != arn:
            finding(f"{name}: SourceArn {resource['Properties']['SourceArn']} is not the existing pool's")
        if resource["Type"] == "AWS::ApiGatewayV2::Authorizer":
            jwt = resource["Properties"]["JwtConfiguration"]
            if jwt["Audience"] != clients or jwt["Issuer"] != f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}":
                finding(f"{name}: JWT audience {jwt['Audience']} issuer {jwt['Issuer']}")
    handoff = evaluator.parameters["ExistingHandoffClientId"]
    want = {client: evaluator.parameters["AuthFlow"] for client in clients}
    if handoff:
        want[handoff] = "signed-token"
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function" or name == "PasskeyApiFunction":
            continue
        variables = resource["Properties"]["Environment"]["Variables"]
        try:
            named = json.loads(variables["AUTH_FLOWS"])
        except (TypeError, ValueError, KeyError):
            finding(f"{name}: AUTH_FLOWS {variables.get('AUTH_FLOWS')!r} is not a JSON object")
            continue
        got = {client: flow for key, flow in named.items() for client in key.split(",")}
        if got != want or variables.get("AUTH_FLOW"):
            finding(f"{name}: flows {got} (AUTH_FLOW {variables.get('AUTH_FLOW')!r}), wanted {want}")


def check(label, template, parameters):
    evaluator = Evaluator(template, parameters)
    resources = evaluator.deployed(template)
    findings = []

    def finding(text):
        findings.append(f"{label}: {text}")

    # Every IAM policy has a statement.
    for name, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                if not statements(policy.get("PolicyDocument", {})):
                    finding(f"{name}: policy {policy.get('PolicyName')} has no statement (IAM refuses it)")
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            if not statements(props.get("PolicyDocument", {})):
                finding(f"{name}: a policy with no statement (IAM refuses it)")

    # A flow that sends e-mail needs a sender: the deploy fails without one.
    sends_email = any(step in evaluator.parameters["AuthFlow"] for step in ("email-otp", "magic-link"))
    refuses = "OtpEmailFromIsRequiredByAuthFlow" in resources
    if refuses != (sends_email and not evaluator.parameters["OtpEmailFrom"]):
        finding(f"OtpEmailFromIsRequiredByAuthFlow deployed={refuses} for a flow that "
                f"{'sends' if sends_email else 'sends no'} e-mail, sender {evaluator.parameters['OtpEmailFrom']!r}")

    # A flow with device gets the device routes (and the account API) exactly with the store
    # and the methods' claim; without them its functions refuse to start, naming the variable.
    flow = evaluator.parameters["AuthFlow"]
    devices_ok = "device" in flow and evaluator.parameters["StateStore"] == "true" \
        and bool(evaluator.parameters["SignInMethodsClaim"])
    if devices_ok != ("DeviceRememberRoute" in resources):
        finding(f"device routes {'missing' if devices_ok else 'present'} for {flow!r}")
    if ("PasskeyApiFunction" in resources) != (devices_ok or "PasskeyStartRoute" in resources):
        finding("the account API function without a route set, or routes without it")

    # Essentials exactly with Pre Token Generation V2; LITE said otherwise. (An existing
    # pool keeps its plan: `cognito-signin pool attach` refuses a Lite pool a V2 trigger.)
    pre_token = "PreTokenGenerationFunction" in resources
    if evaluator.parameters["ExistingUserPoolId"]:
        check_existing_pool(evaluator, resources, finding)
    else:
        tier = resources["UserPool"]["Properties"].get("UserPoolTier")
        if tier != ("ESSENTIALS" if pre_token else "LITE"):
            finding(f"UserPoolTier {tier!r} with Pre Token Generation {'on' if pre_token else 'off'}")
    # The paid plan only when asked for: a claim named, the state store on, and for the
    # account claim a flow that selects an account.
    stateful = evaluator.parameters["StateStore"] == "true"
    account = "select-account" in evaluator.parameters["AuthFlow"] and evaluator.parameters["SelectedAccountClaim"]
    methods = evaluator.parameters["SignInMethodsClaim"]
    if pre_token != bool(stateful and (account or methods)):
        finding(f"Pre Token Generation {'on' if pre_token else 'off'} with StateStore={stateful}, "
                f"account claim {bool(account)}, methods claim {bool(methods)}")

    # The magic-link key: no wildcard action, signing for Create's role alone.
    key = resources.get("MagicLinkKey")
    if key:
        for statement in statements(key["Properties"]["KeyPolicy"]):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a in ("kms:*", "*") or a.startswith("kms:Sign") for a in actions):
                condition = statement.get("Condition", {}).get("ArnEquals", {}).get("aws:PrincipalArn")
                if "kms:*" in actions or "*" in actions or condition != {"Fn::GetAtt": ["CreateAuthChallengeFunctionRole", "Arn"]}:
                    finding(f"MagicLinkKey: statement {statement.get('Sid')} lets more than Create's role sign")
            principal = statement.get("Principal", {}).get("AWS")
            if principal != "arn:aws:iam::123456789012:root" and principal != {
                    "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}:
                finding(f"MagicLinkKey: statement {statement.get('Sid')} names a principal KMS may not see yet")

    # The state table and its key: kept on deletion and replacement, deleted on a failed create.
    for name in ("AuthStateTable", "AuthStateKey"):
        resource = resources.get(name)
        if resource and (resource.get("DeletionPolicy") != "RetainExceptOnCreate"
                         or resource.get("UpdateReplacePolicy") != "Retain"):
            finding(f"{name}: DeletionPolicy {resource.get('DeletionPolicy')}, "
                    f"UpdateReplacePolicy {resource.get('UpdateReplacePolicy')}")
    table = resources.get("AuthStateTable")
    if table and table["Properties"].get("DeletionProtectionEnabled") is not False and \
            "StateTableDeletionProtection" not in parameters:
        finding("AuthStateTable: deletion protection on by default (a failed first deploy cannot roll back)")

    # Function names within Lambda's 64 characters.
    for name, resource in resources.items():
        if resource["Type"] == "AWS::Lambda::Function":
            function_name = resource["Properties"].get("FunctionName")
            if isinstance(function_name, dict) and "Fn::Sub" in function_name:
                function_name = function_name["Fn::Sub"].replace("${AWS::StackName}", STACK)
            if isinstance(function_name, str) and len(function_name) > 64:
                finding(f"{name}: function name of {len(function_name)} characters with a 52-character stack name")

    # SES: from the sender only.
    for name, statement in role_statements(resources, "ses:SendEmail"):
        sender = statement.get("Condition", {}).get("StringEquals", {}).get("ses:FromAddress")
        if sender != evaluator.parameters["OtpEmailFrom"] or not (sender or refuses):
            finding(f"{name}: ses:SendEmail not limited to the sender (ses:FromAddress {sender!r})")

    # Each secret a function is given by ARN, its role may read; it may read no other.
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        given = {json.dumps(v) for k, v in variables.items() if k.endswith("_ARN") and v not in ("", None)}
        readable = set()
        role = {f"{name}Role": resources.get(f"{name}Role", {"Type": ""})}
        for _, statement in role_statements(role, "secretsmanager:GetSecretValue"):
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            readable |= {json.dumps(t) for t in targets}
        if given != readable:
            finding(f"{name}: secrets given {sorted(given)} but readable {sorted(readable)}")

    # DynamoDB: each function's items by key prefix.
    for name, statement in role_statements(resources, "dynamodb:"):
        keys = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
        if not keys or any(not k.endswith("#*") for k in keys):
            finding(f"{name}: DynamoDB actions without dynamodb:LeadingKeys by item prefix")

    # No secret in any function's environment; only variables its code reads.
    no_echo = {name for name, spec in template.get("Parameters", {}).items() if spec.get("NoEcho")}
    secret_values = {evaluator.parameters[name] for name in no_echo if evaluator.parameters.get(name)}
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        for key, value in variables.items():
            text = json.dumps(value)
            if "{{resolve:" in text or any(secret in text for secret in secret_values):
                finding(f"{name}: {key} holds a secret value (name it by ARN)")
            if key in SECRET_VARIABLES:
                finding(f"{name}: {key} in the environment (give {key}_ARN)")
        reads = DEFINE_READS if name == "DefineAuthChallengeFunction" else names_read(CRATES.get(name, ""))
        for key in variables:
            if key not in reads:
                finding(f"{name}: {key} is not a variable its code reads")
    check_operations(evaluator, resources, finding)
    return findings, resources


def main():
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "template.yaml"
    template = yaml_parse(path.read_text())
    transformed = sam_transform(template)
    findings = []
    # Every set twice: with the stack's own pool, and on a pool that exists.
    for label, parameters in PARAMETER_SETS.items():
        found, resources = check(label, transformed, parameters)
        findings += found
        existing = dict(parameters, **EXISTING_POOL)
        if any(parameters.get(k) for k in ("SignedTokenSecret", "SignedTokenSecretArn")):
            existing["ExistingHandoffClientId"] = EXISTING_HANDOFF
        found_existing, on_existing = check(f"{label} (existing pool)", transformed, existing)
        findings += found_existing
        print(f"  {label}: {len(resources)} resources, {len(found)} findings; "
              f"on an existing pool {len(on_existing)} resources, {len(found_existing)} findings")
    if findings:
        print("template check: findings", *findings, sep="\n  ", file=sys.stderr)
        return 1
    print(f"template check: {len(PARAMETER_SETS)} parameter sets, each on a new and an existing pool, no findings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
