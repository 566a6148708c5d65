# Sourced by scripts/bench.sh (section "ports"): bulk TCP throughput through a published port
# on 127.0.0.1, berth and the bench's dockerd side by side. Each engine runs a busybox
# container on a user-defined bridge network of its own (bench subnets 10.213.25x.0/24,
# bridges bt-bench-*), publishing 127.0.0.1:PORT -> 5001 where `nc -l` discards what it
# reads, in a loop. The host sends BENCH_PORT_MB MiB per connection (python, 1 MiB writes)
# and stops the clock when the container's side closes, i.e. after it has read everything;
# median MiB/s of BENCH_PORT_RUNS (3). dockerd runs with --iptables=false, so its published
# port is served by docker-proxy (as it is for 127.0.0.1 with iptables too); berth DNATs in
# nftables (route_localnet). A second binding, [::1]:PORT6 -> 5001 on the same container,
# measures the IPv6 side: docker-proxy for dockerd, berth's userland proxy (port_proxy.rs)
# for berth (both forward to the container's IPv4 address).
# Uses bench.sh's cli, die, has, median, $B, $ENGINES.

PORT_MB="${BENCH_PORT_MB:-1024}"
PORT_RUNS="${BENCH_PORT_RUNS:-3}"
# One subnet per engine (override when another bench or oracle dockerd on the host uses them).
read -r -a PORT_SUBNETS <<< "${BENCH_PORT_SUBNETS:-10.213.251.0/24 10.213.252.0/24}"
declare -A PORT_TPUT PORT_TPUT6

port_send() { # port_send PORT MIB [HOST]: prints MiB/s
    python3 - "$1" "$2" "${3:-127.0.0.1}" <<'PY'
import socket, sys, time
port, mib, host = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
buf = b"\0" * (1 << 20)
s = socket.create_connection((host, port))
t0 = time.monotonic()
for _ in range(mib):
    s.sendall(buf)
s.shutdown(socket.SHUT_WR)
s.recv(1)  # returns b"" once the container's nc has read everything and closed
print("%.1f" % (mib / (time.monotonic() - t0)))
PY
}

echo "==> (h) TCP throughput through -p 127.0.0.1:PORT:5001, $PORT_MB MiB x $PORT_RUNS runs each"
i=0
for e in $ENGINES; do
    i=$((i + 1))
    cli "$e" network create --subnet "${PORT_SUBNETS[$((i - 1))]}" \
        -o "com.docker.network.bridge.name=bt-bench-$e" bench-ports >/dev/null \
        || die "$e: network create failed"
    port=$(free_port)
    port6=$(free_port)
    cli "$e" run -d --name bench-ports --network bench-ports -p "127.0.0.1:$port:5001" \
        -p "[::1]:$port6:5001" busybox \
        sh -c 'while true; do nc -l -p 5001 >/dev/null; done' >/dev/null || die "$e: run -p failed"
    sleep 1
    PORT_TPUT[$e]=$(for _ in $(seq "$PORT_RUNS"); do
        port_send "$port" "$PORT_MB" || die "$e: transfer failed"
        sleep 0.5
    done | median)
    PORT_TPUT6[$e]=$(for _ in $(seq "$PORT_RUNS"); do
        port_send "$port6" "$PORT_MB" ::1 || die "$e: transfer over [::1] failed"
        sleep 0.5
    done | median)
    cli "$e" rm -f bench-ports >/dev/null
    cli "$e" network rm bench-ports >/dev/null
done
