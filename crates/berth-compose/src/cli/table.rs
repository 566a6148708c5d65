//! docker compose's own table and `--format` handling (compose's cmd/formatter), which
//! differ from the docker CLI's: `ls` and `images` print through Go's tabwriter with
//! minwidth 20 and padding 3, `top` with minwidth 4 and padding 2; `--format` takes only
//! `table`/`pretty`, `json` (one array) and `{{json.}}` (one object per line).

use std::io::Write;

/// Rows (header first) laid out as Go's tabwriter does: every cell but a row's last padded.
pub fn render(rows: &[Vec<String>], minwidth: usize, padding: usize) -> String {
    let mut buf = String::new();
    for r in rows {
        buf.push_str(&r.join("\t"));
        buf.push('\n');
    }
    // Go's cell width is max(minwidth, text + padding); the tabwriter crate's is
    // max(minwidth, text) + padding.
    let mut tw = tabwriter::TabWriter::new(Vec::new())
        .minwidth(minwidth.saturating_sub(padding))
        .padding(padding);
    let _ = tw.write_all(buf.as_bytes());
    let _ = tw.flush();
    tw.into_inner()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// What a compose `--format` value asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    /// One JSON array.
    Json,
    /// `{{json.}}`: one JSON object per line.
    JsonLines,
}

/// compose's formatter.Print switch (case-insensitive); anything else is its error.
pub fn parse(format: &str) -> Result<Format, String> {
    match format.to_lowercase().as_str() {
        "" | "table" | "pretty" => Ok(Format::Table),
        "json" => Ok(Format::Json),
        "{{json.}}" => Ok(Format::JsonLines),
        _ => Err(format!(
            "format value {format:?} could not be parsed: parsing failed"
        )),
    }
}

/// `objects` (structs: their fields in compose's order) as `format` asks, or the table.
pub fn print<T: serde::Serialize>(
    format: &Format,
    objects: &[T],
    table: impl FnOnce() -> String,
) -> String {
    let one = |o: &T| serde_json::to_string(o).unwrap_or_default();
    match format {
        Format::Table => table(),
        Format::Json => format!(
            "[{}]\n",
            objects.iter().map(one).collect::<Vec<_>>().join(",")
        ),
        Format::JsonLines => objects.iter().map(|o| format!("{}\n", one(o))).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabwriter_layout_as_compose() {
        let rows = vec![
            vec!["NAME".to_string(), "STATUS".into(), "CONFIG FILES".into()],
            vec![
                "ex".to_string(),
                "running(3)".into(),
                "/p/compose.yaml".into(),
            ],
        ];
        assert_eq!(
            render(&rows, 20, 3),
            "NAME                STATUS              CONFIG FILES\nex                  running(3)          /p/compose.yaml\n"
        );
        let top = vec![
            vec![
                "SERVICE".to_string(),
                "#".into(),
                "UID".into(),
                "CMD".into(),
            ],
            vec![
                "db".to_string(),
                "1".into(),
                "root".into(),
                "sleep 600".into(),
            ],
        ];
        assert_eq!(
            render(&top, 4, 2),
            "SERVICE  #   UID   CMD\ndb       1   root  sleep 600\n"
        );
    }

    #[test]
    fn formats_compose_accepts() {
        assert_eq!(parse("TABLE"), Ok(Format::Table));
        assert_eq!(parse("json"), Ok(Format::Json));
        assert_eq!(parse("{{json.}}"), Ok(Format::JsonLines));
        assert_eq!(
            parse("{{.Name}}"),
            Err("format value \"{{.Name}}\" could not be parsed: parsing failed".into())
        );
        #[derive(serde::Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct P {
            name: &'static str,
            status: &'static str,
        }
        let objs = [
            P {
                name: "a",
                status: "s",
            },
            P {
                name: "b",
                status: "t",
            },
        ];
        assert_eq!(
            print(&Format::Json, &objs, String::new),
            "[{\"Name\":\"a\",\"Status\":\"s\"},{\"Name\":\"b\",\"Status\":\"t\"}]\n"
        );
        assert_eq!(
            print(&Format::JsonLines, &objs, String::new),
            "{\"Name\":\"a\",\"Status\":\"s\"}\n{\"Name\":\"b\",\"Status\":\"t\"}\n"
        );
    }
}
