//! Cargo features a build may leave out (`sql`, `history`), and the one
//! error every door to a missing feature returns: what asked for it, the
//! feature's name, and the `Cargo.toml` line that turns it on.

/// `what` needs `feature`, which this build of tribunal leaves out.
pub fn off(what: &str, feature: &str) -> String {
    let v = env!("CARGO_PKG_VERSION");
    let major_minor = v.rsplit_once('.').map_or(v, |(mm, _)| mm);
    format!(
        "{what} needs tribunal's `{feature}` feature, which this build leaves out (hint: enable it in Cargo.toml: `tribunal = {{ version = \"{major_minor}\", features = [\"{feature}\"] }}`, or keep the default features)"
    )
}
