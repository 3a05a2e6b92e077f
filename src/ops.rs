//! `autoglm ops actors|cluster|models`: the live supervision tree, the
//! cluster's members and the model registry in the terminal.

use anyhow::{bail, Result};
use autoglm_supervisor::Snapshot;
use std::fmt::Write;

/// Fetches `/ops/actors` (every member's with `cluster`) and renders it as a tree.
pub async fn actors(client: &crate::client::Client, max_children: usize, cluster: bool) -> Result<String> {
    let path = if cluster { "/ops/actors?scope=cluster" } else { "/ops/actors" };
    let reply = client.get(path).await?;
    if !reply.status.is_success() {
        bail!("{}: {}", reply.status, String::from_utf8_lossy(&reply.body));
    }
    let doc = reply.json()?;
    let tree: Vec<Snapshot> = serde_json::from_value(doc["tree"].clone())?;
    let mut out = String::new();
    let node = doc["node"].as_str().unwrap_or("?");
    let _ = writeln!(out, "node {node}  counts {}", doc["counts"]);
    if let Some(missing) = doc["missing"].as_array().filter(|m| !m.is_empty()) {
        let _ = writeln!(out, "did not answer: {}", serde_json::Value::Array(missing.clone()));
    }
    let mut shown_node = None;
    for root in &tree {
        if cluster && shown_node != Some(&root.node) {
            let _ = writeln!(out, "── {} ──", root.node);
            shown_node = Some(&root.node);
        }
        render(&mut out, root, "", true, max_children);
    }
    Ok(out)
}

/// Fetches `/ops/cluster` and renders one line per member.
pub async fn cluster(client: &crate::client::Client) -> Result<String> {
    let reply = client.get("/ops/cluster").await?;
    if !reply.status.is_success() {
        bail!("{}: {}", reply.status, String::from_utf8_lossy(&reply.body));
    }
    Ok(render_cluster(&reply.json()?))
}

/// The cluster view as a table: name, state, last heartbeat, workers, actors, HTTP.
pub fn render_cluster(doc: &serde_json::Value) -> String {
    let mut out = String::new();
    let members = doc["members"].as_array().cloned().unwrap_or_default();
    let _ = writeln!(
        out,
        "cluster seen from {}: {} of {} members up",
        doc["node"].as_str().unwrap_or("?"),
        doc["up"].as_u64().unwrap_or(0),
        members.len()
    );
    let _ = writeln!(out, "{:<16} {:<5} {:>9} {:>8}  {:<40} http", "member", "state", "heartbeat", "workers", "actors");
    for m in &members {
        let name = format!("{}{}", m["name"].as_str().unwrap_or("?"), if m["self"] == true { "*" } else { "" });
        let beat = match m["last_heartbeat_ms_ago"].as_i64() {
            Some(0) if m["self"] == true => "-".to_string(),
            Some(ms) => format!("{ms} ms"),
            None => "?".into(),
        };
        let actors = m["actors"]
            .as_object()
            .map(|a| a.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{name:<16} {:<5} {beat:>9} {:>8}  {actors:<40} {}",
            m["state"].as_str().unwrap_or("?"),
            m["workers"].as_u64().map(|w| w.to_string()).unwrap_or_else(|| "-".into()),
            m["http"].as_str().unwrap_or("")
        );
    }
    if let Some(t) = doc.get("takeovers") {
        let _ = writeln!(out, "taken over here: {} workers, {} orders", t["workers"], t["orders"]);
    }
    out
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

/// Fetches `/ops/models` and renders devices and loaded models as a table.
pub async fn models(client: &crate::client::Client) -> Result<String> {
    let reply = client.get("/ops/models").await?;
    if !reply.status.is_success() {
        bail!("{}: {}", reply.status, String::from_utf8_lossy(&reply.body));
    }
    Ok(render_models(&reply.json()?))
}

/// The `/ops/models` document as a table, one row per model version.
pub fn render_models(doc: &serde_json::Value) -> String {
    let mut out = String::new();
    let devices: Vec<&str> = doc["devices"].as_array().into_iter().flatten().filter_map(|d| d.as_str()).collect();
    let _ = writeln!(out, "devices: {}", devices.join(", "));
    let models = doc["models"].as_array().cloned().unwrap_or_default();
    if models.is_empty() {
        let _ = writeln!(out, "no model loaded (the NLU answers from rules and the time parser)");
        return out;
    }
    let _ = writeln!(
        out,
        "{:<14} {:<22} {:<9} {:<12} {:>9} {:>9} {:>8} {:>7} {:>11} {:>9} {:>9} {:>8}",
        "model",
        "version",
        "state",
        "devices",
        "requests",
        "kept",
        "batches",
        "batch",
        "queue",
        "wait µs",
        "infer µs",
        "restarts"
    );
    for m in &models {
        let devices: Vec<&str> = m["devices"].as_array().into_iter().flatten().filter_map(|d| d.as_str()).collect();
        let restarts: u64 = m["workers"].as_array().into_iter().flatten().filter_map(|w| w["restarts"].as_u64()).sum();
        let _ = writeln!(
            out,
            "{:<14} {:<22} {:<9} {:<12} {:>9} {:>9} {:>8} {:>7.1} {:>11} {:>9.0} {:>9.0} {:>8}",
            m["name"].as_str().unwrap_or("?"),
            m["version"].as_str().unwrap_or("?"),
            m["state"].as_str().unwrap_or("?"),
            devices.join(","),
            m["requests"].as_u64().unwrap_or(0),
            m["answer_cache_hits"].as_u64().unwrap_or(0),
            m["batches"].as_u64().unwrap_or(0),
            m["mean_batch"].as_f64().unwrap_or(0.0),
            format!("{}/{}", m["queue_depth"].as_u64().unwrap_or(0), m["queue_capacity"].as_u64().unwrap_or(0)),
            m["mean_queue_wait_us"].as_f64().unwrap_or(0.0),
            m["mean_inference_us"].as_f64().unwrap_or(0.0),
            restarts
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_table_shows_each_version_and_the_empty_case() {
        let empty = render_models(&serde_json::json!({ "devices": ["cpu"], "models": [] }));
        assert!(empty.contains("devices: cpu") && empty.contains("no model loaded"), "{empty}");
        let doc = serde_json::json!({ "devices": ["cuda:0"], "models": [{
            "name": "intent_slot", "version": "0.1.0-seed42", "state": "ready", "devices": ["cuda:0"],
            "workers": [{ "restarts": 2 }], "requests": 10, "answer_cache_hits": 31, "batches": 4, "mean_batch": 2.5,
            "queue_depth": 0, "queue_capacity": 4096, "mean_queue_wait_us": 812.0, "mean_inference_us": 95.0 }] });
        let table = render_models(&doc);
        assert!(table.contains("intent_slot") && table.contains("0.1.0-seed42") && table.contains("0/4096"), "{table}");
        assert!(table.lines().nth(1).is_some_and(|l| l.contains("kept")) && table.contains(" 31 "), "{table}");
        assert!(table.lines().last().is_some_and(|l| l.trim_end().ends_with('2')), "{table}");
    }
}
