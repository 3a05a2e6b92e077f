//! `autoglm ops actors`: the live supervision tree in the terminal.

use anyhow::{bail, Result};
use autoglm_supervisor::Snapshot;
use std::fmt::Write;

/// Fetches `/ops/actors` and renders it as a tree.
pub async fn actors(client: &crate::client::Client, max_children: usize) -> Result<String> {
    let reply = client.get("/ops/actors").await?;
    if !reply.status.is_success() {
        bail!("{}: {}", reply.status, String::from_utf8_lossy(&reply.body));
    }
    let doc = reply.json()?;
    let tree: Vec<Snapshot> = serde_json::from_value(doc["tree"].clone())?;
    let mut out = String::new();
    let node = doc["node"].as_str().unwrap_or("?");
    let _ = writeln!(out, "node {node}  counts {}", doc["counts"]);
    for root in &tree {
        render(&mut out, root, "", true, max_children);
    }
    Ok(out)
}

/// Renders one snapshot and its children with box-drawing guides.
pub fn render(out: &mut String, s: &Snapshot, prefix: &str, last: bool, max_children: usize) {
    let branch = if prefix.is_empty() {
        ""
    } else if last {
        "└─ "
    } else {
        "├─ "
    };
    let mut flags = String::new();
    if s.mailbox_len > 0 {
        let _ = write!(flags, "  mailbox={}", s.mailbox_len);
    }
    if s.restarts > 0 {
        let _ = write!(flags, "  restarts={}", s.restarts);
    }
    let _ = writeln!(
        out,
        "{prefix}{branch}{}/{} [{}]{flags}  since {}  {}",
        s.kind,
        s.id,
        s.state,
        s.started_at.format("%H:%M:%S"),
        compact(&s.fields)
    );
    let child_prefix =
        if prefix.is_empty() { "   ".to_string() } else { format!("{prefix}{}", if last { "   " } else { "│  " }) };
    let shown = s.children.len().min(max_children);
    for (i, c) in s.children.iter().take(shown).enumerate() {
        render(out, c, &child_prefix, i + 1 == shown && shown == s.children.len(), max_children);
    }
    if s.children.len() > shown {
        let _ = writeln!(out, "{child_prefix}└─ … {} more", s.children.len() - shown);
    }
}

fn compact(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(m) if m.is_empty() => String::new(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}
