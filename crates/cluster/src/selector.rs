//! Label selectors: matching Service selectors (a map) and `LabelSelector`s (matchLabels plus
//! matchExpressions) against labels, and printing them the way kubectl does.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use std::collections::BTreeMap;

pub type Labels = BTreeMap<String, String>;

/// A Service-style selector: every pair must be present. An empty one selects nothing (a
/// Service without a selector has no managed endpoints).
pub fn map_matches(selector: &Labels, labels: &Labels) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// A `LabelSelector`. An empty one selects everything, as for a `policy/v1` PDB.
pub fn selector_matches(selector: &LabelSelector, labels: &Labels) -> bool {
    let pairs = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let exprs = selector.match_expressions.iter().flatten().all(|r| {
        let values = r.values.as_deref().unwrap_or_default();
        let value = labels.get(&r.key);
        match r.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            // An operator we do not know matches nothing, rather than everything.
            _ => false,
        }
    });
    pairs && exprs
}

/// `a=1,b=2`, as `kubectl get -o wide` prints a selector.
pub fn map_to_string(selector: &Labels) -> String {
    selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

pub fn selector_to_string(selector: &LabelSelector) -> String {
    let mut parts: Vec<String> = selector
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for r in selector.match_expressions.iter().flatten() {
        let values = r.values.as_deref().unwrap_or_default().join(",");
        parts.push(match r.operator.as_str() {
            "Exists" => r.key.clone(),
            "DoesNotExist" => format!("!{}", r.key),
            op => format!("{} {} ({values})", r.key, op.to_lowercase()),
        });
    }
    if parts.is_empty() {
        "(everything)".to_owned()
    } else {
        parts.join(",")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn service_selectors_need_every_pair_and_empty_selects_nothing() {
        let pod = labels(&[("app", "litellm"), ("app.kubernetes.io/instance", "a")]);
        assert!(map_matches(&labels(&[("app", "litellm")]), &pod));
        assert!(!map_matches(
            &labels(&[("app", "litellm"), ("app.kubernetes.io/instance", "b")]),
            &pod
        ));
        assert!(!map_matches(&Labels::new(), &pod));
    }

    #[test]
    fn label_selectors_with_expressions() {
        let pod = labels(&[("app", "x"), ("tier", "gw")]);
        let sel = LabelSelector {
            match_labels: Some(labels(&[("app", "x")])),
            match_expressions: Some(vec![
                LabelSelectorRequirement {
                    key: "tier".into(),
                    operator: "In".into(),
                    values: Some(vec!["gw".into(), "web".into()]),
                },
                LabelSelectorRequirement {
                    key: "canary".into(),
                    operator: "DoesNotExist".into(),
                    values: None,
                },
            ]),
        };
        assert!(selector_matches(&sel, &pod));
        let mut canary = pod.clone();
        canary.insert("canary".into(), "1".into());
        assert!(!selector_matches(&sel, &canary));
        assert!(selector_matches(&LabelSelector::default(), &pod));
        assert_eq!(selector_to_string(&sel), "app=x,tier in (gw,web),!canary");
    }
}
