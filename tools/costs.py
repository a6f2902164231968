#!/usr/bin/env python3
"""What a million sign-ins cost, per flow: the arithmetic of BENCHMARKS.md's cost table, run by
`make bench` after the harness (which writes target/bench-runtime.json, the warm medians).

For each flow, one successful sign-in of a user with no window running, the state store on and
no claims (no Pre Token Generation):
- Lambda: the invocations Cognito makes (Define after each round, Create and Verify per custom
  round), each billed at 128 MB on arm64 for its duration rounded up to the millisecond: the
  handler's own time (the harness's warm median, measured) plus the time it waits on AWS
  (ASSUMED below: in-region latencies this machine cannot measure).
- DynamoDB on demand: the requests each round makes, as aws-io makes them (a conditional
  UpdateItem is 1 write unit even when its condition fails; a strongly consistent GetItem of an
  item under 4 KB is 1 read unit; each item of a transaction, condition checks included, 2
  write units).
- KMS: a magic link's signature (ECC, an asymmetric request).
SES and SNS are listed apart: every implementation sends the same messages.

Usage: tools/costs.py [target/bench-runtime.json]
"""

import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Prices in us-east-1, read 2026-12-06. AWS's pricing pages are not reachable from this
# machine; the figures are from copies of them: Lambda's page as archived 2026-06-18, DynamoDB
# on-demand after its November 2024 reduction, KMS as summarised June 2026.
PRICES = {
    "lambda_request": 0.20 / 1e6,          # per request
    "lambda_gb_second_arm64": 0.0000133334,  # per GB-second, first tier
    "dynamodb_write_unit": 0.625 / 1e6,     # on demand, per write request unit
    "dynamodb_read_unit": 0.125 / 1e6,      # on demand, per read request unit
    "kms_asymmetric_request": 0.15 / 1e4,   # Sign with an ECC key
    "ses_email": 0.10 / 1000,               # outbound e-mail
}
MEMORY_GB = 128 / 1024

# ASSUMED waits on AWS, in milliseconds (in-region, connection kept): not measured here.
WAIT_MS = {"dynamodb": 5.0, "dynamodb_transaction": 10.0, "ses": 40.0, "kms_sign": 15.0}

# The harness's rows each invocation's handler time is read from.
DEFINE = "define"
CREATE = "create (e-mail code, state store)"
VERIFY = "verify (state store)"
VERIFY_PASSKEY = "verify (passkey ES256, state store)"

# One invocation: (handler row, waits, DynamoDB write units, read units, KMS signs, e-mails).
def define():
    return (DEFINE, [], 0, 0, 0, 0)


FLOWS = {
    # SRP_A and PASSWORD_VERIFIER each end in Define; the code round: Create counts the send
    # (two conditional updates: the running window's refuses, a new window starts) and mails;
    # Verify admits the right code (one consistent GetItem of the lock); Define issues tokens.
    "password + e-mail code": [
        define(), define(),
        (CREATE, ["dynamodb", "dynamodb", "ses"], 2, 0, 0, 1),
        (VERIFY, ["dynamodb"], 0, 1, 0, 0),
        define(),
    ],
    "e-mail code": [
        define(),
        (CREATE, ["dynamodb", "dynamodb", "ses"], 2, 0, 0, 1),
        (VERIFY, ["dynamodb"], 0, 1, 0, 0),
        define(),
    ],
    # Create reads the person's passkeys (one consistent GetItem); Verify's admission is one
    # transaction: the lock's condition check, the spent challenge, the passkey's new counter.
    "passkey": [
        define(),
        (CREATE, ["dynamodb"], 0, 1, 0, 0),
        (VERIFY_PASSKEY, ["dynamodb_transaction"], 6, 0, 0, 0),
        define(),
    ],
    # The first round asks for a link (Verify: not a right answer, nothing stored); the second
    # Create counts the send and records the newest link (two conditional updates), signs it
    # with KMS and mails it; Verify admits the link in one transaction (the lock and newest
    # link's condition check, the spent link).
    "magic link": [
        define(),
        (CREATE, [], 0, 0, 0, 0),
        (VERIFY, [], 0, 0, 0, 0),
        define(),
        (CREATE, ["dynamodb", "dynamodb", "kms_sign", "ses"], 2, 0, 1, 1),
        (VERIFY, ["dynamodb_transaction"], 4, 0, 0, 0),
        define(),
    ],
}


def table(runtime):
    rows = []
    for flow, invocations in FLOWS.items():
        requests = len(invocations)
        billed_ms = 0
        writes = reads = signs = mails = 0
        for row, waits, w, r, k, m in invocations:
            handler_ms = runtime[row]["warm_p50_us"] / 1000
            billed_ms += max(1, math.ceil(handler_ms + sum(WAIT_MS[x] for x in waits)))
            writes, reads, signs, mails = writes + w, reads + r, signs + k, mails + m
        gb_seconds = MEMORY_GB * billed_ms / 1000
        per_million = {
            "lambda": 1e6 * (requests * PRICES["lambda_request"]
                             + gb_seconds * PRICES["lambda_gb_second_arm64"]),
            "dynamodb": 1e6 * (writes * PRICES["dynamodb_write_unit"] + reads * PRICES["dynamodb_read_unit"]),
            "kms": 1e6 * signs * PRICES["kms_asymmetric_request"],
            "ses": 1e6 * mails * PRICES["ses_email"],
        }
        rows.append((flow, requests, billed_ms, gb_seconds, writes, reads, signs, mails, per_million))
    return rows


def main():
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "target/bench-runtime.json"
    runtime = json.loads(path.read_text())
    print("\n## A million sign-ins (tools/costs.py; prices us-east-1, read 2026-12-06)\n")
    print("| flow | Lambda requests | billed ms | GB-s | DynamoDB WRU / RRU | KMS signs "
          "| Lambda $ | DynamoDB $ | KMS $ | ours $ | SES e-mails (same for all) $ |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for flow, requests, billed_ms, gb_s, writes, reads, signs, mails, cost in table(runtime):
        ours = cost["lambda"] + cost["dynamodb"] + cost["kms"]
        print(f"| {flow} | {requests} | {billed_ms} | {gb_s:.6f} | {writes} / {reads} | {signs} "
              f"| {cost['lambda']:.2f} | {cost['dynamodb']:.2f} | {cost['kms']:.2f} | **{ours:.2f}** "
              f"| {cost['ses']:.2f} |")
    print("\nPer sign-in counts; dollars per million sign-ins. Billed ms: the handlers' measured warm "
          f"medians plus ASSUMED waits on AWS ({', '.join(f'{k} {v:g} ms' for k, v in WAIT_MS.items())}), "
          "each invocation rounded up to 1 ms. SMS (SNS) costs by destination country and is the same "
          "for every implementation. Cold starts (a few per thousand invocations at steady load) add "
          "their init time, billed since 2025.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
