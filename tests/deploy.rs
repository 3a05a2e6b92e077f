//! Checks of `deploy/`: the Dockerfile's stages, user, health check and
//! libtorch path; the Helm chart; the Prometheus scrape config.
//!
//! With `helm` on the PATH (or `AUTOGLM_HELM` naming it) the chart also goes
//! through `helm lint` and `helm template` (CPU and GPU values). Without it,
//! the fallback below runs alone: Chart.yaml, values.yaml and
//! prometheus.yml parse (a small YAML reader for the block style these files
//! use), every `.Values.*` path a template uses exists in values.yaml, each
//! template is YAML-shaped once its `{{ }}` actions are blanked out, and the
//! ConfigMap's `autoglm.toml`, rendered with the default values, is a config
//! the node accepts.

use autoglm::config::Config;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

// ---------------------------------------------------------------- Dockerfile

/// One Dockerfile instruction: keyword (upper case) and its arguments.
#[derive(Debug, Clone)]
struct Instruction {
    keyword: String,
    args: String,
}

/// Instructions with continuation lines joined and comments dropped.
fn instructions(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if pending.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if !pending.is_empty() && trimmed.starts_with('#') {
            continue; // a comment inside a continued RUN
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(trimmed);
        let (keyword, args) = pending.split_once(char::is_whitespace).unwrap_or((pending.as_str(), ""));
        out.push(Instruction { keyword: keyword.to_ascii_uppercase(), args: args.trim().to_string() });
        pending.clear();
    }
    assert!(pending.is_empty(), "the Dockerfile ends inside a continued line");
    out
}

/// The stages: (name, instructions after its FROM).
fn stages(all: &[Instruction]) -> Vec<(String, Vec<Instruction>)> {
    let mut out: Vec<(String, Vec<Instruction>)> = Vec::new();
    for i in all {
        if i.keyword == "FROM" {
            let words: Vec<&str> = i.args.split_whitespace().collect();
            let name = match words.as_slice() {
                [.., as_kw, name] if as_kw.eq_ignore_ascii_case("as") => name.to_string(),
                _ => String::new(),
            };
            out.push((name, Vec::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push(i.clone());
        }
    }
    out
}

fn find<'a>(stage: &'a [Instruction], keyword: &str) -> Vec<&'a Instruction> {
    stage.iter().filter(|i| i.keyword == keyword).collect()
}

/// `ENTRYPOINT ["a", "b"]` as its words.
fn exec_form(args: &str) -> Vec<String> {
    let v: serde_json::Value =
        serde_json::from_str(args).unwrap_or_else(|e| panic!("not an exec-form JSON array: {args}: {e}"));
    v.as_array()
        .unwrap_or_else(|| panic!("not a JSON array: {args}"))
        .iter()
        .map(|w| w.as_str().unwrap_or_else(|| panic!("not a string in {args}")).to_string())
        .collect()
}

/// The destination of `COPY --from=build SRC DST` whose source is `src`.
fn copied_to(stage: &[Instruction], src: &str) -> Option<String> {
    find(stage, "COPY").into_iter().find_map(|c| {
        let words: Vec<&str> = c.args.split_whitespace().collect();
        match words.as_slice() {
            [from, s, dst] if from.starts_with("--from=") && *s == src => Some(dst.to_string()),
            _ => None,
        }
    })
}

#[test]
fn dockerfile_builds_with_libtorch_and_runs_slim_as_a_non_root_user() {
    let all = instructions(&read("deploy/Dockerfile"));
    let stages = stages(&all);
    let names: Vec<&str> = stages.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["build", "runtime"], "two stages, build then runtime");
    let (build, runtime) = (&stages[0].1, &stages[1].1);

    // Build: the same torch wheels as ./dev, cargo build, the model trained here.
    let dev = read("dev");
    let torch = dev
        .lines()
        .find_map(|l| l.strip_prefix("TORCH_VERSION="))
        .unwrap_or_else(|| panic!("./dev has no TORCH_VERSION"));
    let wheels = dev.lines().find(|l| l.starts_with("TORCH_WHEELS=(")).unwrap_or_else(|| panic!("no TORCH_WHEELS"));
    let build_text: String = build.iter().map(|i| format!("{} {}\n", i.keyword, i.args)).collect();
    assert!(build_text.contains(&format!("ARG TORCH_VERSION={torch}")), "torch {torch} as in ./dev");
    for wheel in wheels.trim_start_matches("TORCH_WHEELS=(").trim_end_matches(')').split_whitespace() {
        let wheel = wheel.trim_matches('"');
        assert!(build_text.contains(wheel), "the CPU wheel set of ./dev includes {wheel}");
    }
    assert!(build_text.contains("ARG VARIANT=cpu"), "CPU by default, a build arg for CUDA");
    assert!(build_text.contains("cargo build --release --locked --bin autoglm"));
    assert!(build_text.contains("autoglm train --out"), "the model is trained at build time");

    // libtorch: the binary's rpath is LIBTORCH/lib of the build stage; the
    // runtime stage must put the libraries at that same path.
    let libtorch = find(build, "ENV")
        .into_iter()
        .find_map(|e| e.args.strip_prefix("LIBTORCH=").map(str::to_string))
        .unwrap_or_else(|| panic!("the build stage sets no LIBTORCH"));
    let prefix = libtorch.strip_suffix("/torch").unwrap_or_else(|| panic!("LIBTORCH={libtorch} is not <dir>/torch"));
    assert_eq!(copied_to(runtime, "/out/libtorch").as_deref(), Some(prefix), "libtorch at the rpath's place");
    assert!(build_text.contains(&format!("{libtorch}/lib")), "the build checks the binary's rpath");
    assert!(
        !find(runtime, "ENV").iter().any(|e| e.args.contains("LD_LIBRARY_PATH")),
        "the rpath is enough; no LD_LIBRARY_PATH"
    );

    // Runtime: slim, non-root, the port, health check, stop signal, entrypoint.
    let from_runtime = all.iter().filter(|i| i.keyword == "FROM").nth(1).map(|i| i.args.clone()).unwrap_or_default();
    assert!(from_runtime.contains("RUNTIME_IMAGE") || from_runtime.contains("slim"), "{from_runtime}");
    let arg_runtime = all.iter().find(|i| i.keyword == "ARG" && i.args.starts_with("RUNTIME_IMAGE="));
    assert!(arg_runtime.is_some_and(|a| a.args.contains("-slim")), "a slim Debian runtime");
    let user = find(runtime, "USER").last().map(|u| u.args.clone()).unwrap_or_default();
    assert!(!user.is_empty() && !user.starts_with("root") && !user.starts_with('0'), "non-root user, got {user:?}");
    assert_eq!(find(runtime, "EXPOSE").iter().map(|e| e.args.as_str()).collect::<Vec<_>>(), ["8080"]);
    assert_eq!(find(runtime, "STOPSIGNAL").last().map(|s| s.args.as_str()), Some("SIGTERM"));
    let health = find(runtime, "HEALTHCHECK").last().map(|h| h.args.clone()).unwrap_or_default();
    assert!(health.contains("CMD") && health.contains("127.0.0.1:8080/healthz"), "{health}");
    let entry = exec_form(&find(runtime, "ENTRYPOINT").last().map(|e| e.args.clone()).unwrap_or_default());
    assert_eq!(&entry[..2], ["autoglm", "serve"]);
    let flag = |name: &str| entry.windows(2).find(|w| w[0] == name).map(|w| w[1].clone());
    assert_eq!(flag("--listen").as_deref(), Some("0.0.0.0:8080"));
    assert_eq!(flag("--data-dir").as_deref(), Some("/data"));
    assert_eq!(copied_to(runtime, "/out/bin/autoglm").as_deref(), Some("/usr/local/bin/autoglm"));

    // The config the entrypoint names is in the image, parses, and points at the trained model.
    let config = flag("--config").unwrap_or_else(|| panic!("the entrypoint passes no --config"));
    let copy_cfg = find(runtime, "COPY")
        .into_iter()
        .find_map(|c| c.args.strip_prefix("deploy/autoglm.docker.toml ").map(str::to_string));
    assert_eq!(copy_cfg.as_deref(), Some(config.as_str()));
    let cfg = Config::load(&root().join("deploy/autoglm.docker.toml")).unwrap_or_else(|e| panic!("{e:#}"));
    let models = copied_to(runtime, "/out/models").unwrap_or_else(|| panic!("the model is not copied"));
    assert_eq!(cfg.nlu.models_dir, PathBuf::from(&models), "the node loads the model the image holds");
    assert!(build_text.contains(&format!("/out/models/{}", cfg.nlu.pool.default_model)));

    let ignore = read(".dockerignore");
    for must in ["target/", "data/", ".git/"] {
        assert!(ignore.lines().any(|l| l.trim() == must), ".dockerignore leaves out {must}");
    }
}

// ---------------------------------------------------------------- YAML

/// A YAML value of the block style the chart and scrape config use.
#[derive(Debug, Clone, PartialEq)]
enum Yaml {
    Map(Vec<(String, Yaml)>),
    Seq(Vec<Yaml>),
    Str(String),
    Null,
}

impl Yaml {
    fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn path(&self, path: &[&str]) -> Option<&Yaml> {
        path.iter().try_fold(self, |v, k| v.get(k))
    }

    fn str(&self) -> Option<&str> {
        match self {
            Yaml::Str(s) => Some(s),
            _ => None,
        }
    }

    fn seq(&self) -> &[Yaml] {
        match self {
            Yaml::Seq(s) => s,
            _ => &[],
        }
    }
}

#[derive(Debug, Clone)]
struct Line {
    no: usize,
    indent: usize,
    text: String,
    raw: String,
}

/// Drops a trailing ` # comment` outside quotes.
fn strip_comment(s: &str) -> &str {
    let (mut single, mut double) = (false, false);
    let mut prev = ' ';
    for (i, c) in s.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev.is_whitespace() => return s[..i].trim_end(),
            _ => {}
        }
        prev = c;
    }
    s.trim_end()
}

/// Parses one YAML document.
fn parse_yaml(text: &str) -> Result<Yaml, String> {
    let mut lines = Vec::new();
    for (no, raw) in text.lines().enumerate() {
        if raw.contains('\t') && !raw.trim_start().starts_with('#') {
            return Err(format!("line {}: tab", no + 1));
        }
        let indent = raw.len() - raw.trim_start().len();
        let text = if raw.trim_start().starts_with('#') { "" } else { strip_comment(raw.trim_start()) };
        lines.push(Line { no: no + 1, indent, text: text.to_string(), raw: raw.to_string() });
    }
    let mut p = Parser { lines, i: 0 };
    p.skip_blank();
    if p.i >= p.lines.len() {
        return Ok(Yaml::Null);
    }
    let indent = p.lines[p.i].indent;
    let v = p.block(indent)?;
    p.skip_blank();
    match p.lines.get(p.i) {
        Some(l) => Err(format!("line {}: unexpected {:?}", l.no, l.text)),
        None => Ok(v),
    }
}

struct Parser {
    lines: Vec<Line>,
    i: usize,
}

impl Parser {
    fn skip_blank(&mut self) {
        while self.lines.get(self.i).is_some_and(|l| l.text.is_empty()) {
            self.i += 1;
        }
    }

    fn is_item(text: &str) -> bool {
        text == "-" || text.starts_with("- ")
    }

    fn block(&mut self, indent: usize) -> Result<Yaml, String> {
        self.skip_blank();
        match self.lines.get(self.i) {
            Some(l) if Self::is_item(&l.text) => self.seq(indent),
            Some(_) => self.map(indent),
            None => Ok(Yaml::Null),
        }
    }

    fn map(&mut self, indent: usize) -> Result<Yaml, String> {
        let mut out: Vec<(String, Yaml)> = Vec::new();
        loop {
            self.skip_blank();
            let Some(line) = self.lines.get(self.i).cloned() else { break };
            if line.indent < indent || (line.indent == indent && Self::is_item(&line.text)) {
                break;
            }
            if line.indent > indent {
                return Err(format!("line {}: indentation {} where {indent} was expected", line.no, line.indent));
            }
            let (key, rest) = split_key(&line.text).ok_or_else(|| format!("line {}: not `key: value`", line.no))?;
            if out.iter().any(|(k, _)| *k == key) {
                return Err(format!("line {}: duplicate key {key}", line.no));
            }
            self.i += 1;
            let value = if rest.is_empty() {
                self.skip_blank();
                match self.lines.get(self.i) {
                    Some(next) if next.indent > indent => self.block(next.indent)?,
                    Some(next) if next.indent == indent && Self::is_item(&next.text) => self.seq(indent)?,
                    _ => Yaml::Null,
                }
            } else if rest.starts_with('|') || rest.starts_with('>') {
                self.block_scalar(indent)
            } else {
                scalar(rest).map_err(|e| format!("line {}: {e}", line.no))?
            };
            out.push((key, value));
        }
        Ok(Yaml::Map(out))
    }

    fn seq(&mut self, indent: usize) -> Result<Yaml, String> {
        let mut out = Vec::new();
        loop {
            self.skip_blank();
            let Some(line) = self.lines.get(self.i).cloned() else { break };
            if line.indent != indent || !Self::is_item(&line.text) {
                if line.indent > indent {
                    return Err(format!("line {}: indentation {} in a list at {indent}", line.no, line.indent));
                }
                break;
            }
            let item = line.text[1..].trim_start().to_string();
            if item.is_empty() {
                self.i += 1;
                self.skip_blank();
                match self.lines.get(self.i) {
                    Some(next) if next.indent > indent => out.push(self.block(next.indent)?),
                    _ => out.push(Yaml::Null),
                }
            } else if split_key(&item).is_some() && !item.starts_with('"') && !item.starts_with('[') {
                // `- key: value` opens a map at the key's column.
                let column = indent + (line.text.len() - item.len());
                self.lines[self.i].indent = column;
                self.lines[self.i].text = item;
                out.push(self.map(column)?);
            } else {
                self.i += 1;
                out.push(scalar(&item).map_err(|e| format!("line {}: {e}", line.no))?);
            }
        }
        Ok(Yaml::Seq(out))
    }

    /// The more-indented lines after `key: |`, as text.
    fn block_scalar(&mut self, indent: usize) -> Yaml {
        let mut body = Vec::new();
        while let Some(l) = self.lines.get(self.i) {
            if !l.raw.trim().is_empty() && l.indent <= indent {
                break;
            }
            body.push(l.raw.clone());
            self.i += 1;
        }
        let cut = body.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min();
        let cut = cut.unwrap_or(0);
        Yaml::Str(body.iter().map(|l| format!("{}\n", l.get(cut..).unwrap_or(""))).collect())
    }
}

/// `key: rest` (rest may be empty) outside quotes and brackets.
fn split_key(text: &str) -> Option<(String, &str)> {
    let (mut depth, mut single, mut double) = (0i32, false, false);
    for (i, c) in text.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '[' | '{' if !single && !double => depth += 1,
            ']' | '}' if !single && !double => depth -= 1,
            ':' if !single && !double && depth == 0 => {
                let rest = &text[i + 1..];
                if rest.is_empty() || rest.starts_with(' ') {
                    let key = text[..i].trim().trim_matches('"').trim_matches('\'').to_string();
                    return (!key.is_empty()).then_some((key, rest.trim()));
                }
            }
            _ => {}
        }
    }
    None
}

/// A plain, quoted or flow (`[a, b]`, `{}`, `{a: b}`) scalar.
fn scalar(s: &str) -> Result<Yaml, String> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or("unclosed [")?;
        return Ok(Yaml::Seq(split_flow(inner)?.iter().map(|i| scalar(i)).collect::<Result<_, _>>()?));
    }
    if let Some(inner) = s.strip_prefix('{') {
        let inner = inner.strip_suffix('}').ok_or("unclosed {")?;
        let mut map = Vec::new();
        for entry in split_flow(inner)? {
            let (k, v) = split_key(&entry).ok_or_else(|| format!("not key: value in {{}}: {entry}"))?;
            map.push((k, scalar(v)?));
        }
        return Ok(Yaml::Map(map));
    }
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q) {
            return inner.strip_suffix(q).map(|v| Yaml::Str(v.to_string())).ok_or_else(|| format!("unclosed {q}"));
        }
    }
    if s.is_empty() || s == "~" || s == "null" {
        return Ok(Yaml::Null);
    }
    if s.starts_with(['&', '*', '!', '@', '`', '%', '|', '>']) {
        return Err(format!("unsupported or invalid scalar {s}"));
    }
    Ok(Yaml::Str(s.to_string()))
}

/// Splits flow items on top-level commas.
fn split_flow(s: &str) -> Result<Vec<String>, String> {
    let (mut out, mut cur) = (Vec::new(), String::new());
    let (mut depth, mut single, mut double) = (0i32, false, false);
    for c in s.chars() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '[' | '{' if !single && !double => depth += 1,
            ']' | '}' if !single && !double => depth -= 1,
            ',' if !single && !double && depth == 0 => {
                out.push(std::mem::take(&mut cur).trim().to_string());
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if single || double || depth != 0 {
        return Err(format!("unbalanced flow value [{s}]"));
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    Ok(out)
}

#[test]
fn the_yaml_reader_rejects_what_it_should() {
    assert!(parse_yaml("a: 1\n  b: 2\n").is_err(), "bad indentation");
    assert!(parse_yaml("a: 1\na: 2\n").is_err(), "duplicate key");
    assert!(parse_yaml("a: [1, 2\n").is_err(), "unclosed flow");
    assert!(parse_yaml("just words\n").is_err(), "not a mapping");
    let v = parse_yaml("a:\n  - x: 1 # c\n    y: \"#2\"\n  - z\nb: |\n  t\n   u\nc: {}\n").unwrap_or(Yaml::Null);
    assert_eq!(v.path(&["a"]).map(|a| a.seq().len()), Some(2));
    assert_eq!(v.path(&["a"]).and_then(|a| a.seq()[0].get("y")).and_then(Yaml::str), Some("#2"));
    assert_eq!(v.path(&["b"]).and_then(Yaml::str), Some("t\n u\n"));
    assert_eq!(v.path(&["c"]), Some(&Yaml::Map(vec![])));
}

// ---------------------------------------------------------------- Helm chart

const CHART: &str = "deploy/helm/autoglm";

fn templates() -> Vec<(String, String)> {
    let dir = root().join(CHART).join("templates");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (name, text)
        })
        .collect();
    out.sort();
    out
}

/// Every `.Values.a.b` path in a template.
fn value_paths(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find(".Values.") {
        let after = &rest[i + ".Values.".len()..];
        let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')).unwrap_or(after.len());
        out.insert(after[..end].trim_end_matches('.').to_string());
        rest = &after[end..];
    }
    out
}

/// The template with its actions blanked: a line of actions only is dropped,
/// an action inside a line becomes `X`.
fn blank_actions(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut kept = String::new();
        let mut rest = line;
        while let Some(start) = rest.find("{{") {
            kept.push_str(&rest[..start]);
            let Some(end) = rest[start..].find("}}") else { panic!("unclosed {{{{ in {line:?}") };
            kept.push('X');
            rest = &rest[start + end + 2..];
        }
        kept.push_str(rest);
        let only_actions = kept.trim().chars().all(|c| c == 'X') && !kept.trim().is_empty();
        if !only_actions {
            out.push_str(&kept);
            out.push('\n');
        }
    }
    out
}

fn docs(text: &str) -> Vec<String> {
    text.split("\n---").map(str::to_string).filter(|d| !d.trim().is_empty()).collect()
}

/// Renders the ConfigMap's autoglm.toml with the default values: `int`/`quote`
/// of a `.Values` path, `if`/`else`/`end` and `with`/`end` on a path.
fn render_config_toml(block: &str, values: &Yaml) -> String {
    let lookup = |path: &str| values.path(&path.split('.').collect::<Vec<_>>()).cloned().unwrap_or(Yaml::Null);
    let truthy = |v: &Yaml| match v {
        Yaml::Null => false,
        Yaml::Str(s) => !(s.is_empty() || s == "false" || s == "0"),
        Yaml::Map(m) => !m.is_empty(),
        Yaml::Seq(s) => !s.is_empty(),
    };
    let mut out = String::new();
    let mut emitting = vec![true];
    for line in block.lines() {
        let t = line.trim();
        if let Some(action) = t.strip_prefix("{{-").or_else(|| t.strip_prefix("{{")) {
            let action = action.trim_end_matches("}}").trim().trim_end_matches('-').trim();
            let parent = *emitting.last().unwrap_or(&true);
            if let Some(cond) = action.strip_prefix("if ").or_else(|| action.strip_prefix("with ")) {
                let path = cond.trim().trim_start_matches(".Values.");
                emitting.push(parent && truthy(&lookup(path)));
            } else if action == "else" {
                let now = emitting.pop().unwrap_or(true);
                let parent = *emitting.last().unwrap_or(&true);
                emitting.push(parent && !now);
            } else if action == "end" {
                emitting.pop();
            } else if emitting.last().copied().unwrap_or(true) {
                panic!("the test cannot render {action:?} in autoglm.toml; keep the ConfigMap simple");
            }
            continue;
        }
        if !emitting.last().copied().unwrap_or(true) {
            continue;
        }
        let mut rendered = String::new();
        let mut rest = line;
        while let Some(start) = rest.find("{{") {
            rendered.push_str(&rest[..start]);
            let end = rest[start..].find("}}").unwrap_or_else(|| panic!("unclosed action in {line:?}"));
            let expr = rest[start + 2..start + end].trim();
            let value = if let Some(p) = expr.strip_prefix("int .Values.") {
                lookup(p).str().unwrap_or_else(|| panic!("{p} is no number")).to_string()
            } else if let Some(p) = expr.strip_prefix(".Values.").and_then(|e| e.strip_suffix("| quote")) {
                format!("{:?}", lookup(p.trim()).str().unwrap_or(""))
            } else {
                panic!("the test cannot render {expr:?} in autoglm.toml");
            };
            rendered.push_str(&value);
            rest = &rest[start + end + 2..];
        }
        rendered.push_str(rest);
        out.push_str(&rendered);
        out.push('\n');
    }
    out
}

/// The ConfigMap's `cluster-<i>.toml` files for `replicas` pods of a release
/// named autoglm in namespace default: (key, text).
fn render_cluster_files(cm: &str, replicas: usize, port: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = cm.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim().starts_with("{{- range $i, $e := until (int .Values.replicaCount) }}"))
        .unwrap_or_else(|| panic!("no per-pod range in the ConfigMap"));
    let mut depth = 0;
    let mut end = lines.len();
    for (k, l) in lines.iter().enumerate().skip(start + 1) {
        let t = l.trim();
        if t.starts_with("{{- range") || t.starts_with("{{- if") {
            depth += 1;
        } else if t == "{{- end }}" {
            if depth == 0 {
                end = k;
                break;
            }
            depth -= 1;
        }
    }
    let body = &lines[start + 1..end];
    let subst = |line: &str, i: usize, j: usize| -> String {
        let out = line
            .replace("{{ include \"autoglm.fullname\" $ }}", "autoglm")
            .replace("{{ include \"autoglm.headless\" $ }}", "autoglm-headless")
            .replace("{{ $.Release.Namespace }}", "default")
            .replace("{{ int $.Values.clusterPort }}", port)
            .replace("{{ $i }}", &i.to_string())
            .replace("{{ $j }}", &j.to_string());
        assert!(!out.contains("{{"), "the test cannot render {line:?}");
        out
    };
    (0..replicas)
        .map(|i| {
            let mut out = Vec::new();
            let mut k = 0;
            while k < body.len() {
                if body[k].trim().starts_with("{{- range $j") {
                    // The seeds: every other pod.
                    assert_eq!(body.get(k + 1).map(|l| l.trim()), Some("{{- if ne $i $j }}"));
                    assert_eq!(body.get(k + 3).map(|l| l.trim()), Some("{{- end }}"));
                    assert_eq!(body.get(k + 4).map(|l| l.trim()), Some("{{- end }}"));
                    out.extend((0..replicas).filter(|j| *j != i).map(|j| subst(body[k + 2], i, j)));
                    k += 5;
                } else {
                    out.push(subst(body[k], i, 0));
                    k += 1;
                }
            }
            let key = out.first().map(|l| l.trim().trim_end_matches(": |").to_string()).unwrap_or_default();
            let text: String = out.iter().skip(1).map(|l| format!("{}\n", l.get(4..).unwrap_or(""))).collect();
            (key, text)
        })
        .collect()
}

/// What the chart's Secret generates: 48 letters and digits.
const SECRET: &str = "s3cret0123456789s3cret0123456789s3cret0123456789";

#[test]
fn helm_chart_parses_uses_only_known_values_and_configures_a_valid_node() {
    let chart = parse_yaml(&read(&format!("{CHART}/Chart.yaml"))).unwrap_or_else(|e| panic!("Chart.yaml: {e}"));
    assert_eq!(chart.get("apiVersion").and_then(Yaml::str), Some("v2"));
    assert_eq!(chart.get("name").and_then(Yaml::str), Some("autoglm"));
    assert!(chart.get("version").and_then(Yaml::str).is_some_and(|v| v.split('.').count() == 3));
    let values = parse_yaml(&read(&format!("{CHART}/values.yaml"))).unwrap_or_else(|e| panic!("values.yaml: {e}"));

    let templates = templates();
    let mut kinds = BTreeSet::new();
    for (name, text) in &templates {
        for path in value_paths(text) {
            assert!(
                values.path(&path.split('.').collect::<Vec<_>>()).is_some(),
                "{name} uses .Values.{path}, which values.yaml does not define"
            );
        }
        for doc in docs(&blank_actions(text)) {
            let y = parse_yaml(&doc).unwrap_or_else(|e| panic!("{name} is not YAML-shaped: {e}\n{doc}"));
            for key in ["apiVersion", "kind", "metadata"] {
                assert!(y.get(key).is_some(), "{name}: no {key}");
            }
            kinds.insert(y.get("kind").and_then(Yaml::str).unwrap_or_default().to_string());
        }
    }
    let expected: BTreeSet<String> =
        ["ConfigMap", "PodDisruptionBudget", "Secret", "Service", "StatefulSet"].map(String::from).into();
    assert_eq!(kinds, expected);

    // The StatefulSet: probes, drain time, volume, GPU limit.
    let (_, sts_text) = templates.iter().find(|(n, _)| n == "statefulset.yaml").unwrap_or_else(|| panic!("no sts"));
    let sts = parse_yaml(&blank_actions(sts_text)).unwrap_or_else(|e| panic!("{e}"));
    assert!(sts.path(&["spec", "serviceName"]).is_some(), "stable pod names through the headless Service");
    assert!(sts.path(&["spec", "volumeClaimTemplates"]).is_some_and(|v| !v.seq().is_empty()), "a PVC for /data");
    let pod = sts.path(&["spec", "template", "spec"]).unwrap_or_else(|| panic!("no pod spec"));
    assert!(pod.get("terminationGracePeriodSeconds").is_some());
    let container = pod.get("containers").and_then(|c| c.seq().first()).unwrap_or_else(|| panic!("no container"));
    let probe = |p: &str| container.path(&[p, "httpGet", "path"]).and_then(Yaml::str).map(str::to_string);
    assert_eq!(probe("readinessProbe").as_deref(), Some("/readyz"));
    assert_eq!(probe("livenessProbe").as_deref(), Some("/healthz"));
    let mounts: Vec<&str> = container
        .get("volumeMounts")
        .map(Yaml::seq)
        .unwrap_or(&[])
        .iter()
        .filter_map(|m| m.get("mountPath")?.str())
        .collect();
    assert!(mounts.contains(&"/data") && mounts.contains(&"/etc/autoglm"), "{mounts:?}");
    assert!(sts_text.contains("nvidia.com/gpu: {{ int .Values.gpu.count }}"), "nvidia.com/gpu limit when gpu.enabled");
    let env: Vec<&str> =
        container.get("env").map(Yaml::seq).unwrap_or(&[]).iter().filter_map(|e| e.get("name")?.str()).collect();
    let num = |path: &[&str]| -> u64 {
        values.path(path).and_then(Yaml::str).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{path:?}"))
    };
    let grace = num(&["node", "shutdownGraceSecs"]);
    let pre_stop = num(&["node", "preStopSleepSecs"]);
    assert!(num(&["terminationGracePeriodSeconds"]) > grace + pre_stop, "Kubernetes must not kill a draining node");

    // autoglm.toml from the ConfigMap, with the default values and the pod's
    // environment, is accepted by the node (unknown keys are refused there).
    let (_, cm_text) = templates.iter().find(|(n, _)| n == "configmap.yaml").unwrap_or_else(|| panic!("no cm"));
    let start = cm_text.find("autoglm.toml: |").unwrap_or_else(|| panic!("no autoglm.toml in the ConfigMap"));
    let block: String = cm_text[start..]
        .lines()
        .skip(1)
        .take_while(|l| l.trim().is_empty() || l.starts_with("    "))
        .map(|l| format!("{}\n", l.get(4..).unwrap_or("")))
        .collect();
    let mut toml = render_config_toml(&block, &values);
    let mut vars = BTreeSet::new();
    let mut rest = toml.as_str();
    while let Some(i) = rest.find("${") {
        let end = rest[i..].find('}').unwrap_or_else(|| panic!("unterminated ${{"));
        vars.insert(rest[i + 2..i + end].to_string());
        rest = &rest[i + end..];
    }
    for var in &vars {
        assert!(env.contains(&var.as_str()), "autoglm.toml uses ${{{var}}}, which the pod does not set");
        toml = toml.replace(&format!("${{{var}}}"), if var == "AUTOGLM_NODE_ID" { "2" } else { SECRET });
    }
    let file = std::env::temp_dir().join(format!("autoglm_deploy_{}.toml", std::process::id()));
    std::fs::write(&file, &toml).unwrap_or_else(|e| panic!("{e}"));
    let cfg = Config::load(&file).unwrap_or_else(|e| panic!("the chart's autoglm.toml is refused: {e:#}\n{toml}"));
    let _ = std::fs::remove_file(&file);
    assert_eq!(cfg.server.shutdown_grace_secs, grace);
    assert_eq!(cfg.node_id, 2);
    assert_eq!(cfg.auth.token_secret, SECRET);
    let key = autoglm::secrets::token_key(&cfg.auth.token_secret, &std::env::temp_dir());
    assert!(key.is_ok(), "the node refuses the token secret: {key:?}");
    assert_eq!(cfg.nlu.models_dir, PathBuf::from("/opt/autoglm/models"), "the image's trained model");

    // One cluster file per pod that the cluster config loader accepts, naming
    // the pod and every other pod as a seed (3 pods here).
    let port = values.get("clusterPort").and_then(Yaml::str).unwrap_or_else(|| panic!("no clusterPort"));
    for (i, (key, text)) in render_cluster_files(cm_text, 3, port).iter().enumerate() {
        assert_eq!(key, &format!("cluster-{i}.toml"));
        let c = autoglm_cluster::ClusterConfig::parse(text, key).unwrap_or_else(|e| panic!("{key}: {e}\n{text}"));
        assert_eq!(c.node.name, format!("autoglm-{i}"));
        assert_eq!(c.advertise(), format!("autoglm-{i}.autoglm-headless.default.svc:{port}"));
        assert_eq!(c.membership.seeds.len(), 2, "{key}: {:?}", c.membership.seeds);
        assert!(!c.membership.seeds.iter().any(|s| s.starts_with(&format!("autoglm-{i}."))), "not itself");
    }

    helm_lint_and_template_when_installed();
}

/// `helm lint` and `helm template` (CPU and GPU values), when helm is here.
fn helm_lint_and_template_when_installed() {
    let helm = std::env::var("AUTOGLM_HELM").unwrap_or_else(|_| "helm".into());
    let chart = root().join(CHART);
    let run = |args: &[&str]| std::process::Command::new(&helm).args(args).arg(&chart).output();
    match run(&["lint", "--strict"]) {
        Err(e) => {
            eprintln!("helm not available ({e}): helm lint/template skipped; the YAML checks above ran");
            return;
        }
        Ok(out) => assert!(out.status.success(), "helm lint: {}", String::from_utf8_lossy(&out.stdout)),
    }
    for gpu in ["false", "true"] {
        let set = format!("gpu.enabled={gpu}");
        let out = run(&["template", "t", "--set", &set]).unwrap_or_else(|e| panic!("{e}"));
        assert!(out.status.success(), "helm template: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        for doc in docs(&text) {
            parse_yaml(&doc).unwrap_or_else(|e| panic!("helm template output: {e}\n{doc}"));
        }
        assert_eq!(text.contains("nvidia.com/gpu:"), gpu == "true");
    }
}

// ---------------------------------------------------------------- Prometheus

#[test]
fn prometheus_scrapes_every_node_by_pod_label_and_a_static_example() {
    let p = parse_yaml(&read("deploy/prometheus.yml")).unwrap_or_else(|e| panic!("prometheus.yml: {e}"));
    let jobs = p.get("scrape_configs").map(Yaml::seq).unwrap_or(&[]);
    assert!(jobs.iter().all(|j| j.get("metrics_path").and_then(Yaml::str) == Some("/metrics")));
    let k8s = jobs.iter().find(|j| j.get("kubernetes_sd_configs").is_some()).unwrap_or_else(|| panic!("no k8s job"));
    assert_eq!(k8s.path(&["kubernetes_sd_configs"]).and_then(|s| s.seq().first()?.get("role")?.str()), Some("pod"));
    let keeps_chart_pods = k8s.get("relabel_configs").map(Yaml::seq).unwrap_or(&[]).iter().any(|r| {
        r.get("action").and_then(Yaml::str) == Some("keep")
            && r.get("regex").and_then(Yaml::str) == Some("autoglm")
            && r.get("source_labels").is_some_and(|s| {
                s.seq().iter().any(|l| l.str() == Some("__meta_kubernetes_pod_label_app_kubernetes_io_name"))
            })
    });
    assert!(keeps_chart_pods, "pods are picked by the chart's app.kubernetes.io/name label");
    let chart_labels = read(&format!("{CHART}/templates/_helpers.tpl"));
    assert!(chart_labels.contains("app.kubernetes.io/name: {{ .Chart.Name }}"));
    assert!(jobs.iter().any(|j| j.get("static_configs").is_some()), "a static example");
    assert!(Path::new(&root().join("deploy/prometheus.yml")).exists());
}
