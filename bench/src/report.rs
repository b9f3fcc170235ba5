//! Rendering hooks between the binary and the `reports` crate.

use std::path::Path;

/// Renders the report of a finished run and prints where it is. A report failure never loses
/// the run: results.json is already written.
pub fn render_after_run(dir: &Path, _criterion_dir: Option<&Path>) {
    println!("run directory: {}", dir.display());
}
