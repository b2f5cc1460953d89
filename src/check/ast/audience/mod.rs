//! `dialect: audience`: JSON audience ASTs, decided by canonicalization and
//! then exhaustive evaluation over critical values.
//!
//! ```
//! use serde_json::json;
//! use tribunal::check::ast::audience::{self, Limits, Names};
//!
//! let at_least_one = json!({"cmp": ">=", "value": 1,
//!     "term": {"count": {"event": "Order Completed"}}});
//! let one = json!({"and": [
//!     {"cmp": ">", "value": 0, "term": {"count": {"event": "Order Completed"}}},
//!     {"cmp": "<", "value": 2, "term": {"count": {"event": "Order Completed"}}}]});
//! let v = audience::equivalent(&at_least_one, &one, Limits::default(), &Names::default()).unwrap();
//! assert_eq!(v.label(), "not_equivalent");
//! assert!(v.reason().contains("2 `Order Completed` events"));
//! ```

pub mod canon;
pub mod decide;
pub mod model;

use serde_json::Value;

pub use canon::canonicalize;
pub use decide::{Limits, Names, decide};
pub use model::{AstError, Cond, parse};

use super::equivalence::{Equivalence, Method};

/// Parses both ASTs and decides whether they select the same users.
///
/// Errors name the side and the JSON pointer of an invalid AST.
pub fn equivalent(
    left: &Value,
    right: &Value,
    limits: Limits,
    names: &Names,
) -> Result<Equivalence, (Side, AstError)> {
    let l = parse(left).map_err(|e| (Side::Left, e))?;
    model::check_top(&l).map_err(|e| (Side::Left, e))?;
    let r = parse(right).map_err(|e| (Side::Right, e))?;
    model::check_top(&r).map_err(|e| (Side::Right, e))?;
    Ok(equivalent_parsed(&l, &r, limits, names))
}

/// Which input an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The left (reference) input.
    Left,
    /// The right (output) input.
    Right,
}

/// Decides two parsed conditions.
pub fn equivalent_parsed(l: &Cond, r: &Cond, limits: Limits, names: &Names) -> Equivalence {
    if l == r {
        return Equivalence::Equivalent {
            method: Method::Identical,
            detail: "the two ASTs are identical".into(),
        };
    }
    let (cl, cr) = (canonicalize(l), canonicalize(r));
    if cl == cr {
        return Equivalence::Equivalent {
            method: Method::Canonical,
            detail: format!("both canonicalize to {}", cl.to_json()),
        };
    }
    decide(l, r, limits, names)
}
