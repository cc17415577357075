//! Diagnoses on rendered manifests (`helm template`, `kubectl kustomize`), before anything is
//! applied: with no EndpointSlices yet, each Service's selector is matched against the pod
//! template labels of every Deployment in the documents, and each PDB's selector likewise.

use crate::Error;
use crate::diagnose::{self, finding};
use crate::objects::name;
use crate::selector::{Labels, map_matches, map_to_string, selector_matches, selector_to_string};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde::Deserialize;
use tollgate_domain::instances::{Diagnosis, Severity};

/// What was read from the documents, and what was found.
#[derive(Debug, Default)]
pub struct ManifestReport {
    pub deployments: usize,
    pub services: usize,
    pub pdbs: usize,
    /// Documents of other kinds, which these checks do not look at.
    pub other: usize,
    pub diagnoses: Vec<Diagnosis>,
}

impl ManifestReport {
    pub fn has_critical(&self) -> bool {
        self.diagnoses
            .iter()
            .any(|d| d.severity == Severity::Critical)
    }
}

#[derive(Default)]
struct Parsed {
    deployments: Vec<Deployment>,
    services: Vec<Service>,
    pdbs: Vec<PodDisruptionBudget>,
    other: usize,
}

/// Reads one multi-document YAML text; `source` names it in errors.
fn parse_into(parsed: &mut Parsed, source: &str, text: &str) -> crate::Result<()> {
    for (i, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let value = serde_yaml_ng::Value::deserialize(doc)
            .map_err(|e| Error::Manifest(format!("{source}: document {}: {e}", i + 1)))?;
        if value.is_null() {
            continue;
        }
        let kind = value
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or_default()
            .to_owned();
        let api = value
            .get("apiVersion")
            .and_then(|k| k.as_str())
            .unwrap_or_default()
            .to_owned();
        let err = |e: serde_yaml_ng::Error| {
            Error::Manifest(format!("{source}: document {} ({kind}): {e}", i + 1))
        };
        match (api.as_str(), kind.as_str()) {
            ("apps/v1", "Deployment") => parsed
                .deployments
                .push(serde_yaml_ng::from_value(value).map_err(err)?),
            ("v1", "Service") => parsed
                .services
                .push(serde_yaml_ng::from_value(value).map_err(err)?),
            ("policy/v1", "PodDisruptionBudget") => parsed
                .pdbs
                .push(serde_yaml_ng::from_value(value).map_err(err)?),
            _ => parsed.other += 1,
        }
    }
    Ok(())
}

fn template_labels(d: &Deployment) -> Labels {
    d.spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default()
}

/// Checks `(source, text)` documents together, as one namespace.
pub fn check(files: &[(String, String)]) -> crate::Result<ManifestReport> {
    let mut parsed = Parsed::default();
    for (source, text) in files {
        parse_into(&mut parsed, source, text)?;
    }
    let mut diagnoses = Vec::new();
    for svc in &parsed.services {
        let selector = svc
            .spec
            .as_ref()
            .and_then(|s| s.selector.clone())
            .unwrap_or_default();
        if selector.is_empty() {
            continue;
        }
        let svc_name = name(&svc.metadata);
        let matched: Vec<&Deployment> = parsed
            .deployments
            .iter()
            .filter(|d| map_matches(&selector, &template_labels(d)))
            .collect();
        let sel = map_to_string(&selector);
        if matched.len() > 1 {
            let names: Vec<String> = matched
                .iter()
                .map(|d| name(&d.metadata).to_owned())
                .collect();
            let instances: Vec<String> = matched.iter().map(|d| instance_of(d)).collect();
            diagnoses.push(finding(
                "service-selector-overlap",
                Severity::Critical,
                format!(
                    "Service {svc_name} selects the pods of {} Deployments ({}): once applied, its endpoints will span instances",
                    matched.len(),
                    names.join(", ")
                ),
                instances,
                matched
                    .iter()
                    .map(|d| {
                        format!(
                            "Deployment {} pod template labels `{}` match the Service selector `{sel}`",
                            name(&d.metadata),
                            map_to_string(&template_labels(d))
                        )
                    })
                    .collect(),
                crate::diagnose::OVERLAP_FIX,
                vec!["# kustomization.yaml of each instance:\nlabels:\n  - pairs:\n      app.kubernetes.io/instance: <instance>\n    includeSelectors: true\n    includeTemplates: true".to_owned()],
            ));
        } else if matched.is_empty() {
            diagnoses.push(finding(
                "service-selects-nothing",
                Severity::Warning,
                format!("Service {svc_name} selects no Deployment in these manifests"),
                Vec::new(),
                vec![format!("selector `{sel}`")],
                "Check the selector against the pod template labels; ignore this if the pods come from elsewhere.",
                Vec::new(),
            ));
        }
    }
    for d in &parsed.deployments {
        let labels = template_labels(d);
        let covering: Vec<&PodDisruptionBudget> = parsed
            .pdbs
            .iter()
            .filter(|p| {
                p.spec
                    .as_ref()
                    .and_then(|s| s.selector.as_ref())
                    .is_some_and(|s| selector_matches(s, &labels))
            })
            .collect();
        if covering.len() > 1 {
            diagnoses.push(finding(
                "pod-multiple-pdbs",
                Severity::Warning,
                format!(
                    "The pods of Deployment {} would be covered by {} PodDisruptionBudgets: evictions of them fail",
                    name(&d.metadata),
                    covering.len()
                ),
                vec![instance_of(d)],
                covering
                    .iter()
                    .map(|p| {
                        format!(
                            "PodDisruptionBudget {} selects `{}`",
                            name(&p.metadata),
                            p.spec
                                .as_ref()
                                .and_then(|s| s.selector.as_ref())
                                .map(selector_to_string)
                                .unwrap_or_default()
                        )
                    })
                    .collect(),
                "Give each PodDisruptionBudget a selector that names one instance.",
                Vec::new(),
            ));
        }
    }
    diagnose::sort(&mut diagnoses);
    Ok(ManifestReport {
        deployments: parsed.deployments.len(),
        services: parsed.services.len(),
        pdbs: parsed.pdbs.len(),
        other: parsed.other,
        diagnoses,
    })
}

fn instance_of(d: &Deployment) -> String {
    template_labels(d)
        .get(crate::INSTANCE_LABEL)
        .cloned()
        .unwrap_or_else(|| crate::objects::instance_name(d))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Two instances as `kubectl kustomize` renders them, with or without the instance label in
    /// the selectors and pod templates.
    fn rendered(include_selectors: bool) -> String {
        let mut out = String::new();
        for i in ["claude", "openai-eu"] {
            let extra = if include_selectors {
                format!("\n      app.kubernetes.io/instance: {i}")
            } else {
                String::new()
            };
            out.push_str(&format!(
                r#"---
apiVersion: v1
kind: Service
metadata:
  name: {i}
  labels:
    app.kubernetes.io/instance: {i}
spec:
  selector:
    app: litellm{extra_svc}
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {i}
  labels:
    app.kubernetes.io/instance: {i}
spec:
  selector:
    matchLabels:
      app: litellm{extra}
  template:
    metadata:
      labels:
        app: litellm{extra_tpl}
    spec:
      containers:
      - name: gateway
        image: tollgate:0.1.0
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {i}-config
"#,
                extra_svc = extra.replace("\n      ", "\n    "),
                extra_tpl = extra.replace("\n      ", "\n        "),
            ));
        }
        out
    }

    #[test]
    fn overlap_found_in_rendered_manifests_and_gone_after_the_fix() {
        let broken = check(&[("broken.yaml".into(), rendered(false))]).unwrap();
        assert_eq!(
            (broken.deployments, broken.services, broken.other),
            (2, 2, 2)
        );
        let overlaps: Vec<_> = broken
            .diagnoses
            .iter()
            .filter(|d| d.code == "service-selector-overlap")
            .collect();
        assert_eq!(overlaps.len(), 2, "{:#?}", broken.diagnoses);
        assert!(broken.has_critical());
        assert_eq!(overlaps[0].instances, vec!["claude", "openai-eu"]);

        let fixed = check(&[("fixed.yaml".into(), rendered(true))]).unwrap();
        assert!(fixed.diagnoses.is_empty(), "{:#?}", fixed.diagnoses);
    }

    #[test]
    fn bad_yaml_names_the_file_and_document() {
        let err = check(&[(
            "x.yaml".into(),
            "---\nkind: Service\napiVersion: v1\nspec: [\n".into(),
        )])
        .unwrap_err()
        .to_string();
        assert!(err.contains("x.yaml: document 1"), "{err}");
    }
}
