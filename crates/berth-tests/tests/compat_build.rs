//! Differential tests of the classic builder (`docker build` with DOCKER_BUILDKIT=0 and the
//! API's `POST /build`): the same builds against a private dockerd and a private berth
//! daemon, the outputs compared after normalisation (`berth_tests::differential`).
//! Every `/build` query parameter moby 28 reads is honoured or refused; the scenarios here
//! cover the ones whose effect can be seen from a RUN or from the containers left behind.

use berth_tests::differential::{Differ, Moby28, Scenario};

const S: Scenario = Scenario::DEFAULT;

/// `b ARGS`: `docker build ARGS` with the legacy builder's deprecation notice and the
/// context-size line left out (both CLIs print them; they say nothing of the build). Its
/// status is docker build's. A macro, so that `concat!` can put it before a script.
macro_rules! b_fn {
    () => {
        "b() { docker build \"$@\" > .b.out 2>&1; local r=$?; grep -v -e DEPRECATED -e BuildKit -e environment-variable -e 'Sending build context' -e '^$' -e 'buildx component' -e 'docs.docker.com' .b.out; rm -f .b.out; return $r; }\n"
    };
}

/// `forcerm`, `rm`, `extrahosts` and `networkmode`: where a build's RUN containers run and
/// which of them stay afterwards.
#[test]
fn compat_build_run_containers() {
    let scenarios: Vec<Scenario> = vec![
        Scenario {
            name: "a failed RUN's container stays unless --force-rm",
            run: concat!(
                "mkdir ctx && printf 'FROM busybox\\nRUN echo out; exit 3\\n' > ctx/Dockerfile\n",
                "docker build -q ctx >/dev/null 2>&1; echo \"build $?\"\n",
                "docker ps -a --format '{{.State}} {{.Image}}'\n",
                "for c in $(docker ps -aq); do docker inspect -f '{{.State.ExitCode}} {{json .Config.Cmd}}' $c; done\n",
                "docker rm -f $(docker ps -aq) >/dev/null\n",
                "docker build -q --force-rm ctx >/dev/null 2>&1; echo \"build $?\"\n",
                "docker ps -a --format '{{.State}}' | wc -l\n",
                "api POST '/v1.41/build?forcerm=1&q=1' -H 'Content-Type: application/x-tar' --data-binary @<(tar -C ctx -c .) | jq -c .errorDetail\n",
                "docker ps -a --format '{{.State}}' | wc -l\n",
            ),
            ..S
        },
        Scenario {
            name: "-q holds the steps back, shows them when the build fails",
            run: concat!(
                b_fn!(),
                "mkdir ctx && printf 'FROM busybox\\nRUN echo out; exit 3\\n' > ctx/Dockerfile\n",
                "b -q ctx; echo \"exit $?\"\n",
                "printf 'FROM busybox\\nRUN echo out\\n' > ctx/Dockerfile\n",
                "docker build -q ctx 2>/dev/null | wc -l\n",
                "api POST '/v1.41/build?q=1' -H 'Content-Type: application/x-tar' --data-binary @<(tar -C ctx -c .) | jq -c 'keys'\n",
            ),
            ..S
        },
        Scenario {
            name: "rm=false keeps every step's container",
            run: concat!(
                "mkdir ctx && printf 'FROM busybox\\nENV A=1\\nRUN echo hi > /f\\nWORKDIR /w\\nCMD [\"sh\"]\\n' > ctx/Dockerfile\n",
                "docker build -q --rm=false ctx >/dev/null 2>&1; echo \"build $?\"\n",
                "docker ps -a --format '{{.State}}' | sort | uniq -c\n",
                "for c in $(docker ps -aq); do docker inspect -f '{{json .Config.Cmd}} {{.State.ExitCode}}' $c; done | sort\n",
            ),
            ..S
        },
        Scenario {
            name: "--add-host reaches a RUN's /etc/hosts",
            run: concat!(
                b_fn!(),
                "mkdir ctx && printf 'FROM busybox\\nRUN grep -w -e foo -e bar /etc/hosts\\n' > ctx/Dockerfile\n",
                "b --add-host foo:10.1.2.3 --add-host bar=10.4.5.6 ctx | grep -e foo -e bar -e Success\n",
            ),
            ..S
        },
        Scenario {
            name: "--network none, bridge, a user network",
            setup: "docker network create --subnet $SUBA.0/24 bnet",
            run: concat!(
                b_fn!(),
                "mkdir ctx && printf 'FROM busybox\\nRUN ip -o -4 addr | grep -v \" lo \" | awk \"{print \\\\$4}\"; echo done\\n' > ctx/Dockerfile\n",
                "for n in none bridge bnet default; do echo \"== $n\"; b --no-cache --network $n ctx | grep -e '/' -e done; done\n",
            ),
            ..S
        },
        Scenario {
            name: "--network host sees the host's interfaces",
            run: concat!(
                b_fn!(),
                "mkdir ctx && printf 'FROM busybox\\nARG BR\\nRUN test -e /sys/class/net/$BR && echo host-netns\\n' > ctx/Dockerfile\n",
                "b --no-cache --network host --build-arg BR=$BRIDGE ctx | grep -e netns -e Success\n",
            ),
            ..S
        },
        Scenario {
            name: "an unknown network is refused",
            run: concat!(
                b_fn!(),
                "mkdir ctx && printf 'FROM busybox\\nRUN true\\n' > ctx/Dockerfile\n",
                "b --network nosuch ctx; echo \"exit $?\"\n",
                "docker ps -a --format '{{.State}}' | wc -l\n",
            ),
            ..S
        },
    ];
    Differ::start().check(&scenarios);
}

/// A stage's configuration as moby's dispatch state makes it: the default PATH when the
/// base image has none, MAINTAINER as the images' Author, ONBUILD triggers run (and shown)
/// before the stage's own steps, a RUN's stderr marked as moby's StderrFormatter marks it.
#[test]
fn compat_build_stage_config() {
    let scenarios: Vec<Scenario> = vec![
        Scenario {
            name: "a base image without PATH gets the default one",
            setup: "docker export $(docker create busybox) | docker import - nopath",
            run: concat!(
                b_fn!(),
                "mkdir ctx && printf 'FROM nopath\\nRUN echo \"$PATH\"\\nENV X=1\\n' > ctx/Dockerfile\n",
                "b --no-cache -t p ctx | grep -e '^/'\n",
                "docker inspect -f '{{json .Config.Env}}' p\n",
            ),
            ..S
        },
        Scenario {
            name: "MAINTAINER sets the Author of the stage's next images",
            run: concat!(
                "mkdir ctx && printf 'FROM busybox AS a\\nENV A=1\\nMAINTAINER Jane Doe <j@d>\\nRUN echo hi > /f\\nLABEL a=b\\nFROM a\\nENV B=1\\n' > ctx/Dockerfile\n",
                "docker build -q -t m --target a ctx >/dev/null 2>&1\n",
                "for i in $(docker history -q m | grep -v missing); do docker inspect -f '{{.Author}}|{{json .Config.Env}}' $i; done\n",
                "docker build -q -t m2 ctx >/dev/null 2>&1\n",
                "docker inspect -f '{{.Author}}|{{json .Config.Env}}' m2\n",
            ),
            ..S
        },
        Scenario {
            name: "ONBUILD triggers run first, their lines as moby's",
            setup: concat!(
                "mkdir base && printf 'FROM busybox\\nONBUILD RUN echo trig\\nONBUILD ENV T=1\\n' > base/Dockerfile\n",
                "docker build -t onb base\n",
            ),
            run: concat!(
                b_fn!(),
                "mkdir ctx && printf 'FROM onb\\nRUN echo \"T=$T\"\\n' > ctx/Dockerfile\n",
                "b -t child ctx; echo \"exit $?\"\n",
                "b -t child ctx; echo \"exit $?\"\n",
                "docker inspect -f '{{json .Config.OnBuild}} {{json .Config.Env}}' child\n",
            ),
            moby28: Some(Moby28 {
                stdout: Some(MOBY28_ONBUILD),
                why: "moby 28 prints ' ---> Removed intermediate container ID' (containerbackend.go RemoveAll); 20.10 printed 'Removing intermediate container ID'",
                ..Moby28::DEFAULT
            }),
            ..S
        },
        Scenario {
            // Sorted: a RUN's stdout and stderr are two pipes, so their order races on
            // either daemon; what is compared is that stderr comes marked red, stdout plain.
            name: "a RUN's stderr in the build's message stream",
            run: concat!(
                "mkdir ctx && printf 'FROM busybox\\nRUN echo out; echo err >&2\\n' > ctx/Dockerfile\n",
                "api POST '/v1.41/build?nocache=1' -H 'Content-Type: application/x-tar' --data-binary @<(tar -C ctx -c .) | jq -c 'select(.stream) | .stream' | grep -e out -e err | sort\n",
            ),
            berth_cli: false,
            ..S
        },
    ];
    Differ::start().check(&scenarios);
}

/// `rmi` of a built image as moby's imageDeleteHelper: the image goes, then each parent in
/// turn while it is untagged, has no other child and no container uses it (`--no-prune`
/// keeps them); an image with children cannot be deleted, even forced.
#[test]
fn compat_build_rmi_parents() {
    let scenarios: Vec<Scenario> = vec![
        Scenario {
            name: "rmi of a built image deletes its untagged parents",
            run: concat!(
                "mkdir ctx && printf 'FROM busybox\\nENV A=1\\nRUN echo hi > /f\\nLABEL l=1\\n' > ctx/Dockerfile\n",
                "docker build -q -t t1 ctx >/dev/null 2>&1\n",
                "docker history -q t1\n",
                "docker images -aq | wc -l\n",
                "docker rmi t1; echo \"exit $?\"\n",
                "docker images -aq | wc -l\n",
            ),
            ..S
        },
        Scenario {
            name: "a parent with another child, used by a container or tagged stays",
            run: concat!(
                "mkdir a b && printf 'FROM busybox\\nENV A=1\\nRUN echo hi > /f\\nLABEL l=1\\n' > a/Dockerfile\n",
                "printf 'FROM busybox\\nENV A=1\\nRUN echo hi > /f\\nLABEL l=2\\n' > b/Dockerfile\n",
                "docker build -q -t ta a >/dev/null 2>&1 && docker build -q -t tb b >/dev/null 2>&1\n",
                "docker history -q ta; docker history -q tb\n",
                "run=$(docker history -q tb | sed -n 2p); envi=$(docker history -q tb | sed -n 3p)\n",
                "echo '== ta'; docker rmi ta\n",
                "docker create --name c1 $run >/dev/null\n",
                "echo '== tb'; docker rmi tb\n",
                "docker rm c1 >/dev/null; docker tag $envi keep\n",
                "echo '== run'; docker rmi $run\n",
                "echo '== keep'; docker rmi keep\n",
                "docker images -aq | wc -l\n",
            ),
            ..S
        },
        Scenario {
            name: "a parent cannot be deleted; --no-prune keeps the parents",
            run: concat!(
                "mkdir ctx && printf 'FROM busybox\\nENV A=1\\nRUN echo hi > /f\\n' > ctx/Dockerfile\n",
                "docker build -q -t t1 ctx >/dev/null 2>&1\n",
                "docker history -q t1\n",
                "p=$(docker history -q t1 | sed -n 2p)\n",
                "docker rmi $p; echo \"exit $?\"\n",
                "docker rmi -f $p; echo \"exit $?\"\n",
                "docker rmi --no-prune t1; echo \"exit $?\"\n",
                "docker images -aq | wc -l\n",
                "docker rmi $p; echo \"exit $?\"\n",
                "docker images -aq | wc -l\n",
            ),
            ..S
        },
    ];
    Differ::start().check(&scenarios);
}

/// moby 28's classic builder prints " ---> Removed intermediate container ID" where 20.10
/// printed "Removing intermediate container ID" (moby's containerbackend.go RemoveAll);
/// every other line of the step output is the same in both.
#[test]
fn compat_build_output_lines() {
    let scenarios: Vec<Scenario> = vec![Scenario {
        name: "a step's removed container, after success and with --force-rm",
        run: concat!(
            b_fn!(),
            "mkdir ctx && printf 'FROM busybox\\nENV A=1\\nRUN echo ran\\n' > ctx/Dockerfile\n",
            "b --no-cache ctx; echo \"exit $?\"\n",
            "printf 'FROM busybox\\nRUN exit 3\\n' > ctx/Dockerfile\n",
            "b --force-rm ctx; echo \"exit $?\"\n",
        ),
        moby28: Some(Moby28 {
            stdout: Some(MOBY28_REMOVED),
            why: "moby 28 prints ' ---> Removed intermediate container ID' (containerbackend.go RemoveAll); 20.10 printed 'Removing intermediate container ID'",
            ..Moby28::DEFAULT
        }),
        ..S
    }];
    Differ::start().check(&scenarios);
}

/// `compat_build_output_lines`' expected output, normalised.
// A plain multi-line literal: a `\` line continuation would eat the leading spaces.
const MOBY28_REMOVED: &str = "Step 1/3 : FROM busybox
 ---> <id1>
Step 2/3 : ENV A=1
 ---> Running in <id2>
 ---> Removed intermediate container <id2>
 ---> <id3>
Step 3/3 : RUN echo ran
 ---> Running in <id4>
ran
 ---> Removed intermediate container <id4>
 ---> <id5>
Successfully built <id5>
exit 0
Step 1/2 : FROM busybox
 ---> <id1>
Step 2/2 : RUN exit 3
 ---> Running in <id6>
 ---> Removed intermediate container <id6>
The command '/bin/sh -c exit 3' returned a non-zero code: 3
exit 3
";

/// The ONBUILD scenario's expected output, normalised (moby 28's removal lines).
const MOBY28_ONBUILD: &str = "Step 1/2 : FROM onb
# Executing 2 build triggers
 ---> Running in <id1>
trig
 ---> Removed intermediate container <id1>
 ---> Running in <id2>
 ---> Removed intermediate container <id2>
 ---> <id3>
Step 2/2 : RUN echo \"T=$T\"
 ---> Running in <id4>
T=1
 ---> Removed intermediate container <id4>
 ---> <id5>
Successfully built <id5>
Successfully tagged child:latest
exit 0
Step 1/2 : FROM onb
# Executing 2 build triggers
 ---> Using cache
 ---> Using cache
 ---> <id3>
Step 2/2 : RUN echo \"T=$T\"
 ---> Using cache
 ---> <id5>
Successfully built <id5>
Successfully tagged child:latest
exit 0
null [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"T=1\"]
";

/// The legacy builder's resource flags (`-m`, `--memory-swap`, `--shm-size`, `--ulimit`,
/// `--cpu-*`, `--cpuset-*`, `--cgroup-parent`) reach every RUN container, and the options
/// the daemon refuses (`--security-opt`, `--squash`, `--isolation`) get moby's words, through
/// the docker CLI and berth's.
#[test]
fn compat_build_resource_flags() {
    let scenarios: Vec<Scenario> = vec![
        Scenario {
            name: "a RUN sees the build's resource limits",
            run: concat!(
                b_fn!(),
                "mkdir ctx && printf 'FROM busybox\\nRUN cat /sys/fs/cgroup/memory/memory.limit_in_bytes; df -k /dev/shm | tail -1 | awk \"{print \\\\$2}\"; ulimit -Sn; ulimit -Hn; cat /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpuset/cpuset.cpus /sys/fs/cgroup/cpuset/cpuset.mems\\n' > ctx/Dockerfile\n",
                "b --no-cache -m 64m --shm-size 8m --ulimit nofile=512:1024 --cpu-period 100000 --cpu-quota 50000 -c 512 --cpuset-cpus 0 --cpuset-mems 0 ctx | grep -v -e '^Step' -e '^ --->' -e '^Successfully' -e 'intermediate container'; echo \"exit $?\"\n",
            ),
            ..S
        },
        Scenario {
            name: "--cgroup-parent places the RUN containers",
            run: concat!(
                b_fn!(),
                "mkdir ctx && printf 'FROM busybox\\nRUN grep -E \":memory:\" /proc/self/cgroup | grep -o b16parent\\n' > ctx/Dockerfile\n",
                "b --no-cache --cgroup-parent b16parent ctx | grep -v -e '^Step' -e '^ --->' -e '^Successfully' -e 'intermediate container'\n",
            ),
            ..S
        },
        Scenario {
            name: "refused build options",
            run: concat!(
                b_fn!(),
                "mkdir ctx && printf 'FROM busybox\\nRUN true\\n' > ctx/Dockerfile\n",
                "b --memory-swap 10m -m 64m ctx; echo \"exit $?\"\n",
                "b --security-opt seccomp=unconfined ctx; echo \"exit $?\"\n",
                "b --squash ctx; echo \"exit $?\"\n",
                "b --isolation hyperv ctx; echo \"exit $?\"\n",
                "b --isolation default ctx >/dev/null; echo \"exit $?\"\n",
                "b --ulimit nofile=2:1 ctx; echo \"exit $?\"\n",
            ),
            ..S
        },
    ];
    Differ::start().check(&scenarios);
}

/// `--compress` (the context gzipped by the client, the daemon takes it as it is) and
/// `--disable-content-trust` (skipping verification is what berth does anyway; asking for
/// it, `=false`, is refused: berth has no Notary client) are accepted as docker's CLI does.
#[test]
fn compat_build_client_flags() {
    let scenarios: Vec<Scenario> = vec![Scenario {
        name: "--compress and --disable-content-trust are accepted",
        run: concat!(
            b_fn!(),
            "mkdir ctx && printf 'FROM busybox\\nCOPY f /f\\nRUN cat /f\\n' > ctx/Dockerfile && echo payload > ctx/f\n",
            "b --compress -q -t c1 ctx >/dev/null; echo \"exit $?\"\n",
            "docker run --rm c1 cat /f\n",
            "b --disable-content-trust -q -t c2 ctx >/dev/null; echo \"exit $?\"\n",
            "b --disable-content-trust=true --compress -q -t c3 ctx >/dev/null; echo \"exit $?\"\n",
            "tar -C ctx -cf - . | docker build --compress -q -t c4 - >/dev/null 2>&1; echo \"exit $?\"\n",
            "docker build --compress ctx 2>&1 | grep -c 'Sending build context'\n",
        ),
        ..S
    }];
    Differ::start().check(&scenarios);
}
