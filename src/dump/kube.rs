//! Reading `kubectl get … -o json` / YAML dumps as source events.
//!
//! Accepted shapes: a `List` (or `PodList`, … as the API prints it, whose
//! items carry no `kind`), a single object, a JSON array of objects, JSON
//! documents concatenated one after the other (`kubectl get pods -o json;
//! kubectl get events -o json`), and a YAML stream (`---` separated). A
//! truncated JSON file still yields every complete object before the cut.
//! Objects that cannot be read are skipped with a warning naming the file and
//! the object; the rest of the dump is still used.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{DumpError, Loaded};
use crate::sources::{KubeObject, SourceEvent};

/// The kube context name given to objects read from a dump.
pub const DUMP_CONTEXT: &str = "dump";

/// Reads a kubectl dump. `path` is only used to name the file in messages.
pub fn read(path: &str, text: &str) -> Result<Loaded, DumpError> {
    let mut reader = Reader {
        path,
        loaded: Loaded::default(),
        skipped_kinds: BTreeMap::new(),
    };
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.is_empty() {
        return Err(DumpError {
            path: path.into(),
            message: "the file is empty".into(),
        });
    }
    let docs = if trimmed.starts_with('{') || trimmed.starts_with('[') {
        json_documents(path, trimmed, &mut reader.loaded.warnings)?
    } else {
        yaml_documents(path, trimmed, &mut reader.loaded.warnings)?
    };
    let ndocs = docs.len();
    for doc in docs {
        reader.document(doc, None);
    }
    for (kind, n) in std::mem::take(&mut reader.skipped_kinds) {
        reader.loaded.warnings.push(format!(
            "{path}: skipped {n} {kind} object{} (not used for diagnosis)",
            if n == 1 { "" } else { "s" }
        ));
    }
    if reader.loaded.events.is_empty() && ndocs > 0 && !reader.loaded.warnings.is_empty() {
        let first = reader.loaded.warnings.first().cloned().unwrap_or_default();
        return Err(DumpError {
            path: path.into(),
            message: format!(
                "no Kubernetes object could be read ({})",
                first.strip_prefix(&format!("{path}: ")).unwrap_or(&first)
            ),
        });
    }
    Ok(reader.loaded)
}

struct Reader<'a> {
    path: &'a str,
    loaded: Loaded,
    skipped_kinds: BTreeMap<String, usize>,
}

impl Reader<'_> {
    /// One document: a list, an array or a single object. `item_kind` is the
    /// kind implied by a typed list (`PodList` → `Pod`).
    fn document(&mut self, doc: Value, item_kind: Option<&str>) {
        match doc {
            Value::Array(items) => {
                for item in items {
                    self.document(item, item_kind);
                }
            }
            Value::Object(mut map) => {
                let kind = map
                    .get("kind")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| item_kind.map(str::to_string));
                let is_list = kind.as_deref().is_some_and(|k| k.ends_with("List"))
                    || (kind.is_none() && map.get("items").is_some_and(Value::is_array));
                if is_list {
                    let inner = kind
                        .as_deref()
                        .and_then(|k| k.strip_suffix("List"))
                        .filter(|k| !k.is_empty())
                        .map(str::to_string);
                    match map.remove("items") {
                        Some(Value::Array(items)) => {
                            for item in items {
                                self.document(item, inner.as_deref());
                            }
                        }
                        Some(Value::Null) | None => {}
                        Some(_) => self.warn(format!(
                            "{} has an `items` field that is not a list",
                            kind.as_deref().unwrap_or("list")
                        )),
                    }
                    return;
                }
                let Some(kind) = kind else {
                    self.warn(format!(
                        "object {} has no `kind`: not a Kubernetes object",
                        describe_meta(&map)
                    ));
                    return;
                };
                if !map.contains_key("kind") {
                    map.insert("kind".into(), Value::String(kind.clone()));
                }
                self.object(kind, Value::Object(map));
            }
            Value::Null => {}
            other => self.warn(format!(
                "expected a Kubernetes object or list, found {}",
                json_type(&other)
            )),
        }
    }

    fn object(&mut self, kind: String, value: Value) {
        let who = format!(
            "{kind} {}",
            value
                .as_object()
                .map(describe_meta)
                .unwrap_or_else(|| "<unnamed>".into())
        );
        let name_missing = value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        match KubeObject::from_value(value) {
            Ok(Some(object)) => {
                if name_missing {
                    self.warn(format!("{who}: missing metadata.name, skipped"));
                    return;
                }
                if let KubeObject::Event(ev) = &object {
                    if ev.involved_object.name.as_deref().is_none_or(str::is_empty) {
                        self.warn(format!("{who}: missing involvedObject.name, skipped"));
                        return;
                    }
                }
                self.loaded.events.push(SourceEvent::KubeApply {
                    context: DUMP_CONTEXT.into(),
                    object,
                });
            }
            Ok(None) => *self.skipped_kinds.entry(kind).or_default() += 1,
            Err(e) => self.warn(format!("{who}: {e}, skipped")),
        }
    }

    fn warn(&mut self, message: String) {
        self.loaded
            .warnings
            .push(format!("{}: {message}", self.path));
    }
}

fn describe_meta(map: &serde_json::Map<String, Value>) -> String {
    let meta = map.get("metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("<unnamed>");
    match meta
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
    {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_string(),
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Every JSON document in the text. A syntax error or truncation stops the
/// stream; complete objects before it are salvaged and a warning says where.
fn json_documents(
    path: &str,
    text: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<Value>, DumpError> {
    let mut docs = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    loop {
        let offset = stream.byte_offset();
        match stream.next() {
            None => break,
            Some(Ok(v)) => docs.push(v),
            Some(Err(e)) => {
                let rest = &text[offset..];
                let salvaged = salvage_objects(rest);
                let what = if e.is_eof() {
                    "the file is truncated"
                } else {
                    "invalid JSON"
                };
                if salvaged.is_empty() && docs.is_empty() {
                    return Err(DumpError {
                        path: path.into(),
                        message: format!("{what}: {e}; not a kubectl JSON or YAML dump"),
                    });
                }
                warnings.push(format!(
                    "{path}: {what} ({e}); read {} complete object{} before that point",
                    salvaged.len(),
                    if salvaged.len() == 1 { "" } else { "s" }
                ));
                docs.push(Value::Array(salvaged));
                break;
            }
        }
    }
    Ok(docs)
}

/// Complete Kubernetes objects (JSON objects with a `kind`, or items of an
/// `items` array) found in a broken JSON text, by brace matching.
fn salvage_objects(text: &str) -> Vec<Value> {
    let mut out = Vec::new();
    // Byte offsets of open `{` at each depth.
    let mut stack: Vec<usize> = Vec::new();
    let mut in_str = false;
    let mut escaped = false;
    let bytes = text.as_bytes();
    // Depth at which the objects we want live: items of a top-level list are
    // at depth 2 (`{ "items": [ {` ); bare concatenated objects at depth 1.
    let list_wrapped = text.trim_start().starts_with('{') && text.contains("\"items\"");
    let target = if list_wrapped { 2 } else { 1 };
    for (i, &b) in bytes.iter().enumerate() {
        if in_str {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' => stack.push(i),
            b'}' => {
                if let Some(start) = stack.pop() {
                    if stack.len() + 1 == target {
                        if let Ok(v) = serde_json::from_str::<Value>(&text[start..=i]) {
                            if v.get("kind").is_some() || list_wrapped {
                                out.push(v);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn yaml_documents(
    path: &str,
    text: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<Value>, DumpError> {
    use serde::Deserialize;
    let mut docs = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        match Value::deserialize(doc) {
            Ok(v) => docs.push(v),
            Err(e) => {
                if docs.is_empty() {
                    return Err(DumpError {
                        path: path.into(),
                        message: format!("not JSON, and not YAML either (document {}: {e})", i + 1),
                    });
                }
                // Keep what was read before the broken document.
                warnings.push(format!(
                    "{path}: YAML document {} is unreadable ({e}); read the {} before it",
                    i + 1,
                    docs.len()
                ));
                break;
            }
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pods(l: &Loaded) -> Vec<String> {
        l.events
            .iter()
            .map(|e| match e {
                SourceEvent::KubeApply { object, .. } => format!(
                    "{}/{}",
                    object.kind(),
                    object.metadata().name.clone().unwrap_or_default()
                ),
                _ => String::new(),
            })
            .collect()
    }

    const POD: &str = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"shop"},"spec":{"containers":[{"name":"c","image":"nginx"}]},"status":{"phase":"Pending"}}"#;

    #[test]
    fn list_and_typed_list() {
        let l = read(
            "d.json",
            &format!(r#"{{"apiVersion":"v1","kind":"List","items":[{POD}]}}"#),
        )
        .unwrap();
        assert_eq!(pods(&l), vec!["Pod/a"]);
        let typed = r#"{"apiVersion":"v1","kind":"PodList","items":[{"metadata":{"name":"b","namespace":"x"},"spec":{"containers":[]}}]}"#;
        let l = read("d.json", typed).unwrap();
        assert_eq!(pods(&l), vec!["Pod/b"]);
    }

    #[test]
    fn concatenated_and_yaml() {
        let l = read("d.json", &format!("{POD}\n{POD}")).unwrap();
        assert_eq!(l.events.len(), 2);
        let y = "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: p\n    namespace: d\n";
        let l = read("d.yaml", y).unwrap();
        assert_eq!(pods(&l), vec!["Node/n1", "Pod/p"]);
    }

    #[test]
    fn truncated_list_salvages_complete_items() {
        let text = format!(
            r#"{{"apiVersion":"v1","kind":"List","items":[{POD},{POD},{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"cut"#
        );
        let l = read("cut.json", &text).unwrap();
        assert_eq!(l.events.len(), 2);
        assert!(
            l.warnings[0].starts_with("cut.json: the file is truncated"),
            "{:?}",
            l.warnings
        );
    }

    #[test]
    fn bad_objects_are_named_and_skipped() {
        let text = format!(
            r#"{{"kind":"List","items":[{POD},{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"bad","namespace":"shop"}},"spec":{{"containers":"oops"}}}},{{"kind":"Service","metadata":{{"name":"s"}}}},{{"kind":"Pod","metadata":{{"namespace":"x"}}}}]}}"#
        );
        let l = read("d.json", &text).unwrap();
        assert_eq!(l.events.len(), 1);
        let w = l.warnings.join("\n");
        assert!(w.contains("d.json: Pod shop/bad: "), "{w}");
        assert!(w.contains("missing metadata.name"), "{w}");
        assert!(w.contains("skipped 1 Service object"), "{w}");
    }

    #[test]
    fn not_a_dump() {
        assert!(read("x", "").is_err());
        let e = read("x.json", "{not json").unwrap_err();
        assert_eq!(e.path, "x.json");
        assert!(read("x.txt", "hello: [unclosed").is_err());
        assert!(read("x.json", "[1,2]").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            let _ = read("p", &s);
        }

        #[test]
        fn never_panics_on_cut_dumps(cut in 0usize..400) {
            let text = format!(r#"{{"apiVersion":"v1","kind":"List","items":[{POD},{POD}]}}"#);
            let cut = cut.min(text.len());
            let _ = read("p", &text[..cut]);
        }
    }
}
