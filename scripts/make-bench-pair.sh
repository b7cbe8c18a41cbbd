#!/usr/bin/env bash
# make-bench-pair - record real kernel traffic at two points at once, on each side of a router:
# the pair of captures tcplens compare's benchmark compares.
#
# What it does
#   1. Builds the traffic generator benchgen (../shared/bench/benchgen, or --benchgen DIR) into a temp dir.
#   2. Creates three network namespaces, named tbp<PID>c, tbp<PID>r and tbp<PID>s (unique per run):
#        client  10.89.1.1/24 fd89:1::1/64 ── router 10.89.1.254 fd89:1::fe | 10.89.2.254 fd89:2::fe ── server 10.89.2.2/24 fd89:2::2/64
#      The router forwards between the two subnets with: a tbf queue of RATE (default 600mbit, 20 ms) on
#      each of its egresses, and iptables/ip6tables "-m statistic --mode random --probability LOSS -j DROP"
#      in FORWARD (default 0.001). TSO/GSO/GRO and checksum offloads are off everywhere.
#   3. Captures at once on the client's veth (A: OUTDIR/client.pcap) and on the server's veth
#      (B: OUTDIR/server.pcap), snaplen SNAPLEN (default 96), filter tcp, while benchgen's client runs
#      its workload (seed, bytes, concurrency: see make-bench-capture) against benchgen's server.
#   4. Stops what it started, by PID, deletes the namespaces and writes OUTDIR/pair.txt: the plan, the
#      router's drop counters (what compare must find lost between the points), tcpdump's counters.
#
# Usage (as root)
#   scripts/make-bench-pair.sh OUTDIR [--snaplen N] [--seed S] [--bytes B] [--rate R] [--loss P] [--conc N] [--benchgen DIR]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCHGEN="$HERE/../../shared/bench/benchgen"
OUT="${1:-}"
[ -n "$OUT" ] && shift || { sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 2; }
SNAP=96 SEED=2 BYTES=10000000000 RATE=600mbit LOSS=0.001 CONC=96
while [ $# -gt 0 ]; do
  case "$1" in
    --snaplen) SNAP="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --bytes) BYTES="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --loss) LOSS="$2"; shift 2 ;;
    --conc) CONC="$2"; shift 2 ;;
    --benchgen) BENCHGEN="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "must run as root (network namespaces)" >&2; exit 1; }
for t in ip tc iptables ip6tables ethtool tcpdump go; do
  command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done

NS_C="tbp$$c" NS_R="tbp$$r" NS_S="tbp$$s"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  for ns in "$NS_C" "$NS_R" "$NS_S"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== building benchgen"
(cd "$BENCHGEN" && go build -o "$WORK/benchgen" .)

echo "== namespaces $NS_C $NS_R $NS_S"
for ns in "$NS_C" "$NS_R" "$NS_S"; do ip netns add "$ns"; done
C() { ip netns exec "$NS_C" "$@"; }
R() { ip netns exec "$NS_R" "$@"; }
S() { ip netns exec "$NS_S" "$@"; }
ip link add tbpc0 netns "$NS_C" type veth peer name tbprc netns "$NS_R"
ip link add tbps0 netns "$NS_S" type veth peer name tbprs netns "$NS_R"
C ip addr add 10.89.1.1/24 dev tbpc0
C ip -6 addr add fd89:1::1/64 dev tbpc0 nodad
R ip addr add 10.89.1.254/24 dev tbprc
R ip -6 addr add fd89:1::fe/64 dev tbprc nodad
R ip addr add 10.89.2.254/24 dev tbprs
R ip -6 addr add fd89:2::fe/64 dev tbprs nodad
S ip addr add 10.89.2.2/24 dev tbps0
S ip -6 addr add fd89:2::2/64 dev tbps0 nodad
for ns in "$NS_C" "$NS_R" "$NS_S"; do
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" sysctl -q -w net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1 \
    net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096
done
R sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
for x in "$NS_C tbpc0" "$NS_R tbprc" "$NS_R tbprs" "$NS_S tbps0"; do
  set -- $x
  ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
  ip netns exec "$1" ip link set "$2" up
done
C ip route add default via 10.89.1.254
C ip -6 route add default via fd89:1::fe
S ip route add default via 10.89.2.254
S ip -6 route add default via fd89:2::fe

echo "== the router: tbf $RATE on each egress, random drop $LOSS in FORWARD"
R tc qdisc add dev tbprc root tbf rate "$RATE" burst 64kb latency 20ms
R tc qdisc add dev tbprs root tbf rate "$RATE" burst 64kb latency 20ms
R iptables -A FORWARD -p tcp -m statistic --mode random --probability "$LOSS" -j DROP
R ip6tables -A FORWARD -p tcp -m statistic --mode random --probability "$LOSS" -j DROP

echo "== server"
ip netns exec "$NS_S" "$WORK/benchgen" server -v4 10.89.2.2 -v6 fd89:2::2 >"$WORK/server.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do grep -q ready "$WORK/server.log" && break; sleep 0.1; done
grep -q ready "$WORK/server.log" || { cat "$WORK/server.log"; exit 1; }

mkdir -p "$OUT"
rm -f "$OUT/client.pcap" "$OUT/server.pcap"
echo "== captures -> $OUT/client.pcap, $OUT/server.pcap (snaplen $SNAP)"
ip netns exec "$NS_C" tcpdump -i tbpc0 -n -s "$SNAP" -B 262144 -w "$OUT/client.pcap" tcp 2>"$WORK/tcpdump-c.log" &
TD_C=$!
PIDS+=($TD_C)
ip netns exec "$NS_S" tcpdump -i tbps0 -n -s "$SNAP" -B 262144 -w "$OUT/server.pcap" tcp 2>"$WORK/tcpdump-s.log" &
TD_S=$!
PIDS+=($TD_S)
for _ in $(seq 100); do grep -q listening "$WORK/tcpdump-c.log" && grep -q listening "$WORK/tcpdump-s.log" && break; sleep 0.1; done
sleep 0.5

echo "== client: seed $SEED, $BYTES payload bytes, $CONC concurrent"
C "$WORK/benchgen" client -seed "$SEED" -bytes "$BYTES" -conc "$CONC" -v4 10.89.2.2 -v6 fd89:2::2 \
  >"$WORK/client.log" 2>"$WORK/client.err" || true
sleep 2
kill -INT "$TD_C" "$TD_S"
wait "$TD_C" || true
wait "$TD_S" || true
{
  echo "# $OUT: client.pcap (A) and server.pcap (B)"
  echo "made by: scripts/make-bench-pair.sh (snaplen $SNAP seed $SEED bytes $BYTES rate $RATE loss $LOSS conc $CONC) on $(date -u +%F)"
  echo; echo "## plan / client"; cat "$WORK/client.log"
  echo "client errors: $(wc -l <"$WORK/client.err")"
  echo; echo "## tcpdump at the client (A)"; cat "$WORK/tcpdump-c.log"
  echo; echo "## tcpdump at the server (B)"; cat "$WORK/tcpdump-s.log"
  echo; echo "## the router: drops between the points"
  R iptables -L FORWARD -v -n -x
  R ip6tables -L FORWARD -v -n -x
  R tc -s qdisc show dev tbprc
  R tc -s qdisc show dev tbprs
} >"$OUT/pair.txt"
cat "$OUT/pair.txt"
ls -la "$OUT"
