//! Named points at which tests stop provisioning as a crash would: after a lifecycle step's
//! effect, after its record, or in the middle of a template build.
//!
//! Its own module because the lifecycle, the database server and the template build all stop at
//! them; none of these need to know about the others for it. Only builds with the `failpoints`
//! feature act on one.

use std::str::FromStr;

use crate::tenant::{Lifecycle, UnknownStatus};

/// A named point at which tests stop the lifecycle as a crash would: right after a step's side
/// effect (before it is recorded) or right after it is recorded. Only builds with the
/// `failpoints` feature can select one ([`crate::Provisioner::with_failpoint`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failpoint {
    AfterEffect(Lifecycle),
    AfterRecord(Lifecycle),
    /// `template:built`: the template is built under its temporary name, not yet renamed.
    TemplateBuilt,
    /// `template:renamed`: renamed into place, not yet marked a template.
    TemplateRenamed,
}

impl FromStr for Failpoint {
    type Err = String;
    /// `after-effect:<lifecycle>` or `after-record:<lifecycle>`, naming the step's target, or
    /// `template:built` / `template:renamed` (the template build, see `template.rs`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "template:built" => return Ok(Self::TemplateBuilt),
            "template:renamed" => return Ok(Self::TemplateRenamed),
            _ => {}
        }
        let (kind, step) = s
            .split_once(':')
            .ok_or_else(|| format!("bad failpoint {s:?}"))?;
        let step: Lifecycle = step.parse().map_err(|e: UnknownStatus| e.to_string())?;
        match kind {
            "after-effect" => Ok(Self::AfterEffect(step)),
            "after-record" => Ok(Self::AfterRecord(step)),
            _ => Err(format!("bad failpoint kind {kind:?}")),
        }
    }
}
