//! The pushdown automaton over bytes that accepts exactly the JSON texts of a schema.

use super::{
    schema::{Node, Schema, ANY, ANY_LITERAL},
    MAX_ALTERNATIVES, MAX_DEPTH, MAX_DIGITS, MAX_WS,
};

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
pub(super) struct State {
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

impl State {
    pub(super) fn new(root: u16) -> Self {
        Self { frames: [Frame::Value { node: root, ws: 0 }; MAX_DEPTH], len: 1 }
    }

    pub(super) fn is_done(&self) -> bool {
        self.len == 0
    }

    /// Feeds one byte; `false` (the state then undefined) when the JSON cannot continue so.
    pub(super) fn feed(&mut self, s: &Schema, b: u8) -> bool {
        loop {
            let Some(top) = self.len.checked_sub(1).and_then(|i| self.frames.get_mut(i)) else {
                return false;
            };
            match step(s, top, b) {
                Step::Consumed => return true,
                Step::Reject => return false,
                Step::Pop => {
                    self.pop();
                    return true;
                }
                Step::PopRefeed => self.pop(),
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
    fn pop(&mut self) {
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
