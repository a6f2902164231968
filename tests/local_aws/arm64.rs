//! The default architecture, arm64, built as a `sam build` for AWS builds it (`cargo lambda
//! build --arm64`, linked by zig), beside the end-to-end run. The local AWS runs the x86_64
//! bootstraps on this machine and cannot run an arm64 one, so what is checked is what can go
//! wrong in the build alone: it succeeds (the crates, the SDK's and ring's C and assembly, and
//! zig's link for aarch64 glibc), and every bootstrap is an AArch64 executable.
//!
//! Built with the release profile's optimisation turned down (`opt-level` 0, no LTO, many
//! codegen units, through cargo's `CARGO_PROFILE_RELEASE_*` variables): what can break on arm64
//! alone is the cross build (the C and assembly compiled by zig for aarch64, the link against
//! its glibc), which this still does in full, while the optimised code is built and run on
//! x86_64 by the rest of the test and measured by `make bench`. Optimised, this build was the
//! longest part of `make test` on two cores (19.5 of its 31 minutes on a fresh clone); turned
//! down, 7.8 minutes beside other builds.
//!
//! The build runs at the lowest CPU priority into a target directory of its own (so it waits on
//! no cargo lock of the x86_64 build): it takes the CPU that the x86_64 build's single-threaded
//! link steps and the test's waits for windows and browsers leave idle, instead of adding its
//! whole length to `make test`.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::{Group, root, target_dir};

/// The longest the build may take, counted from its start (it shares the machine with the rest
/// of the end-to-end test).
const BUILD_LIMIT: Duration = Duration::from_secs(40 * 60);

/// The arm64 `sam build`, running.
pub struct Arm64Build {
    process: Group,
    started: Instant,
    log: PathBuf,
    built: PathBuf,
}

impl Arm64Build {
    /// Starts the build (`tools/local_aws.py build --architecture arm64`) under `nice`.
    pub fn start() -> Arm64Build {
        let work = target_dir().join("arm64");
        std::fs::create_dir_all(&work).expect("target/arm64");
        let log = work.join("build.log");
        let built = work.join("sam-build");
        let out = File::create(&log).expect("arm64 build log");
        let process = Group::spawn(
            Command::new("nice")
                .args(["-n", "19"])
                .arg(root().join(".venv/bin/python"))
                .arg(root().join("tools/local_aws.py"))
                .args(["build", "--architecture", "arm64", "--build-dir"])
                .arg(&built)
                .env("CARGO_TARGET_DIR", work.join("target"))
                .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
                .env("CARGO_PROFILE_RELEASE_LTO", "off")
                .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256")
                .current_dir(root())
                .stdin(Stdio::null())
                .stdout(out.try_clone().expect("log handle"))
                .stderr(out),
        );
        Arm64Build {
            process,
            started: Instant::now(),
            log,
            built,
        }
    }

    /// Waits for the build (bounded), then checks what it made.
    pub fn finish(mut self) {
        let status = self.wait();
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: String = log.lines().rev().take(40).collect::<Vec<_>>().join("\n");
        assert!(
            status.success(),
            "the arm64 sam build failed (last lines, newest first):\n{tail}"
        );
        let mut seen = 0;
        for dir in std::fs::read_dir(&self.built).expect("arm64 build directory") {
            let bootstrap = dir.expect("entry").path().join("bootstrap");
            if !bootstrap.exists() {
                continue;
            }
            let header = Command::new("readelf")
                .arg("-h")
                .arg(&bootstrap)
                .output()
                .expect("readelf (binutils)");
            let header = String::from_utf8_lossy(&header.stdout);
            let machine = header
                .lines()
                .find_map(|l| l.trim().strip_prefix("Machine:"))
                .map(str::trim);
            assert_eq!(machine, Some("AArch64"), "{}", bootstrap.display());
            seen += 1;
        }
        assert!(seen >= 5, "only {seen} arm64 functions built");
        println!(
            "arm64: {seen} functions built in {:.0} s (beside the rest of the test)",
            self.started.elapsed().as_secs_f64()
        );
    }

    fn wait(&mut self) -> ExitStatus {
        loop {
            if let Some(status) = self.process.0.try_wait().expect("wait for the arm64 build") {
                return status;
            }
            assert!(
                self.started.elapsed() < BUILD_LIMIT,
                "the arm64 sam build took more than {BUILD_LIMIT:?}; see {}",
                self.log.display()
            );
            std::thread::sleep(Duration::from_secs(1));
        }
    }
}
