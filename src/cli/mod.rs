//! The `tribunal` command line: every clap type and the code behind each
//! subcommand. `main.rs` parses and dispatches; the library itself has no
//! command-line types.

pub mod validate;
