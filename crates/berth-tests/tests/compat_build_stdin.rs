//! `docker build -f - DIR` (prefix `compat_build_stdin`): the Dockerfile on stdin with a
//! directory context. The docker CLI rewrites the context tar to add the Dockerfile (under
//! a random `.dockerfile.*` name) and a `.dockerignore` naming it, and its tar ends right
//! after the last file's bytes — no padding, no end-of-archive blocks. moby reads it (Go's
//! archive/tar takes the EOF in the padding as the end); berth's daemon does too (the
//! unpacker's GoTail reader), while a tar cut inside an entry is still refused. Through
//! the docker CLI and berth's own, against a private dockerd (the differential harness).
//!
//! Each script makes its context itself: every run (setup included) starts in an empty
//! scratch directory. The base image is the busybox fixture both daemons have, and the
//! built image is run with `--pull=never`: nothing is ever pulled (the harness's daemons
//! also have a dead proxy for any registry, see compat_harness.rs). The build's own output
//! is left out (the docker CLI's legacy-builder notice is its own); its status and the
//! image's files are compared.

use berth_tests::differential::{Differ, Scenario};

const S: Scenario = Scenario::DEFAULT;

#[test]
fn compat_build_stdin_dockerfile_with_a_directory_context() {
    Differ::start().check(&[
        Scenario {
            name: "build -f - DIR",
            run: "mkdir -p ctx/sub && echo hello > ctx/a.txt && echo x > ctx/sub/b\n\
                  printf 'FROM busybox\\nCOPY . /ctx/\\n' | docker build -q -t stdin-f -f - ctx >/dev/null 2>&1; echo \"exit $?\"\n\
                  docker run --rm --pull=never stdin-f sh -c 'cd /ctx && find . | sort && cat a.txt sub/b'",
            ..S
        },
        Scenario {
            name: "build -f - DIR with a .dockerignore",
            run: "mkdir -p ctx/sub && echo hello > ctx/a.txt && echo x > ctx/sub/b && printf 'sub\\n' > ctx/.dockerignore\n\
                  printf 'FROM busybox\\nCOPY . /ctx/\\nRUN cat /ctx/a.txt\\n' | docker build -q -t stdin-i -f - ctx >/dev/null 2>&1; echo \"exit $?\"\n\
                  docker run --rm --pull=never stdin-i sh -c 'cd /ctx && find . | sort'",
            ..S
        },
        Scenario {
            name: "build -f - DIR: a file of 512 bytes last (no padding either way)",
            run: "mkdir -p ctx && head -c 512 /dev/zero | tr '\\0' y > ctx/z\n\
                  printf 'FROM busybox\\nCOPY z /z\\n' | docker build -q -t stdin-z -f - ctx >/dev/null 2>&1; echo \"exit $?\"\n\
                  docker run --rm --pull=never stdin-z wc -c /z",
            ..S
        },
        Scenario {
            name: "build from a truncated context tar is still refused",
            run: "mkdir -p ctx && head -c 3000 /dev/zero | tr '\\0' y > ctx/big && printf 'FROM busybox\\n' > ctx/Dockerfile\n\
                  tar -C ctx -cf full.tar Dockerfile big && head -c 2000 full.tar > cut.tar\n\
                  api POST '/v1.41/build?t=cut' -H 'Content-Type: application/x-tar' --data-binary @cut.tar >/dev/null 2>&1\n\
                  docker image inspect cut >/dev/null 2>&1; echo \"cut: $?\"\n\
                  api POST '/v1.41/build?t=full' -H 'Content-Type: application/x-tar' --data-binary @full.tar >/dev/null 2>&1\n\
                  docker image inspect full >/dev/null 2>&1; echo \"full: $?\"",
            berth_cli: false,
            ..S
        },
    ]);
}
