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

    /// V8's name for the kind (the one [`NodeKind::from_v8_name`] maps back); `"other"` for
    /// [`NodeKind::Other`], which stands for names V8 has no kind for.
    pub fn v8_name(self) -> &'static str {
        match self {
            Self::Hidden => "hidden",
            Self::Array => "array",
            Self::String => "string",
            Self::Object => "object",
            Self::Code => "code",
            Self::Closure => "closure",
            Self::RegExp => "regexp",
            Self::Number => "number",
            Self::Native => "native",
            Self::Synthetic => "synthetic",
            Self::ConsString => "concatenated string",
            Self::SlicedString => "sliced string",
            Self::Symbol => "symbol",
            Self::BigInt => "bigint",
            Self::ObjectShape => "object shape",
            Self::WasmObject => "wasm object",
            Self::Other => "other",
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

    /// V8's name for the kind (the one [`EdgeKind::from_v8_name`] maps back); `"other"` for
    /// [`EdgeKind::Other`], which stands for names V8 has no kind for.
    pub fn v8_name(self) -> &'static str {
        match self {
            Self::Context => "context",
            Self::Element => "element",
            Self::Property => "property",
            Self::Internal => "internal",
            Self::Hidden => "hidden",
            Self::Shortcut => "shortcut",
            Self::Weak => "weak",
            Self::Other => "other",
        }
    }

    /// Element and hidden edges are named by a number, the others by a string.
    pub fn named_by_index(self) -> bool {
        matches!(self, Self::Element | Self::Hidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v8_names_map_back() {
        for k in [
            NodeKind::Hidden,
            NodeKind::ConsString,
            NodeKind::WasmObject,
            NodeKind::Other,
        ] {
            assert_eq!(NodeKind::from_v8_name(k.v8_name()), k);
        }
        for k in [EdgeKind::Context, EdgeKind::Weak, EdgeKind::Other] {
            assert_eq!(EdgeKind::from_v8_name(k.v8_name()), k);
        }
    }
}
