//! Constrained decoding: `response_format` `json_object` and `json_schema`.
//!
//! A schema is compiled (when the request is validated: what cannot be enforced is refused
//! with 422 before anything runs) into a tree of [`Node`]s; a [`Constraint`] is a pushdown
//! automaton over bytes that accepts exactly the JSON texts of that tree. Each step, the
//! tokens whose bytes the automaton accepts from its current state form the mask the sampler
//! picks within (the 256 possible first bytes are tried first, so most of the vocabulary is
//! ruled out by one table lookup; the automaton's state is a fixed-size `Copy` value, so trying
//! a token allocates nothing). Once the root value closes nothing more is allowed and the
//! generation ends with `stop`.
//!
//! # What is enforced
//! `type` `object` (declared `properties` in their declared order, every `required` one, no
//! others — valid whatever `additionalProperties` says), `array` (`items`, `minItems`,
//! `maxItems`), `string` (`minLength`, `maxLength` in characters), `integer` (`minimum`,
//! `maximum`), `number`, `boolean`, `null`, `enum` and `const`; `json_object` is any JSON
//! object. The root must be an object or an array (as OpenAI's structured outputs require).
//! Anything else a schema says (`anyOf`, `$ref`, `pattern`, `format` ...) is refused rather than
//! silently not enforced. Whitespace between tokens of the JSON is allowed, at most
//! [`MAX_WS`] bytes in a row, so a model cannot loop on blank space.
//!
//! This is written here rather than taken from llguidance or outlines-core: both force
//! `serde_json`'s `preserve_order` feature, which Cargo would unify into every crate of the
//! workspace (the node's chain-spec and RPC JSON included).

use crate::error::{Error, Result};
use provena_attribution::ModelTokenizer;
use serde_json::Value;
use std::{collections::HashMap, sync::Arc};

/// Nesting the automaton follows (deeper schemas are refused; generic JSON stops opening).
const MAX_DEPTH: usize = 24;
/// Whitespace bytes allowed in a row.
pub const MAX_WS: u8 = 12;
/// The most declared properties of an object, or values of an enum.
const MAX_ALTERNATIVES: usize = 64;
/// Digits of an integer (within i64).
const MAX_DIGITS: u8 = 18;

/// A compiled schema node.
#[derive(Debug)]
enum Node {
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
const ANY: u16 = 0;
const ANY_LITERAL: u16 = 1;

/// What a frame expects next inside an object or array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Just after `{` / `[`.
    Open,
    /// After a key: `:`.
    Colon,
    /// After a member or item: `,` or the close.
    After,
    /// After `,`: a key or an item.
    Next,
}

/// Where in a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Num {
    Start,
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    Exp,
    ExpSign,
    ExpDigits,
}

#[derive(Clone, Copy, Debug)]
enum Frame {
    /// A value of `node`, after at most `ws` whitespace bytes so far.
    Value {
        node: u16,
        ws: u8,
    },
    /// An object of declared properties; `next` is the first property that may still come.
    Obj {
        node: u16,
        next: u16,
        stage: Stage,
        ws: u8,
    },
    AnyObj {
        stage: Stage,
        ws: u8,
    },
    Arr {
        node: u16,
        count: u16,
        stage: Stage,
        ws: u8,
    },
    /// Matching the literals (or, `key`, the quoted keys of object `node`) in `cands`; `done`
    /// is a candidate matched whole (another may be longer).
    Lit {
        node: u16,
        key: bool,
        cands: u64,
        pos: u16,
        done: Option<u8>,
    },
    /// Inside a string: characters so far, limits, escape state (0 none, 1 after `\`, 2–5
    /// hex digits to go + 1).
    Str {
        len: u16,
        min: u16,
        max: u16,
        esc: u8,
        key: bool,
    },
    Number {
        node: u16,
        at: Num,
        neg: bool,
        value: i64,
        digits: u8,
    },
}

/// The automaton's state: a fixed-size stack, `Copy`.
#[derive(Clone, Copy, Debug)]
struct State {
    frames: [Frame; MAX_DEPTH],
    len: usize,
}

/// One byte's effect on the top frame.
enum Step {
    Consumed,
    /// Consumed, and the frame is done.
    Pop,
    /// The frame is done without this byte: pop, then feed the byte to the parent.
    PopRefeed,
    /// Replace the top frame, byte consumed.
    Replace(Frame),
    /// Replace the top frame and feed the byte again.
    ReplaceRefeed(Frame),
    /// Push a frame (byte consumed).
    Push(Frame),
    /// Push a frame and feed it the byte.
    PushRefeed(Frame),
    Reject,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

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
    nodes: Vec<Node>,
    root: u16,
}

impl Schema {
    fn literal(&self, node: u16, key: bool, i: usize) -> &[u8] {
        match self.nodes.get(node as usize) {
            Some(Node::Object(props)) if key => props.get(i).map(|p| p.0.as_slice()),
            Some(Node::Literals(l)) if !key => l.get(i).map(Vec::as_slice),
            _ => None,
        }
        .unwrap_or_default()
    }

    /// Keys object `node` may take next (from property `next`: the optional ones up to and
    /// including the first required one), and whether it may close.
    fn keys_from(&self, node: u16, next: u16) -> (u64, bool) {
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

impl State {
    fn new(root: u16) -> Self {
        let mut frames = [Frame::Value { node: root, ws: 0 }; MAX_DEPTH];
        frames[0] = Frame::Value { node: root, ws: 0 };
        Self { frames, len: 1 }
    }

    fn is_done(&self) -> bool {
        self.len == 0
    }

    /// Feeds one byte; `false` (the state then undefined) when the JSON cannot continue so.
    fn feed(&mut self, s: &Schema, b: u8) -> bool {
        loop {
            let Some(top) = self.len.checked_sub(1).and_then(|i| self.frames.get_mut(i)) else {
                return false;
            };
            match step(s, top, b) {
                Step::Consumed => return true,
                Step::Reject => return false,
                Step::Pop => {
                    self.pop(s);
                    return true;
                }
                Step::PopRefeed => self.pop(s),
                Step::Replace(f) => {
                    *top = f;
                    return true;
                }
                Step::ReplaceRefeed(f) => *top = f,
                Step::Push(f) | Step::PushRefeed(f) if self.len >= MAX_DEPTH => {
                    let _ = f;
                    return false;
                }
                Step::Push(f) => {
                    self.push(f);
                    return true;
                }
                Step::PushRefeed(f) => self.push(f),
            }
        }
    }

    fn push(&mut self, f: Frame) {
        if let Some(slot) = self.frames.get_mut(self.len) {
            *slot = f;
            self.len = self.len.saturating_add(1);
        }
    }

    /// Pops the top frame; a finished key tells its object which property it named, a
    /// finished value tells its container.
    fn pop(&mut self, s: &Schema) {
        let Some(i) = self.len.checked_sub(1) else { return };
        let done = self.frames.get(i).copied();
        self.len = i;
        let Some(parent) = i.checked_sub(1).and_then(|p| self.frames.get_mut(p)) else { return };
        match (done, parent) {
            (Some(Frame::Lit { key: true, done: Some(k), .. }), Frame::Obj { next, stage, .. }) => {
                *next = u16::from(k).saturating_add(1);
                *stage = Stage::Colon;
            }
            (Some(Frame::Str { key: true, .. }), Frame::AnyObj { stage, .. }) => {
                *stage = Stage::Colon;
            }
            (_, Frame::Obj { stage, ws, .. } | Frame::AnyObj { stage, ws }) => {
                *stage = Stage::After;
                *ws = 0;
            }
            (_, Frame::Arr { count, stage, ws, .. }) => {
                *count = count.saturating_add(1);
                *stage = Stage::After;
                *ws = 0;
            }
            _ => {}
        }
        let _ = s;
    }
}

/// Whitespace where a frame allows it.
fn space(ws: &mut u8) -> Step {
    if *ws >= MAX_WS {
        return Step::Reject;
    }
    *ws = ws.saturating_add(1);
    Step::Consumed
}

fn step(s: &Schema, top: &mut Frame, b: u8) -> Step {
    match top {
        Frame::Value { node, ws } => {
            if is_ws(b) {
                return space(ws);
            }
            let node = *node;
            match (s.nodes.get(node as usize), b) {
                (Some(Node::Any), b'{') | (Some(Node::AnyObject), b'{') => {
                    Step::Replace(Frame::AnyObj { stage: Stage::Open, ws: 0 })
                }
                (Some(Node::Object(_)), b'{') => {
                    Step::Replace(Frame::Obj { node, next: 0, stage: Stage::Open, ws: 0 })
                }
                (Some(Node::Any), b'[') => {
                    Step::Replace(Frame::Arr { node, count: 0, stage: Stage::Open, ws: 0 })
                }
                (Some(Node::Array { .. }), b'[') => {
                    Step::Replace(Frame::Arr { node, count: 0, stage: Stage::Open, ws: 0 })
                }
                (Some(Node::Any), b'"') => {
                    Step::Replace(Frame::Str { len: 0, min: 0, max: u16::MAX, esc: 0, key: false })
                }
                (Some(Node::String { min, max }), b'"') => {
                    Step::Replace(Frame::Str { len: 0, min: *min, max: *max, esc: 0, key: false })
                }
                (Some(Node::Any | Node::Number | Node::Integer { .. }), b'-' | b'0'..=b'9') => {
                    Step::ReplaceRefeed(Frame::Number {
                        node,
                        at: Num::Start,
                        neg: false,
                        value: 0,
                        digits: 0,
                    })
                }
                (Some(Node::Any), _) => Step::ReplaceRefeed(Frame::Lit {
                    node: ANY_LITERAL,
                    key: false,
                    cands: 0b111,
                    pos: 0,
                    done: None,
                }),
                (Some(Node::Literals(l)), _) => Step::ReplaceRefeed(Frame::Lit {
                    node,
                    key: false,
                    cands: if l.len() >= 64 {
                        u64::MAX
                    } else {
                        (1u64 << l.len()).saturating_sub(1)
                    },
                    pos: 0,
                    done: None,
                }),
                _ => Step::Reject,
            }
        }
        Frame::Obj { node, next, stage, ws } => {
            if is_ws(b) {
                return space(ws);
            }
            let (cands, may_close) = s.keys_from(*node, *next);
            match (*stage, b) {
                (Stage::Open | Stage::Next, b'"') if cands != 0 => {
                    *ws = 0;
                    Step::PushRefeed(Frame::Lit {
                        node: *node,
                        key: true,
                        cands,
                        pos: 0,
                        done: None,
                    })
                }
                (Stage::Open | Stage::After, b'}') if may_close => Step::Pop,
                (Stage::Colon, b':') => {
                    *ws = 0;
                    let value = match s.nodes.get(*node as usize) {
                        Some(Node::Object(props)) => {
                            props.get(next.saturating_sub(1) as usize).map(|p| p.1)
                        }
                        _ => None,
                    };
                    match value {
                        Some(v) => {
                            *stage = Stage::After;
                            Step::Push(Frame::Value { node: v, ws: 0 })
                        }
                        None => Step::Reject,
                    }
                }
                (Stage::After, b',') if cands != 0 => {
                    *stage = Stage::Next;
                    *ws = 0;
                    Step::Consumed
                }
                _ => Step::Reject,
            }
        }
        Frame::AnyObj { stage, ws } => {
            if is_ws(b) {
                return space(ws);
            }
            match (*stage, b) {
                (Stage::Open | Stage::Next, b'"') => {
                    *ws = 0;
                    Step::Push(Frame::Str { len: 0, min: 0, max: u16::MAX, esc: 0, key: true })
                }
                (Stage::Open | Stage::After, b'}') => Step::Pop,
                (Stage::Colon, b':') => {
                    *stage = Stage::After;
                    *ws = 0;
                    Step::Push(Frame::Value { node: ANY, ws: 0 })
                }
                (Stage::After, b',') => {
                    *stage = Stage::Next;
                    *ws = 0;
                    Step::Consumed
                }
                _ => Step::Reject,
            }
        }
        Frame::Arr { node, count, stage, ws } => {
            if is_ws(b) {
                return space(ws);
            }
            let (items, min, max) = match s.nodes.get(*node as usize) {
                Some(Node::Array { items, min, max }) => (*items, *min, *max),
                _ => (ANY, 0, u16::MAX),
            };
            match (*stage, b) {
                (Stage::Open | Stage::After, b']') if *count >= min => Step::Pop,
                (Stage::After, b',') if *count < max => {
                    *stage = Stage::Next;
                    *ws = 0;
                    Step::Consumed
                }
                (Stage::Open, _) if max == 0 => Step::Reject,
                (Stage::Open | Stage::Next, _) => {
                    *ws = 0;
                    Step::PushRefeed(Frame::Value { node: items, ws: 0 })
                }
                _ => Step::Reject,
            }
        }
        Frame::Lit { node, key, cands, pos, done } => {
            let mut next = 0u64;
            let mut complete = None;
            let mut longer = false;
            for i in 0..MAX_ALTERNATIVES {
                if *cands & (1u64 << i) == 0 {
                    continue;
                }
                let lit = s.literal(*node, *key, i);
                if lit.get(*pos as usize) == Some(&b) {
                    next |= 1u64 << i;
                    if lit.len() == (*pos as usize).saturating_add(1) {
                        complete = u8::try_from(i).ok();
                    } else {
                        longer = true;
                    }
                }
            }
            if next == 0 {
                return if done.is_some() { Step::PopRefeed } else { Step::Reject };
            }
            *cands = next;
            *pos = pos.saturating_add(1);
            *done = complete;
            if complete.is_some() && !longer {
                Step::Pop
            } else {
                Step::Consumed
            }
        }
        Frame::Str { len, min, max, esc, .. } => {
            match *esc {
                0 => match b {
                    b'"' if *len >= *min => Step::Pop,
                    b'"' | 0..=0x1f => Step::Reject,
                    b'\\' if *len < *max => {
                        *esc = 1;
                        Step::Consumed
                    }
                    // A continuation byte adds no character.
                    0x80..=0xbf => Step::Consumed,
                    _ if *len < *max => {
                        *len = len.saturating_add(1);
                        Step::Consumed
                    }
                    _ => Step::Reject,
                },
                1 => match b {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                        *esc = 0;
                        *len = len.saturating_add(1);
                        Step::Consumed
                    }
                    b'u' => {
                        *esc = 5;
                        Step::Consumed
                    }
                    _ => Step::Reject,
                },
                _ if b.is_ascii_hexdigit() => {
                    *esc = if *esc == 2 { 0 } else { esc.saturating_sub(1) };
                    if *esc == 0 {
                        *len = len.saturating_add(1);
                    }
                    Step::Consumed
                }
                _ => Step::Reject,
            }
        }
        Frame::Number { node, at, neg, value, digits } => {
            let int = matches!(s.nodes.get(*node as usize), Some(Node::Integer { .. }));
            let (min, max) = match s.nodes.get(*node as usize) {
                Some(Node::Integer { min, max }) => (*min, *max),
                _ => (i64::MIN, i64::MAX),
            };
            let in_range = |neg: bool, v: i64| {
                let v = if neg { v.saturating_neg() } else { v };
                v >= min && v <= max
            };
            // Could a number whose magnitude starts so still land in range? More digits only
            // grow the magnitude.
            let reachable =
                |neg: bool, v: i64| if neg { v <= min.saturating_neg() } else { v <= max };
            let can_end = match at {
                Num::Zero | Num::Int => !int || in_range(*neg, *value),
                Num::Frac | Num::ExpDigits => true,
                _ => false,
            };
            let digit = b.is_ascii_digit();
            let d = i64::from(b.wrapping_sub(b'0'));
            match (*at, b) {
                (Num::Start, b'-') if !int || min < 0 => {
                    *at = Num::Minus;
                    *neg = true;
                    Step::Consumed
                }
                (Num::Start | Num::Minus, b'0') if !int || in_range(*neg, 0) => {
                    *at = Num::Zero;
                    *digits = 1;
                    Step::Consumed
                }
                (Num::Start | Num::Minus | Num::Int, _) if digit => {
                    let v = value.saturating_mul(10).saturating_add(d);
                    if *digits >= MAX_DIGITS || (int && !reachable(*neg, v)) {
                        return if can_end { Step::PopRefeed } else { Step::Reject };
                    }
                    *value = v;
                    *digits = digits.saturating_add(1);
                    *at = Num::Int;
                    Step::Consumed
                }
                (Num::Zero | Num::Int, b'.') if !int => {
                    *at = Num::Dot;
                    Step::Consumed
                }
                (Num::Dot | Num::Frac, _) if digit && *digits < MAX_DIGITS => {
                    *at = Num::Frac;
                    *digits = digits.saturating_add(1);
                    Step::Consumed
                }
                (Num::Zero | Num::Int | Num::Frac, b'e' | b'E') if !int => {
                    *at = Num::Exp;
                    Step::Consumed
                }
                (Num::Exp, b'+' | b'-') => {
                    *at = Num::ExpSign;
                    Step::Consumed
                }
                (Num::Exp | Num::ExpSign | Num::ExpDigits, _) if digit && *digits < MAX_DIGITS => {
                    *at = Num::ExpDigits;
                    *digits = digits.saturating_add(1);
                    Step::Consumed
                }
                _ if can_end => Step::PopRefeed,
                _ => Step::Reject,
            }
        }
    }
}

/// The bytes each token stands for (`None` for special tokens, which a grammar never allows):
/// byte-level BPE pieces through GPT-2's byte alphabet, SentencePiece pieces with `▁` as a
/// space and `<0xNN>` byte-fallback tokens as their byte.
fn token_bytes(tokenizer: &ModelTokenizer) -> Vec<Option<Vec<u8>>> {
    use tokenizers::DecoderWrapper;
    let byte_level = matches!(tokenizer.inner().get_decoder(), Some(DecoderWrapper::ByteLevel(_)));
    let alphabet = byte_alphabet();
    let specials: std::collections::HashSet<String> =
        tokenizer.special_tokens().into_iter().collect();
    let vocab = u32::try_from(tokenizer.vocab_size()).unwrap_or(u32::MAX);
    (0..vocab)
        .map(|id| {
            let piece = tokenizer.token_text(id)?;
            if specials.contains(&piece) {
                return None;
            }
            if byte_level {
                return piece.chars().map(|c| alphabet.get(&c).copied()).collect();
            }
            if let Some(hex) = piece.strip_prefix("<0x").and_then(|h| h.strip_suffix('>')) {
                if let Ok(b) = u8::from_str_radix(hex, 16) {
                    return Some(vec![b]);
                }
            }
            Some(piece.replace('\u{2581}', " ").into_bytes())
        })
        .collect()
}

/// GPT-2's byte-level alphabet: the character standing for each byte.
fn byte_alphabet() -> HashMap<char, u8> {
    let printable = |b: u32| {
        (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b)
    };
    let mut out = HashMap::with_capacity(256);
    let mut shifted = 0u32;
    for b in 0u32..256 {
        let c = if printable(b) {
            b
        } else {
            shifted = shifted.saturating_add(1);
            255u32.saturating_add(shifted)
        };
        if let (Some(c), Ok(byte)) = (char::from_u32(c), u8::try_from(b)) {
            out.insert(c, byte);
        }
    }
    out
}

/// Compiles request grammars for the served tokenizer.
pub struct Grammars {
    tokens: Arc<Vec<Option<Vec<u8>>>>,
}

impl Grammars {
    /// Recovers the bytes of every token of `tokenizer`.
    pub fn new(tokenizer: &ModelTokenizer) -> Self {
        Self { tokens: Arc::new(token_bytes(tokenizer)) }
    }

    /// The constraint for a request's `response_format`, or `None` for plain text.
    pub fn compile(&self, response_format: &Ordered) -> Result<Option<Constraint>> {
        let invalid = |m: String| Error::invalid("response_format", m);
        if matches!(response_format, Ordered::Scalar(Value::Null)) {
            return Ok(None);
        }
        let schema = match response_format.get("type").and_then(Ordered::as_str) {
            None => return Err(invalid("must be an object with a `type`".into())),
            Some("text") => return Ok(None),
            Some("json_object") => Schema::json_object(),
            Some("json_schema") => {
                let schema = response_format
                    .get("json_schema")
                    .and_then(|j| j.get("schema"))
                    .ok_or_else(|| invalid("json_schema.schema is missing".into()))?;
                Schema::from_json_schema(schema)
                    .map_err(|e| invalid(format!("the schema cannot be enforced: {e}")))?
            }
            Some(other) => return Err(invalid(format!("unknown type {other:?}"))),
        };
        let state = State::new(schema.root);
        Ok(Some(Constraint { schema, state, tokens: self.tokens.clone() }))
    }
}

/// A request's grammar, advanced token by token.
#[derive(Clone)]
pub struct Constraint {
    schema: Arc<Schema>,
    state: State,
    tokens: Arc<Vec<Option<Vec<u8>>>>,
}

impl std::fmt::Debug for Constraint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Constraint")
    }
}

/// What the grammar allows next.
pub enum Next {
    /// The tokens allowed (indexed by token id).
    Tokens(Vec<bool>),
    /// Nothing more: the output is complete.
    Done,
}

impl Constraint {
    /// The tokens allowed next.
    pub fn next(&self) -> Next {
        if self.state.is_done() {
            return Next::Done;
        }
        let mut first = [false; 256];
        for (b, ok) in first.iter_mut().enumerate() {
            let mut s = self.state;
            *ok = u8::try_from(b).is_ok_and(|b| s.feed(&self.schema, b));
        }
        let mask: Vec<bool> = self
            .tokens
            .iter()
            .map(|bytes| {
                let Some(bytes) = bytes else { return false };
                let Some(&b0) = bytes.first() else { return false };
                if !first.get(b0 as usize).copied().unwrap_or(false) {
                    return false;
                }
                let mut s = self.state;
                bytes.iter().all(|&b| s.feed(&self.schema, b))
            })
            .collect();
        if mask.iter().any(|&a| a) {
            Next::Tokens(mask)
        } else {
            Next::Done
        }
    }

    /// Feeds the sampled token.
    pub fn consume(&mut self, token: u32) -> Result<()> {
        let bytes = self.tokens.get(token as usize).and_then(Option::as_ref);
        let Some(bytes) = bytes else {
            return Err(Error::Model(format!("token {token} is outside the grammar")));
        };
        for &b in bytes {
            if !self.state.feed(&self.schema, b) {
                return Err(Error::Model(format!("token {token} breaks the grammar")));
            }
        }
        Ok(())
    }

    /// Feeds text directly (tests).
    #[cfg(test)]
    fn accepts(&self, text: &str) -> bool {
        let mut s = self.state;
        text.bytes().all(|b| s.feed(&self.schema, b)) && s.is_done()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests;
