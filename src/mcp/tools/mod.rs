//! The tool registry: every tool's name, description, argument schema (derived from its
//! argument struct) and body. Bodies return text; the server pages it under the size cap.

mod alloc;
mod compare;
mod documents;
mod investigate;
mod share;
mod snapshot;

use std::sync::Arc;

use rmcp::handler::server::common::schema_for_type;
use rmcp::model::JsonObject;
use rmcp::schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::bounded::MAX_RESULT_BYTES;
use super::session::Session;
use crate::error::{Error, Result};
use crate::progress::Progress;

/// A tool body: the session, the arguments (without `cursor`), and the call's progress.
type Body = dyn Fn(&Session, Value, Progress<'_>) -> Result<String> + Send + Sync;

/// One tool.
pub struct ToolDef {
    /// Its name in `tools/call`.
    pub name: &'static str,
    /// What it does, for the agent (the size cap appended).
    pub description: String,
    /// The JSON Schema of its arguments.
    pub schema: Arc<JsonObject>,
    body: Box<Body>,
}

impl ToolDef {
    /// Run the body on `args`.
    pub fn run(&self, session: &Session, args: Value, progress: Progress<'_>) -> Result<String> {
        (self.body)(session, args, progress)
    }
}

/// A tool whose arguments deserialize into `P`; every tool takes a `cursor` besides.
fn tool<P>(
    name: &'static str,
    description: &str,
    body: fn(&Session, P, Progress<'_>) -> Result<String>,
) -> ToolDef
where
    P: DeserializeOwned + JsonSchema + 'static,
{
    let mut schema = (*schema_for_type::<P>()).clone();
    let props = schema
        .entry("properties")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Value::Object(props) = props {
        props.insert(
            "cursor".into(),
            json!({
                "type": "integer",
                "minimum": 0,
                "description": "Where the page starts: the cursor a previous call's last line named (default 0)."
            }),
        );
    }
    ToolDef {
        name,
        description: format!(
            "{description} Results are at most {MAX_RESULT_BYTES} bytes of text; longer ones end \
             with a line naming the `cursor` for the next page."
        ),
        schema: Arc::new(schema),
        body: Box::new(move |session, args, progress| {
            let p: P = serde_json::from_value(args)
                .map_err(|e| Error::Request(format!("{name}: invalid arguments: {e}")))?;
            body(session, p, progress)
        }),
    }
}

/// Every tool the server offers, in the order `tools/list` shows them.
pub fn all() -> Vec<ToolDef> {
    let mut tools = documents::tools();
    tools.extend(snapshot::tools());
    tools.extend(compare::tools());
    tools.extend(alloc::tools());
    tools.push(investigate::tool());
    tools.push(share::tool());
    tools
}

/// A size argument's default: `n` when the agent gave none.
fn or(v: Option<usize>, n: usize) -> usize {
    v.unwrap_or(n)
}
