//! A JSON schema compiled to the nodes the automaton follows, and JSON that keeps member order.

use super::{MAX_ALTERNATIVES, MAX_DEPTH, MAX_DIGITS};
use serde_json::Value;
use std::sync::Arc;

/// A compiled schema node.
#[derive(Debug)]
pub(super) enum Node {
    /// Any JSON value.
    Any,
    /// An object with any members.
    AnyObject,
    /// Declared properties, in order: the quoted key, the value's node, whether required.
    Object(Vec<(Vec<u8>, u16, bool)>),
    Array {
        items: u16,
        min: u16,
        max: u16,
    },
    String {
        min: u16,
        max: u16,
    },
    Integer {
        min: i64,
        max: i64,
    },
    Number,
    /// One of these JSON texts (`true`/`false`, `null`, `enum`, `const`).
    Literals(Vec<Vec<u8>>),
}

/// Node 0 is any value, node 1 the literals `true`/`false`/`null` of any value.
pub(super) const ANY: u16 = 0;
pub(super) const ANY_LITERAL: u16 = 1;

/// JSON that keeps the order of object members (a schema's properties are generated in the
/// order it declares them; `serde_json::Value` sorts them).
#[derive(Clone, Debug, PartialEq)]
pub enum Ordered {
    Scalar(Value),
    Array(Vec<Ordered>),
    Object(Vec<(String, Ordered)>),
}

impl Ordered {
    fn as_object(&self) -> Option<&[(String, Ordered)]> {
        match self {
            Ordered::Object(m) => Some(m),
            _ => None,
        }
    }

    fn as_array(&self) -> Option<&[Ordered]> {
        match self {
            Ordered::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Ordered> {
        self.as_object()?.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// A string's value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Ordered::Scalar(v) => v.as_str(),
            _ => None,
        }
    }

    fn as_u64(&self) -> Option<u64> {
        match self {
            Ordered::Scalar(v) => v.as_u64(),
            _ => None,
        }
    }

    fn as_i64(&self) -> Option<i64> {
        match self {
            Ordered::Scalar(v) => v.as_i64(),
            _ => None,
        }
    }

    /// As a `serde_json::Value` (members sorted).
    pub fn to_value(&self) -> Value {
        match self {
            Ordered::Scalar(v) => v.clone(),
            Ordered::Array(a) => Value::Array(a.iter().map(Ordered::to_value).collect()),
            Ordered::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_value())).collect())
            }
        }
    }
}

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_bool<E>(self, v: bool) -> std::result::Result<Ordered, E> {
                Ok(Ordered::Scalar(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<Ordered, E> {
                Ok(Ordered::Scalar(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<Ordered, E> {
                Ok(Ordered::Scalar(Value::from(v)))
            }
            fn visit_f64<E>(self, v: f64) -> std::result::Result<Ordered, E> {
                Ok(Ordered::Scalar(Value::from(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Ordered, E> {
                Ok(Ordered::Scalar(Value::from(v)))
            }
            fn visit_unit<E>(self) -> std::result::Result<Ordered, E> {
                Ok(Ordered::Scalar(Value::Null))
            }
            fn visit_none<E>(self) -> std::result::Result<Ordered, E> {
                Ok(Ordered::Scalar(Value::Null))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element()? {
                    out.push(v);
                }
                Ok(Ordered::Array(out))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Ordered, A::Error> {
                let mut out: Vec<(String, Ordered)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Ordered>()? {
                    // A repeated key keeps its last value, as JSON parsers do.
                    out.retain(|(old, _)| *old != k);
                    out.push((k, v));
                }
                Ok(Ordered::Object(out))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// A compiled schema.
#[derive(Debug)]
pub struct Schema {
    pub(super) nodes: Vec<Node>,
    pub(super) root: u16,
}

impl Schema {
    pub(super) fn literal(&self, node: u16, key: bool, i: usize) -> &[u8] {
        match self.nodes.get(node as usize) {
            Some(Node::Object(props)) if key => props.get(i).map(|p| p.0.as_slice()),
            Some(Node::Literals(l)) if !key => l.get(i).map(Vec::as_slice),
            _ => None,
        }
        .unwrap_or_default()
    }

    /// Keys object `node` may take next (from property `next`: the optional ones up to and
    /// including the first required one), and whether it may close.
    pub(super) fn keys_from(&self, node: u16, next: u16) -> (u64, bool) {
        let Some(Node::Object(props)) = self.nodes.get(node as usize) else { return (0, true) };
        let mut cands = 0u64;
        for (i, p) in props.iter().enumerate().skip(next as usize) {
            cands |= 1u64 << i;
            if p.2 {
                return (cands, false);
            }
        }
        (cands, true)
    }

    fn compile(&mut self, schema: &Ordered, depth: usize) -> Result<u16, String> {
        if depth >= MAX_DEPTH.saturating_sub(2) {
            return Err("the schema nests too deeply".into());
        }
        let Some(obj) = schema.as_object() else {
            return match schema {
                Ordered::Scalar(Value::Bool(true)) => Ok(ANY),
                _ => Err("a schema must be an object".into()),
            };
        };
        for (key, _) in obj {
            let known = matches!(
                key.as_str(),
                "type"
                    | "properties"
                    | "required"
                    | "additionalProperties"
                    | "items"
                    | "minItems"
                    | "maxItems"
                    | "minLength"
                    | "maxLength"
                    | "minimum"
                    | "maximum"
                    | "enum"
                    | "const"
                    | "title"
                    | "description"
                    | "default"
                    | "examples"
                    | "$schema"
                    | "strict"
            );
            if !known {
                return Err(format!("`{key}` is not supported"));
            }
        }
        let count = |k: &str, default: u16| -> Result<u16, String> {
            match schema.get(k) {
                None => Ok(default),
                Some(v) => v
                    .as_u64()
                    .and_then(|n| u16::try_from(n).ok())
                    .ok_or_else(|| format!("`{k}` must be a small non-negative integer")),
            }
        };
        let literals = |values: Vec<Value>| -> Result<Node, String> {
            if values.is_empty() || values.len() > MAX_ALTERNATIVES {
                return Err(format!("an enum needs 1 to {MAX_ALTERNATIVES} values"));
            }
            values
                .into_iter()
                .map(|v| serde_json::to_vec(&v).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()
                .map(Node::Literals)
        };
        let node = if let Some(c) = schema.get("const") {
            literals(vec![c.to_value()])?
        } else if let Some(e) = schema.get("enum") {
            literals(
                e.as_array()
                    .ok_or("`enum` must be an array")?
                    .iter()
                    .map(Ordered::to_value)
                    .collect(),
            )?
        } else {
            match schema.get("type").and_then(Ordered::as_str) {
                None => Node::Any,
                Some("object") => match schema.get("properties").and_then(Ordered::as_object) {
                    None => Node::AnyObject,
                    Some(props) => {
                        if props.len() > MAX_ALTERNATIVES {
                            return Err(format!("at most {MAX_ALTERNATIVES} properties"));
                        }
                        let required: Vec<&str> = schema
                            .get("required")
                            .and_then(Ordered::as_array)
                            .map(|r| r.iter().filter_map(Ordered::as_str).collect())
                            .unwrap_or_default();
                        let mut out = Vec::with_capacity(props.len());
                        for (name, sub) in props {
                            let key = serde_json::to_vec(name).map_err(|e| e.to_string())?;
                            let child = self.compile(sub, depth.saturating_add(1))?;
                            out.push((key, child, required.contains(&name.as_str())));
                        }
                        Node::Object(out)
                    }
                },
                Some("array") => {
                    let items = match schema.get("items") {
                        Some(items) => self.compile(items, depth.saturating_add(1))?,
                        None => ANY,
                    };
                    let (min, max) = (count("minItems", 0)?, count("maxItems", u16::MAX)?);
                    if min > max {
                        return Err("minItems exceeds maxItems".into());
                    }
                    Node::Array { items, min, max }
                }
                Some("string") => {
                    let (min, max) = (count("minLength", 0)?, count("maxLength", u16::MAX)?);
                    if min > max {
                        return Err("minLength exceeds maxLength".into());
                    }
                    Node::String { min, max }
                }
                Some("integer") => {
                    let bound = |k: &str, default: i64| -> Result<i64, String> {
                        match schema.get(k) {
                            None => Ok(default),
                            Some(v) => {
                                v.as_i64().ok_or_else(|| format!("`{k}` must be an integer"))
                            }
                        }
                    };
                    let limit = 10i64.pow(u32::from(MAX_DIGITS)).saturating_sub(1);
                    let (min, max) =
                        (bound("minimum", limit.saturating_neg())?, bound("maximum", limit)?);
                    if min > max {
                        return Err("minimum exceeds maximum".into());
                    }
                    Node::Integer { min, max }
                }
                Some("number") => Node::Number,
                Some("boolean") => literals(vec![Value::Bool(true), Value::Bool(false)])?,
                Some("null") => literals(vec![Value::Null])?,
                Some(other) => return Err(format!("type {other:?} is not supported")),
            }
        };
        let id = u16::try_from(self.nodes.len()).map_err(|_| "the schema is too large")?;
        self.nodes.push(node);
        Ok(id)
    }

    /// Compiles a JSON schema; the root must be an object or an array.
    pub fn from_json_schema(schema: &Ordered) -> Result<Arc<Self>, String> {
        let mut s = Self::base();
        s.root = s.compile(schema, 0)?;
        match s.nodes.get(s.root as usize) {
            Some(Node::Object(_) | Node::AnyObject | Node::Array { .. }) => Ok(Arc::new(s)),
            _ => Err("the root must be an object or an array".into()),
        }
    }

    fn base() -> Self {
        let lits = ["true", "false", "null"].iter().map(|s| s.as_bytes().to_vec()).collect();
        Self { nodes: vec![Node::Any, Node::Literals(lits)], root: ANY }
    }

    /// Any JSON object.
    pub fn json_object() -> Arc<Self> {
        let mut s = Self::base();
        s.nodes.push(Node::AnyObject);
        s.root = 2;
        Arc::new(s)
    }
}
