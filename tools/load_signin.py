"""One sign-in of the load driver (tools/load.py): the real `cognito-signin` CLI, answered from
the local mailbox (codes, magic links) or by a passkey, and the one mailbox poller all
sign-ins share."""

import concurrent.futures
import json
import re
import subprocess
import threading
import time

import local_aws

PASSWORD = "Load-Passw0rd!"
SIGN_IN_LIMIT = 240  # seconds one sign-in may take, queueing included
# What Create says when a limit refuses a sign-in (crates/custom-auth/src/error.rs).
LIMIT_MESSAGES = ("too many codes requested", "too many failed attempts")
# The CLI's line with a PASSKEY round's request (crates/cognito-signin/src/prompt.rs).
PASSKEY_OPTIONS = "passkey request options: "


def create_users(port, pool, names):
    idp = local_aws.boto(port, "cognito-idp")
    for name in names:
        idp.admin_create_user(UserPoolId=pool, Username=name, MessageAction="SUPPRESS", UserAttributes=[
            {"Name": "email", "Value": f"{name}@load.example.com"},
            {"Name": "email_verified", "Value": "true"},
        ])
        idp.admin_set_user_password(UserPoolId=pool, Username=name, Password=PASSWORD, Permanent=True)


class Mailbox:
    """One poller of the local SES mailbox for all sign-ins: a hundred pollers would load the
    emulator more than the sign-ins do, and slow its SES past the functions' 2 s bound."""

    def __init__(self, port):
        self.port = port
        self.by_address = {}
        self.changed = threading.Condition()
        self.stopped = False
        self.thread = threading.Thread(target=self.poll, daemon=True)
        self.thread.start()

    def fetch(self):
        data = json.loads(local_aws.http_get(f"http://127.0.0.1:{self.port}/_ministack/ses/messages", timeout=10))
        by_address = {}
        for per_account in (data.get("messages") or {}).values():
            for m in per_account:
                for to in m.get("To", []):
                    by_address.setdefault(to, []).append(m)
        return by_address

    def poll(self):
        while not self.stopped:
            try:
                by_address = self.fetch()
            except Exception:  # a slow or busy emulator: try again
                by_address = None
            if by_address is not None:
                with self.changed:
                    self.by_address = by_address
                    self.changed.notify_all()
            time.sleep(0.5)

    def wait_for(self, address, pattern, timeout=120):
        """The first group of `pattern` in the newest e-mail to `address` ("no-mail" if none comes)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while time.monotonic() < deadline:
                found = self.by_address.get(address, [])
                match = re.search(pattern, found[-1].get("BodyText", "")) if found else None
                if match:
                    return match.group(1)
                self.changed.wait(1)
        return "no-mail"

    def wait_for_code(self, address):
        return self.wait_for(address, r"code is (\d+)")

    def wait_for_link(self, address):
        """The proof in the newest magic link mailed to `address`."""
        return self.wait_for(address, r"#magic-link=([A-Za-z0-9_.-]+)")

    def stop(self):
        self.stopped = True
        self.thread.join(timeout=15)


def sign_in(cli, port, mailbox, stack, user, password, wrong, delay, link_url=None, passkey=None):
    """One sign-in, started after `delay` seconds, by an e-mailed code or, with `link_url`, by a
    magic link to that page (asked for, then its proof typed as the page would send it), or,
    with `passkey` (request options -> the credential JSON), by a passkey chosen in the flow's
    choice; returns (user, outcome, seconds, codes or proofs typed, start, end, ID token claims)."""
    time.sleep(delay)
    env = {**local_aws.aws_env(port), "NO_COLOR": "1"}
    args = [str(cli), "--user-pool-id", stack["userPoolId"], "--client-id", stack["clientId"],
            "--username", user]
    if password:
        args += ["--with-password"]
        env["COGNITO_SIGNIN_PASSWORD"] = PASSWORD
    if link_url:
        args += ["--client-metadata", "magicLink=request", "--client-metadata", f"redirectUri={link_url}"]
    if passkey:
        args += ["--answer", "passkey"]
    started = time.monotonic()
    proc = subprocess.Popen(args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    typed = []
    said = []
    timer = threading.Timer(SIGN_IN_LIMIT, proc.kill)
    timer.start()

    def type_in(answer, noted=None):
        typed.append(noted or answer)
        proc.stdin.write(answer + "\n")
        proc.stdin.flush()

    try:
        for line in proc.stderr:
            said.append(line.rstrip())
            if passkey and line.startswith(PASSKEY_OPTIONS):
                credential = passkey(json.loads(line[len(PASSKEY_OPTIONS):]))
                type_in(json.dumps(credential, separators=(",", ":")), noted="passkey")
            elif link_url and "challenge MAGIC_LINK" in line:
                # First ask for a link (an answer that is never right, and counts as no
                # failure); then type the proof from the link that came.
                type_in(mailbox.wait_for_link(f"{user}@load.example.com") if typed else "request")
            elif "a code was sent to" in line:
                if wrong:
                    type_in("000000" if not typed else f"00000{len(typed)}")
                else:
                    type_in(mailbox.wait_for_code(f"{user}@load.example.com"))
        out, _ = proc.communicate()
    finally:
        timer.cancel()
        # (A driver error above leaves the CLI waiting for an answer: it goes with the error.)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    ended = time.monotonic()
    seconds = ended - started
    claims = {}
    if proc.returncode == 0:
        claims = json.loads(out)
        outcome = "signed-in" if claims.get("cognito:username") == user else "wrong-user"
    elif proc.returncode == 2:
        outcome = "refused"
    elif said and any(limit in said[-1] for limit in LIMIT_MESSAGES):
        # A limit of the state store: Create refuses with its fixed message (a trigger error).
        outcome = "limited"
    else:
        outcome = f"error(exit {proc.returncode}: {said[-1] if said else ''})"
    return user, outcome, seconds, typed, started, ended, claims


def one_user_at_once(cli, port, mailbox, stack, user, runs, wrong, passkey=None):
    """`runs` sign-ins of one `user` at once, each typing its code (or three wrong ones), or
    answering by `passkey`: what `sign_in` returns of each."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=runs) as pool:
        futures = [pool.submit(sign_in, cli, port, mailbox, stack, user, False, wrong, 0.0, None, passkey)
                   for _ in range(runs)]
        return [f.result() for f in futures]
