//! Compose variable interpolation over every string of the file: `$$` is a literal `$`,
//! `${VAR}` / `$VAR` take the environment's value (the process's, then the project's `.env`),
//! `${VAR:-default}` / `${VAR-default}` fall back, `${VAR:?message}` is an error when unset.

use std::collections::HashMap;

use serde_yaml::Value as Y;

use super::ComposeError;

pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// The process environment over the `.env` file's assignments.
    pub fn new(dotenv: Option<&str>) -> Env {
        let mut vars = HashMap::new();
        for line in dotenv.unwrap_or_default().lines() {
            let line = line.trim();
            if line.starts_with('#') {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                vars.insert(k.trim().to_string(), v.trim().trim_matches('"').to_string());
            }
        }
        vars.extend(std::env::vars());
        Env { vars }
    }

    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Env {
        Env {
            vars: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn expand(&self, s: &str, missing: &mut Vec<String>) -> Result<String, ComposeError> {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(r) = after.strip_prefix('$') {
                out.push('$');
                rest = r;
            } else if let Some(r) = after.strip_prefix('{') {
                let Some(end) = r.find('}') else {
                    return Err(ComposeError::Invalid(format!("unclosed ${{ in {s:?}")));
                };
                let expr = &r[..end];
                out.push_str(&self.braced(expr, missing)?);
                rest = &r[end + 1..];
            } else {
                let len = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                if len == 0 {
                    out.push('$');
                } else {
                    out.push_str(&self.lookup(&after[..len], missing));
                }
                rest = &after[len..];
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    fn lookup(&self, name: &str, missing: &mut Vec<String>) -> String {
        match self.vars.get(name) {
            Some(v) => v.clone(),
            None => {
                missing.push(name.to_string());
                String::new()
            }
        }
    }

    fn braced(&self, expr: &str, missing: &mut Vec<String>) -> Result<String, ComposeError> {
        for (op, empty_counts) in [(":-", true), ("-", false), (":?", true), ("?", false)] {
            if let Some((name, arg)) = expr.split_once(op) {
                let value = self
                    .vars
                    .get(name)
                    .filter(|v| !(empty_counts && v.is_empty()));
                return match (value, op.ends_with('?')) {
                    (Some(v), _) => Ok(v.clone()),
                    (None, false) => Ok(arg.to_string()),
                    (None, true) => Err(ComposeError::Invalid(format!(
                        "required variable {name} is not set: {arg}"
                    ))),
                };
            }
        }
        Ok(self.lookup(expr, missing))
    }

    /// Expands every string in `doc`; returns the variables that were not set (as empty).
    pub fn apply(&self, doc: &mut Y) -> Result<Vec<String>, ComposeError> {
        let mut missing = Vec::new();
        walk(doc, &mut |s| self.expand(s, &mut missing))?;
        missing.sort();
        missing.dedup();
        Ok(missing)
    }
}

fn walk(
    v: &mut Y,
    f: &mut dyn FnMut(&str) -> Result<String, ComposeError>,
) -> Result<(), ComposeError> {
    match v {
        Y::String(s) => *s = f(s)?,
        Y::Sequence(items) => {
            for i in items {
                walk(i, f)?;
            }
        }
        Y::Mapping(m) => {
            for (_, val) in m.iter_mut() {
                walk(val, f)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_like_compose() {
        let env = Env::from_pairs(&[("TAG", "1.2"), ("EMPTY", "")]);
        let mut missing = Vec::new();
        let e = |s: &str, m: &mut Vec<String>| env.expand(s, m).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e("app:${TAG}", &mut missing), "app:1.2");
        assert_eq!(e("app:$TAG-x", &mut missing), "app:1.2-x");
        assert_eq!(e("cost $$5", &mut missing), "cost $5");
        assert_eq!(e("${EMPTY:-d}/${EMPTY-d}", &mut missing), "d/");
        assert_eq!(e("${NOPE:-fallback}", &mut missing), "fallback");
        assert_eq!(e("x${NOPE}y", &mut missing), "xy");
        assert_eq!(missing, vec!["NOPE".to_string()]);
        assert!(env.expand("${NOPE:?set it}", &mut missing).is_err());
    }
}
