#!/usr/bin/env bash
# demo.sh: the whole product with no outside service: outpost-mock (HTTP, WebSocket, the event
# collector), mockdns (the name mock.demo.test) and the appliance on board/demo/demo.json.
# Ports: MOCK_PORT (8090), DNS_PORT (8053), OUTPOST_LISTEN (127.0.0.1:8080).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export MOCK_PORT=${MOCK_PORT:-8090} DNS_PORT=${DNS_PORT:-8053}
export OUTPOST_LISTEN=${OUTPOST_LISTEN:-127.0.0.1:8080}
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
build/tools/outpost-mock -p "$MOCK_PORT" >/dev/null &
pids+=($!)
build/tools/mockdns -p "$DNS_PORT" -l 86400 mock.demo.test:A:127.0.0.1 >/dev/null &
pids+=($!)
# the demo's names resolve through the local mock only
resolv=build/demo-resolv.conf
echo "nameserver 127.0.0.1:$DNS_PORT" >"$resolv"
echo "demo: mock targets on 127.0.0.1:$MOCK_PORT, DNS on 127.0.0.1:$DNS_PORT" >&2
echo "demo: dashboard at http://$OUTPOST_LISTEN/ (Ctrl-C stops everything)" >&2
OUTPOST_RESOLV_CONF=$resolv build/linux-x86_64/outpost run -c board/demo/demo.json &
pids+=($!)
wait "${pids[2]}"
