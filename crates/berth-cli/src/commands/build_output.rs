//! `berth build --output` (`-o`): exports the built image's filesystem (the final stage,
//! or `--target`'s) as buildx does, `type=local,dest=DIR` (also `-o DIR`) or
//! `type=tar,dest=FILE` (`dest=-`: stdout). The classic `/build` has no exporters, so the
//! CLI does it after the build: a created (never started) container of the image, its
//! `GET /containers/{id}/export`, and the container removed again. The image stays, as the
//! classic builder leaves it.

use crate::client::{q, Body, Client};
use crate::Failure;
use berth_api::models::{ContainerCreateResponse, ProcessCreateBody};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Local(PathBuf),
    /// `None`: stdout.
    Tar(Option<PathBuf>),
}

fn fail(msg: impl Into<String>) -> Failure {
    Failure::new(msg, 1)
}

/// Parses one `--output` value (buildx's forms and messages).
pub fn parse(spec: &str) -> Result<Output, Failure> {
    if !spec.contains('=') && !spec.contains(',') {
        if spec.is_empty() {
            return Err(fail("invalid output: empty"));
        }
        return Ok(if spec == "-" {
            Output::Tar(None)
        } else {
            Output::Local(PathBuf::from(spec))
        });
    }
    let (mut typ, mut dest) = (None, None);
    for field in spec.split(',') {
        let Some((k, v)) = field.split_once('=') else {
            return Err(fail(format!(
                "invalid value {field:?}: output fields must be key=value"
            )));
        };
        match k.to_ascii_lowercase().as_str() {
            "type" => typ = Some(v.to_string()),
            "dest" => dest = Some(v.to_string()),
            _ => {
                return Err(fail(format!(
                    "unsupported output attribute {k:?} (berth supports type and dest)"
                )))
            }
        }
    }
    let Some(typ) = typ else {
        return Err(fail("type is required for output"));
    };
    match (typ.as_str(), dest) {
        ("local", Some(d)) if d != "-" && !d.is_empty() => Ok(Output::Local(PathBuf::from(d))),
        ("local", _) => Err(fail("dest is required for local output")),
        ("tar", Some(d)) if d == "-" => Ok(Output::Tar(None)),
        ("tar", Some(d)) if !d.is_empty() => Ok(Output::Tar(Some(PathBuf::from(d)))),
        ("tar", _) => Err(fail("dest is required for tar output")),
        (t, _) => Err(fail(format!(
            "output type {t:?} is not supported by berth (local, tar)"
        ))),
    }
}

/// Whether an exported entry belongs to the build result (not the container's own files).
fn keep(path: &Path) -> bool {
    path != Path::new(".dockerenv")
}

/// The container the export reads: never started, so its command only has to be there
/// (`/`, with the image's entrypoint left out).
fn export_body(image: &str) -> ProcessCreateBody {
    ProcessCreateBody {
        image: image.to_string(),
        cmd: vec!["/".into()],
        entrypoint: Vec::new(),
    }
}

/// Exports `image`'s filesystem to `out`.
pub fn export(client: &Client, image: &str, out: &Output) -> Result<(), Failure> {
    let created = client.post_json("/containers/create", Body::typed(&export_body(image))?)?;
    let id = serde_json::from_value::<ContainerCreateResponse>(created)
        .map_err(|e| fail(format!("reading the create answer: {e}")))?
        .id;
    let result = (|| -> Result<(), Failure> {
        let resp = client.call("GET", &format!("/containers/{}/export", q(&id)), Body::None)?;
        write(resp.body, out)
    })();
    let _ = client.call(
        "DELETE",
        &format!("/containers/{}?force=1&v=1", q(&id)),
        Body::None,
    );
    result
}

fn write(body: impl Read, out: &Output) -> Result<(), Failure> {
    let mut ar = tar::Archive::new(body);
    let entries = ar
        .entries()
        .map_err(|e| fail(format!("exporting the build result: {e}")))?;
    match out {
        Output::Local(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| fail(format!("failed to create {}: {e}", dir.display())))?;
            for e in entries {
                let mut e = e.map_err(|e| fail(format!("exporting the build result: {e}")))?;
                let p = e.path().map(|p| p.into_owned()).unwrap_or_default();
                if !keep(&p) {
                    continue;
                }
                e.set_preserve_permissions(true);
                e.unpack_in(dir)
                    .map_err(|err| fail(format!("failed to write {}: {err}", p.display())))?;
            }
            Ok(())
        }
        Output::Tar(dest) => {
            let sink: Box<dyn Write> = match dest {
                Some(f) => Box::new(
                    std::fs::File::create(f)
                        .map_err(|e| fail(format!("failed to open {}: {e}", f.display())))?,
                ),
                None => Box::new(std::io::stdout().lock()),
            };
            let mut b = tar::Builder::new(sink);
            for e in entries {
                let mut e = e.map_err(|e| fail(format!("exporting the build result: {e}")))?;
                let p = e.path().map(|p| p.into_owned()).unwrap_or_default();
                if !keep(&p) {
                    continue;
                }
                let mut h = e.header().clone();
                b.append_data(&mut h, &p, &mut e)
                    .map_err(|err| fail(format!("writing the tar: {err}")))?;
            }
            b.into_inner()
                .and_then(|mut w| w.flush())
                .map_err(|e| fail(format!("writing the tar: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_body_sends_the_same_bytes() {
        for image in ["sha256:4f2c", "app:latest", "a \"quoted\" name"] {
            // The body as it was built before it was typed.
            let before = serde_json::json!({ "Image": image, "Cmd": ["/"], "Entrypoint": [] });
            let body = export_body(image);
            assert_eq!(
                serde_json::to_vec(&body).unwrap(),
                serde_json::to_vec(&before).unwrap(),
                "{image}"
            );
            // What the daemon reads from it.
            let read: berth_api::models::ContainerCreateBody =
                serde_json::from_value(before).unwrap();
            assert_eq!(read.config.image, image);
            assert_eq!(read.config.cmd, Some(vec!["/".to_string()]));
            assert_eq!(read.config.entrypoint, Some(Vec::new()));
        }
        // The answer, from moby 28 and from a daemon that writes no warnings as null.
        for answer in [
            r#"{"Id":"abc","Warnings":[]}"#,
            r#"{"Id":"abc","Warnings":null}"#,
        ] {
            let a: ContainerCreateResponse = serde_json::from_str(answer).unwrap();
            assert_eq!((a.id.as_str(), a.warnings.len()), ("abc", 0));
        }
    }

    #[test]
    fn output_specs() {
        assert_eq!(parse("out").unwrap(), Output::Local("out".into()));
        assert_eq!(
            parse("type=local,dest=/x").unwrap(),
            Output::Local("/x".into())
        );
        assert_eq!(
            parse("type=tar,dest=a.tar").unwrap(),
            Output::Tar(Some("a.tar".into()))
        );
        assert_eq!(parse("type=tar,dest=-").unwrap(), Output::Tar(None));
        assert!(parse("type=local")
            .unwrap_err()
            .msg
            .contains("dest is required"));
        assert!(parse("dest=x")
            .unwrap_err()
            .msg
            .contains("type is required"));
        assert!(parse("type=oci,dest=x")
            .unwrap_err()
            .msg
            .contains("not supported"));
        assert!(parse("type=tar,foo=1")
            .unwrap_err()
            .msg
            .contains("unsupported output attribute"));
    }
}
