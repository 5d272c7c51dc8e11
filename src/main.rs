//! The `pixelwatch` binary: parse the command line, run, map errors to exit codes.
fn main() {}
