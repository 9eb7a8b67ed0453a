//! Matrix selectors as data: what a `/matrix` or can-i-deploy query asks for, by names
//! ([`UnresolvedSelector`]). The HTTP parser (`matrix/selectors.rs`) builds them and the SQL
//! (`store/matrix.rs`) reads them; neither depends on the other.

/// A selector as the client wrote it: a pacticipant and which of its versions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnresolvedSelector {
    pub pacticipant_name: Option<String>,
    pub version: Option<String>,
    pub latest: bool,
    pub tag: Option<String>,
    pub branch: Option<String>,
    pub environment: Option<String>,
    pub main_branch: bool,
}

impl UnresolvedSelector {
    pub fn named(name: &str) -> Self {
        Self {
            pacticipant_name: Some(name.to_owned()),
            ..Self::default()
        }
    }

    /// Only the pacticipant is named: every version of it.
    pub fn all_for_pacticipant(&self) -> bool {
        self.pacticipant_name.is_some()
            && self.version.is_none()
            && self.tag.is_none()
            && self.branch.is_none()
            && !self.latest
            && self.environment.is_none()
            && !self.main_branch
    }
}
