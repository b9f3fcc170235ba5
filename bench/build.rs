//! Records build provenance (git commit, dirty flag, rustc, profile) for result files.

use std::process::Command;

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn main() {
    // A build without the repository (the container image: its context has no .git) is told
    // the commit instead; whether that tree was dirty is then unknown.
    println!("cargo:rerun-if-env-changed=RPCBENCH_GIT_COMMIT");
    let given = std::env::var("RPCBENCH_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty());
    let (commit, dirty) = match given {
        Some(commit) => (commit, ""),
        None => (
            output("git", &["rev-parse", "HEAD"]).unwrap_or_default(),
            output("git", &["status", "--porcelain", "--untracked-files=no"])
                .map(|s| if s.is_empty() { "false" } else { "true" })
                .unwrap_or(""),
        ),
    };
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_vv = output(&rustc, &["-vV"]).unwrap_or_default();
    println!("cargo:rustc-env=RPCBENCH_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=RPCBENCH_GIT_DIRTY={dirty}");
    println!(
        "cargo:rustc-env=RPCBENCH_RUSTC_VV={}",
        rustc_vv.replace('\n', "\\n")
    );
    println!(
        "cargo:rustc-env=RPCBENCH_PROFILE={}",
        std::env::var("PROFILE").unwrap_or_default()
    );
    // Rebuild when HEAD moves or the index changes, so the recorded commit stays true.
    for path in ["../.git/HEAD", "../.git/index"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    if let Some(git_ref) = output("git", &["symbolic-ref", "-q", "HEAD"]) {
        let path = format!("../.git/{git_ref}");
        if std::path::Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    // …and when any workspace source changes: an edit that is not staged leaves the index alone,
    // and the recorded dirty flag would stay false.
    for dir in [
        "src",
        "../servers/src",
        "../reports/src",
        "../proto/src",
        "../proto/model/src",
    ] {
        if std::path::Path::new(dir).exists() {
            println!("cargo:rerun-if-changed={dir}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
