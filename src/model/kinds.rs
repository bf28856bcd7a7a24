//! Node and edge kinds, named as V8 names them in `snapshot.meta`.

/// What a node is, after V8's `node_types` list. Unknown names map to [`NodeKind::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum NodeKind {
    Hidden,
    Array,
    String,
    Object,
    Code,
    Closure,
    RegExp,
    Number,
    Native,
    Synthetic,
    ConsString,
    SlicedString,
    Symbol,
    BigInt,
    ObjectShape,
    WasmObject,
    Other,
}

impl NodeKind {
    /// Map V8's type name to a kind.
    pub fn from_v8_name(name: &str) -> Self {
        match name {
            "hidden" => Self::Hidden,
            "array" => Self::Array,
            "string" => Self::String,
            "object" => Self::Object,
            "code" => Self::Code,
            "closure" => Self::Closure,
            "regexp" => Self::RegExp,
            "number" | "heap number" => Self::Number,
            "native" => Self::Native,
            "synthetic" => Self::Synthetic,
            "concatenated string" => Self::ConsString,
            "sliced string" => Self::SlicedString,
            "symbol" => Self::Symbol,
            "bigint" => Self::BigInt,
            "object shape" => Self::ObjectShape,
            "wasm object" => Self::WasmObject,
            _ => Self::Other,
        }
    }

    /// True for the three string kinds.
    pub fn is_string(self) -> bool {
        matches!(self, Self::String | Self::ConsString | Self::SlicedString)
    }
}

/// What an edge is, after V8's `edge_types` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum EdgeKind {
    Context,
    Element,
    Property,
    Internal,
    Hidden,
    Shortcut,
    Weak,
    Other,
}

impl EdgeKind {
    /// Map V8's type name to a kind.
    pub fn from_v8_name(name: &str) -> Self {
        match name {
            "context" => Self::Context,
            "element" => Self::Element,
            "property" => Self::Property,
            "internal" => Self::Internal,
            "hidden" => Self::Hidden,
            "shortcut" => Self::Shortcut,
            "weak" => Self::Weak,
            _ => Self::Other,
        }
    }

    /// Element and hidden edges are named by a number, the others by a string.
    pub fn named_by_index(self) -> bool {
        matches!(self, Self::Element | Self::Hidden)
    }
}
