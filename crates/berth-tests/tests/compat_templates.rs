//! Template errors as the docker CLI 28's (prefix `compat_templates`): `info -f` and
//! `version -f` run on docker's Go structs, so a field the struct lacks fails (`can't
//! evaluate field X in type system.dockerInfo`) where a Go map's missing key prints `<no
//! value>`; the list formats (`ps`, `images`, `network ls`, `volume ls`, `history`,
//! `system df`) name their formatter context's type, with `template parsing error:`
//! (all but `ps`, whose formatter says `failed to execute template:`). Both CLIs against
//! berth, compared with the docker CLI against a private dockerd. Go's positions: a `$.X`
//! chain is at its first field (after the `$`); `ps` runs the whole `--format` (`table `
//! included) once on an empty context before listing (unless `-q`/`--size`), so its
//! column counts from the start of the flag's text and it fails with no container too; a
//! field of a scalar the daemon's JSON omits (`.Server.Experimental.x`) fails as on the
//! Go struct (`bool`).

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
        Scenario {
            name: "error positions: $ chains, omitted scalars, ps's whole format",
            run: "t() { echo \"== $*\"; echo \"== $*\" >&2; docker \"$@\"; echo \"exit $?\"; }\n\
                  t info -f '{{$.NoSuch}}'\n\
                  t info -f '{{$.Plugins.nokey}}'\n\
                  t info -f 'x {{.Name}} {{$.Swarm.nokey}}'\n\
                  t version -f '{{$.NoSuch}}'\n\
                  t version -f '{{.Server.Experimental.x}}'\n\
                  t ps --format 'table {{.ID}} {{.nokey}}'\n\
                  t ps -a --format 'table {{.ID}}\\t{{.Labels.nokey}}'\n\
                  t ps --format '{{.Names}} {{.nokey}}'\n\
                  t ps --format 'table {{.ID}}\\t{{.Names}}'",
            ..S
        },
    ]);
}
