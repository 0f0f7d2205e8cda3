# The helpers of .ci/run: every check that fails is said where it fails, and again, with what
# it named, at the end (a long log's end is what a reader sees first).

failures=()

# failed WHAT [DETAIL...]: a check failed; each DETAIL's non-empty lines say what it named.
failed() {
    local entry=$1 line
    shift
    echo "ci: FAILED: $entry" >&2
    while IFS= read -r line; do
        [[ -n $line ]] && entry+=$'\n      '"$line"
    done < <(printf '%s\n' "$@")
    failures+=("$entry")
}

# failing_tests LOG: the first tests a pytest log names as failed or in error.
failing_tests() { grep -E '^(FAILED|ERROR) ' "$1" | cut -c1-240 | head -n 8; }

# ci_verdict: every failed check with its details, exit 1; or "ci: all passed".
ci_verdict() {
    if [[ ${#failures[@]} -ne 0 ]]; then
        echo >&2
        echo "ci: FAILED: ${#failures[@]} check(s):" >&2
        printf '  - %s\n' "${failures[@]}" >&2
        exit 1
    fi
    echo "ci: all passed"
}
