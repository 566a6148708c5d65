//! Differential tests of the classic builder (`docker build` with DOCKER_BUILDKIT=0 and the
//! API's `POST /build`): the same builds against a private dockerd and a private berth
//! daemon, the outputs compared after normalisation (`berth_tests::differential`).
//! Every `/build` query parameter moby 28 reads is honoured or refused; the scenarios here
//! cover the ones whose effect can be seen from a RUN or from the containers left behind.

use berth_tests::differential::{Differ, Scenario};

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
