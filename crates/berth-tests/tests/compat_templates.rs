//! Template errors as the docker CLI 28's (prefix `compat_templates`): `info -f` and
//! `version -f` run on docker's Go structs, so a field the struct lacks fails (`can't
//! evaluate field X in type system.dockerInfo`) where a Go map's missing key prints `<no
//! value>`; the list formats (`ps`, `images`, `network ls`, `volume ls`, `history`,
//! `system df`) name their formatter context's type, with `template parsing error:`
//! (all but `ps`, whose formatter says `failed to execute template:`). Both CLIs against
//! berth, compared with the docker CLI against a private dockerd. Known differences left
//! out (see the compat16 report): `{{$.X}}`'s column, a field of a scalar the daemon's
//! JSON omits (`.Server.Experimental.x`), the column in a `table` format.

use berth_tests::differential::{Differ, Scenario};

const S: Scenario = Scenario::DEFAULT;

#[test]
fn compat_templates_struct_fields() {
    Differ::start().check(&[
        Scenario {
            name: "info -f on docker's Go struct",
            run: "for f in '{{.NoSuch}}' '{{.Plugins.nokey}}' '{{.Swarm.nokey}}' '{{.Name.x}}' \
                  '{{.Debug.x}}' '{{.NCPU.x}}' '{{.MemTotal.x}}' '{{.Labels.x}}' '{{.RegistryConfig.x}}' \
                  '{{.ContainerdCommit.x}}' '{{.DriverStatus.x}}' '{{.Swarm.Cluster.x}}' \
                  '{{.Runtimes.nokey}}' '{{.RegistryConfig.IndexConfigs.nokey}}' '{{.Swarm.LocalNodeState}}' \
                  '{{if .Debug}}{{.NoSuch}}{{end}}x' 'a {{.Swarm.LocalNodeState}} {{.NoSuch}}'; do\n\
                    echo \"== $f\"; echo \"== $f\" >&2; docker info -f \"$f\"; echo \"exit $?\"\n\
                  done",
            ..S
        },
        Scenario {
            name: "version -f on docker's Go struct",
            run: "for f in '{{.Server.nokey}}' '{{.Client.nokey}}' '{{.NoSuch}}' '{{.Server.Platform.nokey}}' \
                  '{{.Server.Components.x}}' '{{.Server.Os.x}}' \
                  '{{.Client.Experimental}}' '{{.Server.Os}} {{.Client.nokey}}'; do\n\
                    echo \"== $f\"; echo \"== $f\" >&2; docker version -f \"$f\"; echo \"exit $?\"\n\
                  done",
            ..S
        },
        Scenario {
            name: "list formats name their context type",
            setup: "docker create --name tt -l a=1 busybox true && docker volume create tv",
            run: "t() { echo \"== $*\"; echo \"== $*\" >&2; docker \"$@\"; echo \"exit $?\"; }\n\
                  t ps -a --format '{{.nokey}}'\n\
                  t ps -a --format '{{.Labels.nokey}}'\n\
                  t images --format '{{.nokey}}'\n\
                  t images --format '{{.Labels.nokey}}'\n\
                  t network ls --format '{{.nokey}}'\n\
                  t network ls --format '{{.Labels.nokey}}'\n\
                  t volume ls --format '{{.nokey}}'\n\
                  t volume ls --format '{{.Labels.nokey}}'\n\
                  t history --format '{{.nokey}}' busybox\n\
                  t system df --format '{{.nokey}}'",
            ..S
        },
    ]);
}
