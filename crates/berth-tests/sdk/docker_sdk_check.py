"""The Python Docker SDK (docker-py) against a berth daemon: the common operations of
issue 3. DOCKER_HOST points at the daemon; exits non-zero with a message on any mismatch."""

import sys
import time

import docker


def check(cond, msg):
    if not cond:
        print(f"FAIL: {msg}", file=sys.stderr)
        sys.exit(1)


client = docker.from_env(timeout=60)
check(client.ping() is True, "ping")

images = client.images.list()
check(any("busybox:latest" in i.tags for i in images), f"images.list: {[i.tags for i in images]}")

# containers.run without detach returns the output.
out = client.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2"], remove=True)
check(out == b"out\n", f"run output {out!r}")

# A failing command raises ContainerError with its exit status.
try:
    client.containers.run("busybox", ["sh", "-c", "exit 3"], remove=True)
    check(False, "run of a failing command must raise")
except docker.errors.ContainerError as e:
    check(e.exit_status == 3, f"exit status {e.exit_status}")

# create / start / get / list / logs / exec_run / stop / remove
c = client.containers.create(
    "busybox",
    ["sh", "-c", "echo started; exec sleep 300"],
    name="sdk-c",
    labels={"k": "v"},
    environment={"A": "1"},
)
check(c.status == "created", f"created status {c.status}")
c.start()
c.reload()
check(c.status == "running", f"running status {c.status}")
check(client.containers.get("sdk-c").id == c.id, "get by name")
check(any(x.id == c.id for x in client.containers.list()), "list running")
check(any(x.id == c.id for x in client.containers.list(filters={"label": "k=v"})), "list by label")
for _ in range(100):
    if b"started" in c.logs():
        break
    time.sleep(0.05)
check(c.logs() == b"started\n", f"logs {c.logs()!r}")

code, output = c.exec_run(["sh", "-c", "echo $A; exit 4"])
check(code == 4 and output == b"1\n", f"exec_run {code} {output!r}")
code, output = c.exec_run("id -u", user="nobody")
check(code == 0 and output == b"65534\n", f"exec_run user {code} {output!r}")
code, (so, se) = c.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True)
check(code == 0 and so == b"o\n" and se == b"e\n", f"exec_run demux {so!r} {se!r}")
code, output = c.exec_run("no-such-command")
check(code == 127, f"exec_run of a missing command: {code} {output!r}")

c.stop(timeout=1)
c.reload()
check(c.status == "exited", f"stopped status {c.status}")
check(c.attrs["State"]["ExitCode"] in (137, 143), f"exit code {c.attrs['State']['ExitCode']}")
c.remove()
try:
    client.containers.get("sdk-c")
    check(False, "removed container still found")
except docker.errors.NotFound:
    pass

# Detached run, wait.
d = client.containers.run("busybox", ["sh", "-c", "exit 6"], detach=True)
check(d.wait()["StatusCode"] == 6, "wait status")
d.remove()
print("ok")
