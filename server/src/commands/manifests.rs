//! `tollgate check-manifests FILE...`: the selector-overlap diagnosis on rendered manifests
//! (`helm template`, `kubectl kustomize`), before they are applied. `-` reads standard input.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;
use tollgate_cluster::Severity;

/// Exit code when a critical finding was made.
pub const EXIT_CRITICAL: u8 = 1;
/// Exit code when a file could not be read or parsed.
pub const EXIT_UNREADABLE: u8 = 2;

pub fn run(files: &[PathBuf]) -> ExitCode {
    let mut texts = Vec::new();
    for f in files {
        let text = if f.as_os_str() == "-" {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).map(|_| s)
        } else {
            std::fs::read_to_string(f)
        };
        match text {
            Ok(t) => texts.push((f.display().to_string(), t)),
            Err(e) => {
                eprintln!("tollgate: cannot read {}: {e}", f.display());
                return ExitCode::from(EXIT_UNREADABLE);
            }
        }
    }
    let report = match tollgate_cluster::manifests::check(&texts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tollgate: {e}");
            return ExitCode::from(EXIT_UNREADABLE);
        }
    };
    println!(
        "checked {} Deployments, {} Services and {} PodDisruptionBudgets ({} other documents)",
        report.deployments, report.services, report.pdbs, report.other
    );
    for d in &report.diagnoses {
        println!();
        println!(
            "{}: {} [{}]",
            d.severity.as_str().to_uppercase(),
            d.title,
            d.code
        );
        for e in &d.evidence {
            println!("  - {e}");
        }
        println!("  fix: {}", d.fix);
        for c in &d.fix_commands {
            for line in c.lines() {
                println!("    {line}");
            }
        }
    }
    let critical = report
        .diagnoses
        .iter()
        .filter(|d| d.severity == Severity::Critical)
        .count();
    println!();
    println!("{} findings, {critical} critical", report.diagnoses.len());
    if critical > 0 {
        ExitCode::from(EXIT_CRITICAL)
    } else {
        ExitCode::SUCCESS
    }
}
