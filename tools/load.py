"""Many concurrent sign-ins through the local AWS: `make load` (and a small run in `make test`).

Deploys template.yaml twice into a fresh ministack on 127.0.0.1 (email-otp, and
password,email-otp), or with --attach uses the stacks of a local AWS already running (the
end-to-end test's); creates one user per sign-in, then starts the sign-ins over --ramp seconds
with at most --in-flight at once, each with the real `cognito-signin` CLI: it reads the e-mail
code from the local mailbox of its own user and types it in. Every fifth sign-in
(--password-every) uses the password flow: the emulator checks SRP in pure Python with its
interpreter lock held; every tenth (--link-every) a magic link; every tenth (--passkey-every) a
passkey, registered first through the account API (a code sign-in for a fresh access token,
then the ceremony by a software authenticator, tools/soft_authenticator.py) and then answering
the CLI's PASSKEY round. A tenth of the sign-ins answer wrong codes and must fail. Then one
user's sign-ins at once against the send limit, one user's wrong codes in concurrent sessions
against the lockout, one passkey cloned into concurrent sessions (one counter value signs in
once), and one user's round answered with another's passkey. Checks: every sign-in ends as
expected, each user got exactly its e-mails and only to its own address, each user's passkeys
are its own, the limits hold exactly, the functions logged no unexpected error; prints
sign-ins, failures, p50/p99 wall time, and where the time went by the functions' own metrics
(RELIABILITY.md). Exit 1 on any miss.

    .venv/bin/python tools/load.py --port 4598 --users 100 --in-flight 20
"""

import argparse
import concurrent.futures
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import local_aws  # noqa: E402  (the same start/build/deploy as `make demo`)
import soft_authenticator  # noqa: E402
from load_passkeys import passkey_checks, register_passkeys  # noqa: E402
from load_signin import Mailbox, create_users, one_user_at_once, sign_in  # noqa: E402

RELEASE_CLI = local_aws.ROOT / "target" / "release" / "cognito-signin"


def stateful_checks(args, mailbox, stacks, idp_pool):
    """The store's rules under concurrency, each on a user of its own: sign-ins of one user at
    once get exactly the send limit's codes; wrong answers of one user's concurrent sessions
    begin exactly one lockout, after which no code is sent. Returns the misses."""
    misses = []
    stack = stacks[args.email_stack]
    sender, locked = f"{args.prefix}-sends", f"{args.prefix}-locks"
    create_users(args.port, idp_pool, [sender, locked])
    runs = one_user_at_once(args.cli, args.port, mailbox, stack, sender, args.send_limit + 3, False)
    got = sum(1 for r in runs if r[3])
    mails = len(mailbox.fetch().get(f"{sender}@load.example.com", []))
    if got != args.send_limit or mails != args.send_limit:
        misses.append(f"{args.send_limit + 3} sign-ins of one user at once: {got} got a code, {mails} e-mails; "
                      f"expected exactly {args.send_limit} (OTP_SEND_LIMIT)")
    # (Which session signs in is not checked: the sessions share one mailbox, so each may type
    # another's code.)
    sessions = -(-args.lockout_after // 3) + 1
    limited = sum(1 for r in runs if r[1] == "limited")
    if limited != len(runs) - args.send_limit:
        misses.append(f"one user at once: {[r[1] for r in runs]}; expected {len(runs) - args.send_limit} "
                      "refused by the send limit")
    runs = one_user_at_once(args.cli, args.port, mailbox, stack, locked, sessions, True)
    if any(r[1] not in ("refused", "limited") for r in runs):
        misses.append(f"wrong codes at once: {[r[1] for r in runs]}; expected every one refused")
    after = sign_in(args.cli, args.port, mailbox, stack, locked, False, False, 0.0)
    if after[1] != "limited" or after[3]:
        misses.append(f"after {sessions} sessions of wrong codes at once: {after[1]}, codes typed {len(after[3])}; "
                      "expected refused before any code (locked)")
    return misses, locked

def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def where_the_time_went(lines):
    """From the functions' own metric lines (EMF, crates/custom-auth/src/telemetry): every
    dependency call's time and failures, by function and dependency; and the invocations that
    ended in an error, by what the function logged."""
    calls = {}
    failed_sign_ins = {}
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or "_aws" not in record:
            continue
        if "DependencyLatency" in record:
            key = (record.get("Function"), record.get("Dependency"))
            times, errors = calls.setdefault(key, ([], [0]))
            times.extend(record["DependencyLatency"])
            errors[0] += record.get("DependencyErrors", 0)
        if "SignInsFailed" in record and record.get("Reason"):
            reason = f"{record.get('Function')}: {record['Reason']}"
            failed_sign_ins[reason] = failed_sign_ins.get(reason, 0) + record["SignInsFailed"]
    rows = []
    for (function, dependency), (times, errors) in sorted(calls.items(), key=lambda kv: str(kv[0])):
        rows.append(f"  {function} → {dependency}: {len(times)} calls, p50 {percentile(times, 50):.1f} ms, "
                    f"p99 {percentile(times, 99):.1f} ms, max {max(times):.1f} ms, {errors[0]} failed")
    rows += [f"  sign-ins failed by {reason}: {n}" for reason, n in sorted(failed_sign_ins.items())]
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=4598)
    parser.add_argument("--users", type=int, default=100, help="concurrent sign-ins (one user each)")
    parser.add_argument("--ramp", type=float, default=1.0,
                        help="seconds over which the sign-ins start (all overlap: each takes longer)")
    parser.add_argument("--password-every", type=int, default=5,
                        help="every Nth sign-in uses the password flow, 0 none (the emulator's SRP is costly)")
    parser.add_argument("--in-flight", type=int, default=0,
                        help="at most this many sign-ins at once (0: no cap); the others wait their turn")
    parser.add_argument("--no-build", action="store_true", help="reuse .aws-sam/build")
    parser.add_argument("--attach", action="store_true",
                        help="use the local AWS already on --port and its stacks --email-stack and "
                             "--password-stack (the end-to-end test's): no start, build, deploy or stop")
    parser.add_argument("--link-every", type=int, default=10,
                        help="every Nth sign-in (the first of each N) signs in by a magic link, 0 none")
    parser.add_argument("--link-stack", default="load-link")
    parser.add_argument("--link-url", default="http://127.0.0.1:9/load/",
                        help="the page the links open (one of the link stack's MagicLinkUrls)")
    parser.add_argument("--passkey-every", type=int, default=10,
                        help="every Nth sign-in (the middle of each N) signs in by a passkey, 0 none")
    parser.add_argument("--passkey-stack", default="load-passkey")
    parser.add_argument("--passkey-origin", default="http://localhost:9",
                        help="the origin the software authenticator says (one of the stack's PasskeyOrigins)")
    parser.add_argument("--methods-claim", default="signin_amr",
                        help="the stacks' SignInMethodsClaim: each sign-in's ID token must say its own "
                             "methods there (\"\" for none)")
    parser.add_argument("--email-stack", default="load-email")
    parser.add_argument("--password-stack", default="load-password")
    parser.add_argument("--cli", default=str(RELEASE_CLI), help="the cognito-signin binary (built here unless given)")
    parser.add_argument("--prefix", default="user", help="the users' names begin with it")
    parser.add_argument("--logs", help="write the functions' log lines of the run to this file")
    parser.add_argument("--send-limit", type=int, default=5, help="the stacks' OtpSendLimit")
    parser.add_argument("--lockout-after", type=int, default=10, help="the stacks' LockoutAfterFailures")
    args = parser.parse_args()
    if args.users < 10:
        parser.error("--users must be at least 10")
    if args.password_every < 0:
        parser.error("--password-every must be 0 (none) or more")

    if args.cli == str(RELEASE_CLI):
        local_aws.say("building the sign-in CLI")
        subprocess.run(["cargo", "build", "--release", "--locked", "-q", "-p", "cognito-signin"],
                       cwd=local_aws.ROOT, check=True)
    if not args.attach:
        local_aws.start(args.port)
    since_ms = int(time.time() * 1000)
    try:
        if not args.attach and not args.no_build:
            local_aws.build(args.port)
        flows = {args.email_stack: ("email-otp", False), args.password_stack: ("password,email-otp", True)}
        if args.link_every:
            flows[args.link_stack] = ("magic-link", False)
        if args.passkey_every:
            flows[args.passkey_stack] = ("passkey|email-otp", False)
        stacks = {}
        for name, (flow, _) in flows.items():
            if not args.attach:
                extra = [f"MagicLinkUrls={args.link_url}"] if flow == "magic-link" else []
                if "passkey" in flow:
                    extra += ["PasskeyRpId=localhost", f"PasskeyOrigins={args.passkey_origin}"]
                if args.methods_claim:
                    extra += [f"SignInMethodsClaim={args.methods_claim}"]
                local_aws.deploy(args.port, name, flow, extra)
                local_aws.prepare(args.port, name)
            out = local_aws.outputs(args.port, name)
            stacks[name] = {"userPoolId": out["UserPoolId"], "clientId": out["UserPoolClientId"]}
            if out.get("PasskeyApiId"):
                # (The HTTP API by path on the local AWS, as tools/local_aws.py gives it the page.)
                stacks[name]["passkeyApi"] = f"http://127.0.0.1:{args.port}/_aws/execute-api/{out['PasskeyApiId']}"
        plan = []
        for i in range(args.users):
            every = args.password_every
            if args.link_every and i % args.link_every == 0:
                name = args.link_stack
            elif args.passkey_every and i % args.passkey_every == args.passkey_every // 2:
                name = args.passkey_stack
            elif every and i % every == every - 1:
                name = args.password_stack
            else:
                name = args.email_stack
            wrong = i % 10 == 9 and name not in (args.link_stack, args.passkey_stack)
            plan.append((name, f"{args.prefix}{i:03d}", flows[name][1], wrong))
        for name in flows:
            create_users(args.port, stacks[name]["userPoolId"], [u for s, u, _, _ in plan if s == name])
        mailbox = Mailbox(args.port)
        passkey_users = [u for s, u, _, _ in plan if args.passkey_every and s == args.passkey_stack]
        clone_user = f"{args.prefix}-clone"
        registered, passkey_misses = {}, []
        if passkey_users:
            create_users(args.port, stacks[args.passkey_stack]["userPoolId"], [clone_user])
            local_aws.say(f"{len(passkey_users) + 1} passkeys registered through the account API")
            began = time.monotonic()
            registered, passkey_misses = register_passkeys(args, mailbox, stacks[args.passkey_stack],
                                                           passkey_users + [clone_user])
            registering = time.monotonic() - began
        local_aws.say(f"{len(plan)} concurrent sign-ins across {len(flows)} stacks")
        started = time.monotonic()
        workers = args.in_flight or len(plan)
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            step = args.ramp / len(plan)

            def run(i, stack, user, password, wrong):
                # At its place in the ramp, or when a place in flight frees up, if later.
                delay = max(0.0, started + i * step - time.monotonic())
                link = args.link_url if stack == args.link_stack and args.link_every else None
                passkey = None
                if user in passkey_users:
                    # (An unregistered user's passkey is a fresh one, which its round refuses.)
                    credential = registered.get(user, (None,))[0] or soft_authenticator.Credential("localhost", b"")

                    def passkey(options, credential=credential):
                        return soft_authenticator.get(options, args.passkey_origin, credential)
                return sign_in(args.cli, args.port, mailbox, stacks[stack], user, password, wrong, delay, link,
                               passkey)

            futures = {pool.submit(run, i, s, u, pw, wrong): (s, u, wrong)
                       for i, (s, u, pw, wrong) in enumerate(plan)}
            results = {}
            for future in concurrent.futures.as_completed(futures):
                stack, user, wrong = futures[future]
                results[user] = (stack, wrong, *future.result()[1:])
        total = time.monotonic() - started
        local_aws.say("one user at once: the send limit and the lockout")
        stateful_misses, locked_user = stateful_checks(args, mailbox, stacks,
                                                      stacks[args.email_stack]["userPoolId"])
        if passkey_users:
            local_aws.say("passkeys: each user's own, a cloned one in sessions at once")
            passkey_misses += passkey_checks(args, mailbox, stacks[args.passkey_stack], registered,
                                             clone_user, passkey_users)
        mailbox.stop()

        misses = []
        mailed = mailbox.fetch()
        # How each flow's sign-in passes, as its tokens must say (crates/custom-auth/src/methods.rs;
        # a passkey verified the user, the template's default): the store keeps each sign-in's
        # methods under its own signInId until Pre Token Generation reads them, so a sign-in
        # whose tokens said another's would be cross-talk.
        methods = {args.email_stack: ["otp"], args.password_stack: ["pwd", "otp", "mfa"],
                   args.link_stack: ["link"], args.passkey_stack: ["hwk", "user", "mfa"]}
        for user, (stack, wrong, outcome, seconds, typed, _, _, claims) in sorted(results.items()):
            want = "refused" if wrong else "signed-in"
            if outcome != want:
                misses.append(f"{user} ({stack}): {outcome}, expected {want}")
            if outcome == "signed-in" and args.methods_claim and claims.get(args.methods_claim) != methods[stack]:
                misses.append(f"{user} ({stack}): its tokens say {args.methods_claim} "
                              f"{claims.get(args.methods_claim)}, expected {methods[stack]}")
            mails = mailed.get(f"{user}@load.example.com", [])
            # A passkey user's: the code of the sign-in that added the passkey, and the notice
            # of it; its passkey sign-in sends none.
            expected = 2 if user in passkey_users else 1
            if len(mails) != expected:
                misses.append(f"{user}: {len(mails)} e-mails, expected exactly {expected}")
            for m in mails:
                if m.get("To") != [f"{user}@load.example.com"]:
                    misses.append(f"{user}: an e-mail addressed to {m.get('To')}")
            if not wrong and typed and user not in passkey_users:
                body = mails[-1].get("BodyText", "") if mails else ""
                if typed[-1] not in body:
                    misses.append(f"{user}: typed a code or link that is not in its own e-mail")
        misses += stateful_misses + passkey_misses
        logs = local_aws.function_logs(args.port, since_ms=since_ms)
        if args.logs:
            Path(args.logs).write_text("\n".join(logs) + "\n")
        # (Create's refusals by a limit are errors to the runtime, which logs them: expected of
        # the one-user checks, and the main run's outcomes would show any other.)
        errors = [line for line in logs if '"level":"ERROR"' in line
                  and "Auth(TooManyCodes)" not in line and "Auth(Locked)" not in line]
        # The lockout began once (the audit trail, by the locked user's sub).
        locked_sub = next(a["Value"] for a in local_aws.boto(args.port, "cognito-idp").admin_get_user(
            UserPoolId=stacks[args.email_stack]["userPoolId"], Username=locked_user)["UserAttributes"]
            if a["Name"] == "sub")
        begun = sum(1 for line in logs if '"lockout_begun"' in line and locked_sub in line)
        if begun != 1:
            misses.append(f"{begun} lockout_begun audit lines for the user locked at once; expected exactly 1")
        if errors:
            misses.append(f"{len(errors)} ERROR lines in the function logs, first: {errors[0][:300]}")

        times = [r[3] for r in results.values()]
        # The most sign-ins in flight at one moment.
        edges = sorted([(r[5], 1) for r in results.values()] + [(r[6], -1) for r in results.values()])
        in_flight = peak = 0
        for _, change in edges:
            in_flight += change
            peak = max(peak, in_flight)
        ok = sum(1 for r in results.values() if r[2] == "signed-in")
        refused = sum(1 for r in results.values() if r[2] == "refused")
        on_password = sum(1 for _, _, pw, _ in plan if pw)
        by_link = sum(1 for s, _, _, _ in plan if args.link_every and s == args.link_stack)
        print(f"\nsign-ins: {len(results)} ({on_password} with a password, {by_link} by a magic link, "
              f"{len(passkey_users)} by a passkey), "
              f"started over {args.ramp:.0f} s, "
              f"at most {peak} in flight at once ({ok} signed in, {refused} refused as planned)")
        print(f"failures: {len(misses)}")
        print(f"wall time per sign-in: p50 {percentile(times, 50):.2f} s, p99 {percentile(times, 99):.2f} s, "
              f"max {max(times):.2f} s; all {len(results)} in {total:.1f} s")
        if passkey_users:
            print(f"passkeys registered before the run: {len(registered)} in {registering:.1f} s "
                  "(a code sign-in and the ceremony each)")
        print("where the time went (the functions' own metrics):")
        for row in where_the_time_went(logs):
            print(row)
        for miss in misses[:30]:
            print(f"  miss: {miss}")
        sys.exit(1 if misses else 0)
    finally:
        if not args.attach:
            local_aws.stop(args.port)


if __name__ == "__main__":
    main()
