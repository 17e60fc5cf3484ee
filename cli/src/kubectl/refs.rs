//! The ways a person names objects on the command line, as kubectl reads them:
//! `TYPE NAME…`, `TYPE/NAME…`, `TYPE` alone (all of that type), `TYPE1,TYPE2`.

use super::CliError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub kind: String,
    /// None means every object of the type (filtered by `-l` where the command has it).
    pub name: Option<String>,
}

/// Reads `args` in either form; mixing `TYPE/NAME` with a bare type is an error, as in kubectl.
pub fn parse(args: &[String]) -> Result<Vec<ObjectRef>, CliError> {
    let Some(first) = args.first() else {
        return Err(CliError::Input(
            "you must specify the type of resource to get".into(),
        ));
    };
    if args.iter().any(|a| a.contains('/')) {
        return args
            .iter()
            .map(|a| match a.split_once('/') {
                Some((k, n)) if !k.is_empty() && !n.is_empty() => Ok(ObjectRef {
                    kind: k.to_string(),
                    name: Some(n.to_string()),
                }),
                _ => Err(CliError::Input(format!(
                    "there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'capstan get resource/<resource_name>' instead of 'capstan get resource resource/<resource_name>'): {a}"
                ))),
            })
            .collect();
    }
    let kinds: Vec<&str> = first.split(',').filter(|k| !k.is_empty()).collect();
    let names = &args[1..];
    let mut out = Vec::new();
    for k in kinds {
        if names.is_empty() {
            out.push(ObjectRef {
                kind: k.to_string(),
                name: None,
            });
        } else {
            out.extend(names.iter().map(|n| ObjectRef {
                kind: k.to_string(),
                name: Some(n.clone()),
            }));
        }
    }
    Ok(out)
}

/// Exactly one named object (`deploy/web` or `deploy web`), for commands such as `scale`.
pub fn parse_one(args: &[String], what: &str) -> Result<ObjectRef, CliError> {
    let refs = parse(args)?;
    match refs.as_slice() {
        [one] if one.name.is_some() => Ok(one.clone()),
        _ => Err(CliError::Input(format!(
            "{what} needs exactly one object, as TYPE/NAME or TYPE NAME"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn both_forms() {
        let r = parse(&s(&["deploy/web", "svc/web"])).unwrap();
        assert_eq!(r[1].kind, "svc");
        assert_eq!(r[1].name.as_deref(), Some("web"));
        let r = parse(&s(&["pods,svc", "a"])).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(parse(&s(&["pods"])).unwrap()[0].name, None);
        assert!(parse(&s(&["pods", "x/y"])).is_err());
        assert!(parse(&[]).is_err());
        assert!(parse_one(&s(&["deploy"]), "scale").is_err());
        assert!(parse_one(&s(&["deploy", "web"]), "scale").is_ok());
    }
}
