#!/usr/bin/env bash
# Runs each cargo-fuzz target for FUZZ_SECONDS (default 60), seeded from events/, and prints
# executions and crashes per target. Exit status 1 if any target crashed.
# Needs nightly (installed on this machine) and cargo-fuzz, which `make fuzz` installs pinned.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
targets="${FUZZ_TARGETS:-define create verify passkey_api}"

for target in $targets; do
    corpus="fuzz/corpus/$target"
    mkdir -p "$corpus"
    # Seeds: every event of this trigger, the hostile ones included. Create's input starts with
    # one mode byte (RNG seed, and whether delivery succeeds), so its seeds get one prepended.
    if [ "$target" = passkey_api ]; then
        # The API target reads {method, path, claims, body}: a few requests of each route.
        claims='{"token_use":"access","username":"jane","iss":"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Fuzz"}'
        printf '{"method":"GET","path":"/passkeys","claims":%s}' "$claims" >"$corpus/seed-list"
        printf '{"method":"POST","path":"/passkeys/registration","claims":%s}' "$claims" >"$corpus/seed-start"
        printf '{"method":"POST","path":"/passkeys","claims":%s,"body":"{\\"credential\\":{},\\"name\\":\\"k\\"}"}' "$claims" >"$corpus/seed-finish"
        printf '{"method":"DELETE","path":"/passkeys/AAAA","claims":%s}' "$claims" >"$corpus/seed-delete"
        printf '{"method":"GET","path":"/passkeys"}' >"$corpus/seed-anonymous"
        continue
    fi
    for file in events/"$target"/*.json events/hostile/"$target"/*.json; do
        [ -f "$file" ] || continue
        seed="$corpus/seed-$(basename "$(dirname "$file")")-$(basename "$file")"
        if [ "$target" = create ]; then
            { printf '\x00'; cat "$file"; } >"$seed"
        else
            cp "$file" "$seed"
        fi
    done
done

cargo +nightly fuzz build -O

status=0
summary=""
for target in $targets; do
    log="fuzz/artifacts/$target.log"
    mkdir -p "fuzz/artifacts/$target"
    before=$(find "fuzz/artifacts/$target" -name 'crash-*' | wc -l)
    set +e
    cargo +nightly fuzz run -O "$target" -- \
        -max_total_time="$seconds" -dict=fuzz/json.dict -max_len=65536 \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1
    code=$?
    set -e
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    corpus_size=$(find "fuzz/corpus/$target" -type f | wc -l)
    after=$(find "fuzz/artifacts/$target" -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' | wc -l)
    crashes=$((after - before))
    if [ "$code" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        status=1
        echo "== $target: libFuzzer exit $code; see $log and fuzz/artifacts/$target" >&2
        tail -n 30 "$log" >&2
    fi
    summary+=$(printf '%-8s %8ss %12s execs %6s corpus %3s crashes (exit %s)' \
        "$target" "$seconds" "$execs" "$corpus_size" "$crashes" "$code")$'\n'
done
printf '\n%s' "$summary"
exit "$status"
