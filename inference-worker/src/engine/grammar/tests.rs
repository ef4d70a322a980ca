use super::*;
use serde_json::json;

/// Parses like a request body does (member order kept).
fn ordered(v: Value) -> Ordered {
    serde_json::from_str(&v.to_string()).unwrap()
}

fn constraint(schema: &str) -> Constraint {
    let schema = Schema::from_json_schema(&serde_json::from_str(schema).unwrap()).unwrap();
    let state = State::new(schema.root);
    Constraint { schema, state, tokens: Arc::new(Vec::new()) }
}

fn object() -> Constraint {
    let schema = Schema::json_object();
    let state = State::new(schema.root);
    Constraint { schema, state, tokens: Arc::new(Vec::new()) }
}

/// Properties in a non-alphabetical order, as a request body would carry them.
const PERSON: &str = r#"{
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 5},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2},
        "ok": {"type": "boolean"},
        "score": {"type": "number"}
    },
    "required": ["name", "age"]
}"#;

#[test]
fn a_schema_accepts_exactly_its_json() {
    let c = constraint(PERSON);
    for good in [
        r#"{"name":"Ada","age":36}"#,
        r#"{ "name": "Ada", "age": 0, "tags": ["a","b"], "ok": true, "score": -1.5e3 }"#,
        r#"{"name":"","age":150,"ok":false}"#,
        r#"{"name":"\u00e9\n","age":7,"score":0}"#,
        "{\"name\":\"café\",\"age\":1}",
    ] {
        assert!(c.accepts(good), "{good}");
    }
    for bad in [
        r#"{"age":36,"name":"Ada"}"#,
        r#"{"name":"Ada"}"#,
        r#"{"name":"Ada","age":151}"#,
        r#"{"name":"Ada","age":-1}"#,
        r#"{"name":"Ada","age":3.5}"#,
        r#"{"name":"Adalbert","age":1}"#,
        r#"{"name":"Ada","age":1,"tags":["c"]}"#,
        r#"{"name":"Ada","age":1,"tags":["a","a","a"]}"#,
        r#"{"name":"Ada","age":1,"extra":1}"#,
        r#"{"name":"Ada","age":01}"#,
        r#"{"name":"Ada","age":1,}"#,
        r#"{"name":"Ada","age":1} x"#,
        "{\"name\":\"a\nb\",\"age\":1}",
    ] {
        assert!(!c.accepts(bad), "{bad}");
    }
    // Whitespace is bounded: a model cannot loop on blank space.
    let padded = |n: usize| format!("{{{}\"name\":\"Ada\",\"age\":1}}", " ".repeat(n));
    assert!(c.accepts(&padded(MAX_WS as usize)));
    assert!(!c.accepts(&padded(MAX_WS as usize + 1)));
}

#[test]
fn json_object_takes_any_object_and_nothing_else() {
    let c = object();
    for good in [r#"{}"#, r#"{"a":[1,{"b":null}],"c":"d","e":-0.5,"f":true}"#] {
        assert!(c.accepts(good), "{good}");
    }
    for bad in [r#"[]"#, r#""x""#, r#"{"a":}"#, r#"{"a":tru}"#, r#"{a:1}"#, r#"{"a":1"#] {
        assert!(!c.accepts(bad), "{bad}");
    }
}

#[test]
fn what_cannot_be_enforced_is_refused() {
    for schema in [
        json!({"type": "string"}),
        json!({"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}]}}}),
        json!({"type": "object", "properties": {"a": {"type": "string", "pattern": "x+"}}}),
        json!({"type": "no-such-type"}),
        json!({"type": "array", "minItems": 3, "maxItems": 2}),
    ] {
        assert!(Schema::from_json_schema(&ordered(schema.clone())).is_err(), "{schema}");
    }
}

#[test]
fn the_mask_allows_exactly_the_tokens_that_continue_the_json() {
    let mut tokens: Vec<Option<Vec<u8>>> = [
        "{", "{\"", "\"name\"", ":", "\"Ada\"", ",", "\"age\"", "36", "}", "x", " ", "\"nam",
        "e\":",
    ]
    .iter()
    .map(|t| Some(t.as_bytes().to_vec()))
    .collect();
    tokens.push(None);
    let schema = Schema::from_json_schema(
        &serde_json::from_str(
            r#"{"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}, "required": ["name", "age"]}"#,
        )
        .unwrap(),
    )
    .unwrap();
    let mut c = Constraint { state: State::new(schema.root), schema, tokens: Arc::new(tokens) };
    let allowed = |c: &Constraint| match c.next() {
        Next::Tokens(m) => m.iter().enumerate().filter(|p| *p.1).map(|p| p.0).collect::<Vec<_>>(),
        Next::Done => Vec::new(),
    };
    assert_eq!(allowed(&c), vec![0, 1, 10]);
    c.consume(0).unwrap();
    assert_eq!(allowed(&c), vec![2, 10, 11]);
    for t in [11, 12, 4, 5, 6, 3, 7] {
        c.consume(t).unwrap();
    }
    // After the age's digits: more digits, a space or the close.
    assert_eq!(allowed(&c), vec![7, 8, 10]);
    c.consume(8).unwrap();
    assert!(matches!(c.next(), Next::Done));
    assert!(c.consume(9).is_err());
}

#[test]
fn byte_level_pieces_map_back_to_their_bytes() {
    let alphabet = byte_alphabet();
    assert_eq!(alphabet.len(), 256);
    assert_eq!(alphabet[&'Ġ'], b' ');
    assert_eq!(alphabet[&'Ċ'], b'\n');
    assert_eq!(alphabet[&'a'], b'a');
}
