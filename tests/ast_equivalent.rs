//! `ast_equivalent`: the seed's example, edge cases of each dialect, and
//! the decision procedure's properties.

use rstest::rstest;
use serde_json::{Value, json};
use tribunal::check::ast::audience::{self, Limits, Names};
use tribunal::check::ast::sql::{self, Schema, SqlOptions};
use tribunal::check::ast::{Equivalence, Method, json as jsoneq};

fn count(op: &str, n: i64) -> Value {
    json!({"cmp": op, "value": n, "term": {"count": {"event": "Order Completed"}}})
}

fn decide(a: &Value, b: &Value) -> Equivalence {
    audience::equivalent(
        a,
        b,
        Limits::default(),
        &Names {
            left: "the expected audience".into(),
            right: "the output".into(),
        },
    )
    .expect("valid ASTs")
}

#[test]
fn seed_pair_is_refuted_by_a_customer_with_two_purchases() {
    let expected = count(">=", 1);
    let output = json!({"and": [count(">", 0), count("<", 2)]});
    let v = decide(&expected, &output);
    assert_eq!(v.label(), "not_equivalent", "{v:?}");
    let Equivalence::NotEquivalent {
        counterexample,
        evidence,
        method,
    } = &v
    else {
        unreachable!()
    };
    assert_eq!(*method, Method::Exhaustive);
    assert_eq!(
        counterexample,
        "a user with 2 `Order Completed` events matches the expected audience but not the output"
    );
    assert_eq!(evidence["events"][0]["count"], 2);
    assert_eq!(evidence["left_matches"], true);
}

#[test]
fn at_least_one_equals_more_than_zero() {
    let v = decide(&count(">=", 1), &count(">", 0));
    assert_eq!(v.label(), "equivalent", "{v:?}");
    assert!(v.method().is_some_and(|m| m.proves()));
}
