//! Differential scenarios of `inspect --format` on null and omitted fields (prefix
//! `compat_inspect_nil_`): the docker CLI runs an inspect template on its typed Go struct,
//! so a nil pointer prints `<nil>`, a nil slice `[]`, a nil map `map[]` (gotmpl on the raw
//! JSON would print `<no value>`), while `if` takes them as false and `json` as null. The
//! berth CLI's run is the one these check (`berth_cli`, the harness's third run).

use berth_tests::differential::{Differ, Scenario};

const S: Scenario = Scenario::DEFAULT;

#[test]
fn compat_inspect_nil_fields() {
    Differ::start().check(&[
        Scenario {
            name: "container inspect: nil pointers, slices and maps",
            setup: "docker run -d --name web busybox sleep 60",
            run: "docker inspect -f '{{.State.Health}}|{{.HostConfig.PidsLimit}}|{{.HostConfig.Links}}|{{.Config.Entrypoint}}|{{.Config.OnBuild}}' web\n\
                  docker container inspect -f '{{if .State.Health}}h{{else}}n{{end}}|{{json .State.Health}}|{{with .HostConfig.PidsLimit}}p{{end}}|{{len .HostConfig.Links}}' web\n\
                  docker inspect -f '{{.NetworkSettings.Networks.bridge.IPAMConfig}}|{{.NetworkSettings.Networks.bridge.Links}}' web",
            ..S
        },
        Scenario {
            name: "image and volume inspect: nil pointers and maps",
            setup: "docker volume create v1",
            run: "docker image inspect -f '{{.Config.Entrypoint}}|{{.Config.Healthcheck}}|{{.Config.OnBuild}}' busybox\n\
                  docker volume inspect -f '{{.Options}}|{{.UsageData}}|{{.Status}}|{{json .UsageData}}' v1",
            ..S
        },
    ]);
}
