//! Go-template-like `--format` strings as the docker books use them:
//! `{{.State.Pid}}`, `{{.Config.Env}}`, `{{json .Config}}`,
//! `{{index .Config.Labels "k"}}`, `{{join .RepoTags ","}}`, `{{upper .Os}}`,
//! `{{lower .Os}}`, `{{len .RepoTags}}`, and literal text with `\n`, `\t`.
//! Values print as Go's fmt prints them (`[a b]`, `map[k:v]`, `<no value>`).

use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("template: {0}")]
pub struct TemplateError(pub String);

/// Renders `format` against `v`.
pub fn render(format: &str, v: &Value) -> Result<String, TemplateError> {
    let mut out = String::new();
    let mut rest = format;
    while let Some(start) = rest.find("{{") {
        out.push_str(&unescape(&rest[..start]));
        let end = rest[start..]
            .find("}}")
            .ok_or_else(|| TemplateError(format!("unclosed action in {format:?}")))?;
        let action = rest[start + 2..start + end]
            .trim()
            .trim_start_matches('-')
            .trim_end_matches('-')
            .trim();
        out.push_str(&action_value(action, v)?);
        rest = &rest[start + end + 2..];
    }
    out.push_str(&unescape(rest));
    Ok(out)
}

fn unescape(s: &str) -> String {
    s.replace("\\n", "\n").replace("\\t", "\t")
}

fn action_value(action: &str, v: &Value) -> Result<String, TemplateError> {
    let words = split_words(action);
    let bad = || TemplateError(format!("cannot evaluate {{{{{action}}}}}"));
    match words.as_slice() {
        [path] if path.starts_with('.') => Ok(go_fmt(lookup(v, path).as_ref())),
        ["json", path] => Ok(serde_json::to_string(&lookup(v, path).unwrap_or(Value::Null)).unwrap_or_default()),
        ["index", path, key] => {
            let base = lookup(v, path);
            let key = key.trim_matches('"');
            let item = match &base {
                Some(Value::Object(m)) => m.get(key).cloned(),
                Some(Value::Array(a)) => key.parse::<usize>().ok().and_then(|i| a.get(i).cloned()),
                _ => None,
            };
            Ok(go_fmt(item.as_ref()))
        }
        ["join", path, sep] => match lookup(v, path) {
            Some(Value::Array(a)) => Ok(a.iter().map(|x| go_fmt(Some(x))).collect::<Vec<_>>().join(sep.trim_matches('"'))),
            other => Ok(go_fmt(other.as_ref())),
        },
        ["upper", path] => Ok(go_fmt(lookup(v, path).as_ref()).to_uppercase()),
        ["lower", path] => Ok(go_fmt(lookup(v, path).as_ref()).to_lowercase()),
        ["len", path] => match lookup(v, path) {
            Some(Value::Array(a)) => Ok(a.len().to_string()),
            Some(Value::Object(m)) => Ok(m.len().to_string()),
            Some(Value::String(s)) => Ok(s.len().to_string()),
            _ => Err(bad()),
        },
        _ => Err(TemplateError(format!("unsupported action {{{{{action}}}}} (want .Field.Path, json, index, join, upper, lower or len)"))),
    }
}

fn split_words(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        if rest.starts_with('"') {
            let end = rest[1..].find('"').map(|i| i + 2).unwrap_or(rest.len());
            out.push(&rest[..end]);
            rest = rest[end..].trim_start();
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            out.push(&rest[..end]);
            rest = rest[end..].trim_start();
        }
    }
    out
}

/// `.A.B.C` into the value; `.` is the value itself.
fn lookup(v: &Value, path: &str) -> Option<Value> {
    let mut cur = v;
    for key in path
        .trim_start_matches('.')
        .split('.')
        .filter(|k| !k.is_empty())
    {
        cur = cur.get(key)?;
    }
    Some(cur.clone())
}

/// Go's `fmt.Print` of a decoded JSON value.
pub fn go_fmt(v: Option<&Value>) -> String {
    match v {
        None => "<no value>".into(),
        Some(Value::Null) => "<nil>".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Array(a)) => format!(
            "[{}]",
            a.iter()
                .map(|x| go_fmt(Some(x)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Some(Value::Object(m)) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, x)| format!("{k}:{}", go_fmt(Some(x))))
                .collect();
            format!("map[{}]", items.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn docker_book_formats() {
        let v = json!({"State": {"Pid": 42, "Running": true}, "Config": {"Env": ["A=1", "B=2"], "Labels": {"k": "v"}},
                       "RepoTags": ["a:1", "b:2"], "Os": "linux", "Nil": null});
        let cases = [
            ("{{.State.Pid}}", "42"),
            ("{{ .State.Running }}", "true"),
            ("{{.Config.Env}}", "[A=1 B=2]"),
            ("{{.Config.Labels}}", "map[k:v]"),
            ("{{json .Config.Labels}}", "{\"k\":\"v\"}"),
            ("{{index .Config.Labels \"k\"}}", "v"),
            ("{{join .RepoTags \",\"}}", "a:1,b:2"),
            ("{{len .RepoTags}}", "2"),
            ("{{upper .Os}}", "LINUX"),
            ("id={{.State.Pid}}\\n", "id=42\n"),
            ("{{.Missing.Field}}", "<no value>"),
            ("{{.Nil}}", "<nil>"),
        ];
        for (f, want) in cases {
            assert_eq!(render(f, &v).unwrap(), want, "{f}");
        }
        assert!(render("{{.State", &v).is_err());
        assert!(render("{{range .RepoTags}}", &v).is_err());
    }
}
