//! The `/` filter: space-separated terms, all must match (case-insensitive).
//! A term is a substring of any field, or `field:value` for one field.
//! `-term` negates. Fields: kind, ns (namespace, cluster, scope), name, state,
//! verdict, code (cause), host (node, instance), source (context, region).

use crate::diagnose::Unit;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub text: String,
    terms: Vec<Term>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Term {
    field: Option<Field>,
    needle: String,
    negate: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Kind,
    Scope,
    Name,
    State,
    Verdict,
    Code,
    Host,
    Source,
}

impl Field {
    fn parse(s: &str) -> Option<Field> {
        Some(match s {
            "kind" | "k" => Field::Kind,
            "ns" | "namespace" | "cluster" | "scope" => Field::Scope,
            "name" | "n" => Field::Name,
            "state" | "status" => Field::State,
            "verdict" | "v" => Field::Verdict,
            "code" | "cause" => Field::Code,
            "host" | "node" | "instance" => Field::Host,
            "source" | "context" | "ctx" | "region" => Field::Source,
            _ => return None,
        })
    }
}

/// A filter that names an unknown field: shown to the operator, filter not applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown filter field {field:?}: use kind, ns, name, state, verdict, code, host or source")]
pub struct FilterError {
    pub field: String,
}

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let mut terms = Vec::new();
        for raw in text.split_whitespace() {
            let (negate, raw) = match raw.strip_prefix('-') {
                Some(rest) if !rest.is_empty() => (true, rest),
                _ => (false, raw),
            };
            let term = match raw.split_once(':') {
                Some((f, v)) if !f.is_empty() && f.chars().all(|c| c.is_ascii_alphabetic()) => {
                    let field = Field::parse(&f.to_lowercase()).ok_or_else(|| FilterError {
                        field: f.to_string(),
                    })?;
                    Term {
                        field: Some(field),
                        needle: v.to_lowercase(),
                        negate,
                    }
                }
                _ => Term {
                    field: None,
                    needle: raw.to_lowercase(),
                    negate,
                },
            };
            terms.push(term);
        }
        Ok(Filter {
            text: text.to_string(),
            terms,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn matches(&self, u: &Unit) -> bool {
        self.terms.iter().all(|t| t.matches(u) != t.negate)
    }
}

fn contains(hay: &str, needle: &str) -> bool {
    hay.to_lowercase().contains(needle)
}

impl Term {
    fn matches(&self, u: &Unit) -> bool {
        let n = self.needle.as_str();
        let host = || {
            u.host.as_deref().is_some_and(|h| contains(h, n))
                || u.instance_id.as_deref().is_some_and(|h| contains(h, n))
        };
        let code = || {
            u.diagnosis
                .causes
                .iter()
                .any(|c| contains(&c.code.as_str(), n))
        };
        match self.field {
            Some(Field::Kind) => contains(u.kind.label(), n),
            Some(Field::Scope) => contains(&u.scope, n),
            Some(Field::Name) => contains(&u.name, n),
            Some(Field::State) => contains(&u.state, n),
            Some(Field::Verdict) => contains(u.diagnosis.verdict.label(), n),
            Some(Field::Code) => code(),
            Some(Field::Host) => host(),
            Some(Field::Source) => contains(&u.source, n),
            None => {
                contains(u.kind.label(), n)
                    || contains(&u.scope, n)
                    || contains(&u.name, n)
                    || contains(&u.state, n)
                    || contains(u.diagnosis.verdict.label(), n)
                    || contains(&u.diagnosis.headline, n)
                    || contains(&u.source, n)
                    || host()
                    || code()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::{Cause, CauseCode, Diagnosis, UnitKind, Verdict};

    fn unit(name: &str, ns: &str, verdict: Verdict, code: Option<CauseCode>) -> Unit {
        let mut d = Diagnosis::running("ok");
        d.verdict = verdict;
        d.headline = format!("{name} headline");
        if let Some(code) = code {
            d.causes.push(Cause {
                code,
                detail: String::new(),
                evidence: vec![],
            });
        }
        Unit {
            id: name.into(),
            kind: UnitKind::Pod,
            source: "prod-eks".into(),
            scope: ns.into(),
            name: name.into(),
            state: "Pending".into(),
            since: None,
            host: Some("ip-10-0-1-2.ec2.internal".into()),
            instance_id: Some("i-0abc".into()),
            diagnosis: d,
        }
    }

    #[test]
    fn substring_and_fields() {
        let cart = unit(
            "cart-7d9",
            "shop",
            Verdict::Pending,
            Some(CauseCode::UntoleratedTaint),
        );
        let ledger = unit(
            "ledger-0",
            "payments",
            Verdict::Stuck,
            Some(CauseCode::VolumeMultiAttach),
        );
        let f = Filter::parse("CART").unwrap();
        assert!(f.matches(&cart) && !f.matches(&ledger));
        let f = Filter::parse("ns:pay").unwrap();
        assert!(!f.matches(&cart) && f.matches(&ledger));
        let f = Filter::parse("code:multi-attach").unwrap();
        assert!(!f.matches(&cart) && f.matches(&ledger));
        let f = Filter::parse("verdict:stuck -name:cart").unwrap();
        assert!(!f.matches(&cart) && f.matches(&ledger));
        let f = Filter::parse("host:i-0abc kind:pod").unwrap();
        assert!(f.matches(&cart) && f.matches(&ledger));
        assert!(Filter::parse("").unwrap().matches(&cart));
    }

    #[test]
    fn unknown_field_is_an_error_not_an_empty_result() {
        let e = Filter::parse("colour:red").unwrap_err();
        assert_eq!(e.field, "colour");
        // A URL-like or time-like needle with digits before the colon is plain text.
        assert!(Filter::parse("10:30").is_ok());
    }

    #[test]
    fn thai_names_match() {
        let u = unit("บริการ-ตะกร้า", "ร้านค้า", Verdict::Pending, None);
        assert!(Filter::parse("ตะกร้า").unwrap().matches(&u));
        assert!(Filter::parse("ns:ร้าน").unwrap().matches(&u));
    }
}
