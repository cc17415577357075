//! Writing JSON bodies: the client's object with a few fields replaced, without cloning it.

use super::{ProviderError, Result};
use bytes::Bytes;
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::{Map, Value};

/// The client's object with some top-level fields replaced (or added); every other field,
/// however nested, is written as received.
pub(crate) struct WithOverrides<'a> {
    pub base: &'a Map<String, Value>,
    pub overrides: &'a [(&'a str, Value)],
}

impl Serialize for WithOverrides<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (k, v) in self.base {
            if !self.overrides.iter().any(|(name, _)| name == k) {
                map.serialize_entry(k, v)?;
            }
        }
        for (k, v) in self.overrides {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Serializes a body; failure is only possible for non-string map keys, which `Value` never has.
pub(crate) fn to_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Bytes> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| ProviderError::BadUpstream(format!("cannot write JSON: {e}")))
}

/// The client's `stream_options` (if an object) with `include_usage` forced on.
pub(crate) fn stream_options_with_usage(body: &Map<String, Value>) -> Value {
    let mut options = match body.get("stream_options") {
        Some(Value::Object(o)) => o.clone(),
        _ => Map::new(),
    };
    options.insert("include_usage".into(), Value::Bool(true));
    Value::Object(options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn overrides_replace_and_keep_the_rest() {
        let base: Map<String, Value> =
            serde_json::from_value(json!({"model": "a", "x": {"y": [1, {"z": null}]}})).unwrap();
        let out = to_bytes(&WithOverrides {
            base: &base,
            overrides: &[("model", json!("b")), ("extra", json!(true))],
        })
        .unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            json!({"model": "b", "x": {"y": [1, {"z": null}]}, "extra": true})
        );
    }

    #[test]
    fn stream_options_keep_other_fields() {
        let base: Map<String, Value> =
            serde_json::from_value(json!({"stream_options": {"include_usage": false, "k": 1}}))
                .unwrap();
        assert_eq!(
            stream_options_with_usage(&base),
            json!({"include_usage": true, "k": 1})
        );
    }
}
