//! Status badges: a pact's verification status, can-i-deploy and can-i-merge, as SVG.
//!
//! The broker redirects to shields.io by default (307); Treaty draws the same flat badge itself
//! (same texts and colours), so badges work without outbound requests and nothing about a
//! tenant leaves the service. Badges are behind the tenant's token like every broker route —
//! the broker's default too (`enable_public_badge_access` is off). Badges are answered even
//! for unknown names (a grey "not found" badge), and with the broker's cache headers: `no-cache`,
//! except a computed can-i-merge badge (`max-age=30`).

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::http::extract::{PathParams, Query};
use super::matrix::summary::DeploymentStatusSummary;
use super::matrix::{branch_to_environment, can_i_merge, tag_to_tag};
use super::store::matrix as matrix_store;
use super::store::reports::{self, BadgePact, BadgeVerification, ConsumerTag};
use crate::error::Result;
use crate::gate::TenantContext;
use crate::state::AppState;

/// Every badge, at `…/badge` and `…/badge.svg` (the way READMEs embed them). The static
/// `…/latest/badge` takes precedence over the pact route `…/latest/{tag}`, as in the broker.
///
/// Merged into the broker router in `broker.rs`.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for (path, handler) in [
        (
            "/pacts/provider/{provider}/consumer/{consumer}/latest",
            get(get_latest_pact_badge),
        ),
        (
            "/pacts/provider/{provider}/consumer/{consumer}/latest/{tag}",
            get(get_latest_tagged_pact_badge),
        ),
        (
            "/pacts/provider/{provider}/consumer/{consumer}/latest-untagged",
            get(get_latest_untagged_pact_badge),
        ),
        (
            "/matrix/provider/{provider}/latest/{provider_tag}/consumer/{consumer}/latest/{tag}",
            get(get_matrix_badge),
        ),
        (
            "/pacticipants/{pacticipant}/latest-version/{tag}/can-i-deploy/to/{to}",
            get(get_can_i_deploy_tag_to_tag_badge),
        ),
        (
            "/pacticipants/{pacticipant}/branches/{branch}/latest-version/can-i-deploy/to-environment/{environment}",
            get(get_can_i_deploy_branch_to_environment_badge),
        ),
        (
            "/pacticipants/{pacticipant}/main-branch/can-i-merge",
            get(get_can_i_merge_badge),
        ),
    ] {
        router = router
            .route(&format!("{path}/badge"), handler.clone())
            .route(&format!("{path}/badge.svg"), handler);
    }
    router
}

/// The badge colours shields.io uses for the broker's colour names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    BrightGreen,
    Red,
    Orange,
    LightGrey,
}

impl Color {
    fn hex(self) -> &'static str {
        match self {
            Color::BrightGreen => "#4c1",
            Color::Red => "#e05d44",
            Color::Orange => "#fe7d37",
            Color::LightGrey => "#9f9f9f",
        }
    }
}

/// Approximate advance widths of Verdana 11px (what shields.io measures with), in pixels.
fn char_width(c: char) -> f64 {
    match c {
        'i' | 'l' | 'j' | '\'' | '|' | '.' | ',' | ':' | ';' | '!' => 3.5,
        'f' | 't' | 'r' | 'I' | ' ' | '(' | ')' | '[' | ']' | '/' | '-' => 4.8,
        'm' | 'w' | 'M' | 'W' => 10.5,
        'A'..='Z' => 7.6,
        '0'..='9' => 7.0,
        _ => 6.6,
    }
}

fn text_width(text: &str) -> f64 {
    text.chars().map(char_width).sum::<f64>().ceil()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A flat two-part badge: `left` on grey, `right` on `color`.
pub fn svg(left: &str, right: &str, color: Color) -> String {
    let left_width = text_width(left) + 10.0;
    let right_width = text_width(right) + 10.0;
    let width = left_width + right_width;
    let (l, r) = (escape(left), escape(right));
    let left_x = left_width / 2.0;
    let right_x = left_width + right_width / 2.0;
    let fill = color.hex();
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{l}: {r}"><title>{l}: {r}</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="{left_width}" height="20" fill="#555"/><rect x="{left_width}" width="{right_width}" height="20" fill="{fill}"/><rect width="{width}" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11"><text x="{left_x}" y="15" fill="#010101" fill-opacity=".3">{l}</text><text x="{left_x}" y="14">{l}</text><text x="{right_x}" y="15" fill="#010101" fill-opacity=".3">{r}</text><text x="{right_x}" y="14">{r}</text></g></svg>"##
    )
}

fn badge_response(body: String, cache_control: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml;charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(cache_control),
            ),
        ],
        body,
    )
        .into_response()
}

fn error_badge(left: &str, right: &str) -> Response {
    badge_response(svg(left, right, Color::LightGrey), "no-cache")
}

/// `?label=consumer|provider&initials=true`, and the can-i-deploy badges' `label`.
#[derive(Debug, Default, Deserialize)]
pub struct BadgeParams {
    label: Option<String>,
    initials: Option<String>,
}

impl BadgeParams {
    fn label(&self) -> Option<&str> {
        self.label.as_deref().filter(|l| !l.is_empty())
    }
}

/// The verification status of the pseudo-branch of pacts (`PseudoBranchStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PseudoBranchStatus {
    Never,
    Success,
    Stale,
    Failed,
    FailedPending,
}

impl PseudoBranchStatus {
    pub fn of(pact: Option<&BadgePact>, verification: Option<&BadgeVerification>) -> Self {
        match (pact, verification) {
            (Some(pact), Some(v)) if v.success => {
                if v.sha == pact.sha {
                    Self::Success
                } else {
                    Self::Stale
                }
            }
            (Some(_), Some(v)) if v.pact_pending == Some(true) => Self::FailedPending,
            (Some(_), Some(_)) => Self::Failed,
            _ => Self::Never,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Never => "never",
            Self::Success => "success",
            Self::Stale => "stale",
            Self::Failed => "failed",
            Self::FailedPending => "failed_pending",
        }
    }

    fn text_and_color(self) -> (&'static str, Color) {
        match self {
            Self::Success => ("verified", Color::BrightGreen),
            Self::Failed => ("failed", Color::Red),
            Self::FailedPending => ("failed (pending)", Color::Red),
            Self::Stale => ("changed", Color::Orange),
            Self::Never => ("unknown", Color::LightGrey),
        }
    }
}

/// Camel case split as the broker splits it for initials (`FooBar` → `Foo`, `Bar`).
fn split_camel_case(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1);
        if c.is_ascii_uppercase() {
            let after_lower_or_digit =
                prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit());
            let acronym_end = prev.is_some_and(|p| p.is_ascii_uppercase())
                && next.is_some_and(|n| n.is_ascii_lowercase());
            if after_lower_or_digit || acronym_end {
                out.push('_');
            }
        }
        out.push(if *c == '-' { '_' } else { *c });
    }
    out.split('_').map(str::to_owned).collect()
}

fn prepare_name(name: &str, initials: bool, tag: Option<&str>) -> String {
    let suffix = tag.map(|t| format!(" ({t})")).unwrap_or_default();
    if initials {
        let mut parts: Vec<String> = name
            .split(|c: char| c.is_whitespace() || c == '_' || c == '-')
            .map(str::to_owned)
            .collect();
        if parts.len() == 1 {
            parts = split_camel_case(name);
        }
        if parts.len() > 1 {
            let letters: String = parts.iter().filter_map(|p| p.chars().next()).collect();
            return letters.to_lowercase() + &suffix;
        }
    }
    name.to_lowercase() + &suffix
}

/// The left text of a pact badge (`badge_title`).
fn pact_badge_title(
    pact: Option<&BadgePact>,
    params: &BadgeParams,
    consumer_tag: Option<&str>,
    provider_tag: Option<&str>,
) -> String {
    let Some(pact) = pact else {
        return "pact not found".to_owned();
    };
    let initials = params.initials.as_deref() == Some("true");
    let consumer = prepare_name(&pact.consumer_name, initials, consumer_tag);
    let provider = prepare_name(&pact.provider_name, initials, provider_tag);
    let title = match params.label().map(str::to_lowercase).as_deref() {
        Some("consumer") => consumer,
        Some("provider") => provider,
        _ => format!("{consumer}/{provider}"),
    };
    format!("{title} pact").to_lowercase()
}

fn pact_badge(
    consumer: &str,
    provider: &str,
    pact: Option<&BadgePact>,
    verification: Option<&BadgeVerification>,
    params: &BadgeParams,
    tags: (Option<&str>, Option<&str>),
) -> Response {
    let status = PseudoBranchStatus::of(pact, verification);
    let (text, color) = status.text_and_color();
    let comment = format!(
        "<!-- {consumer} version {} revision {} {provider} version {} number {} -->\n",
        pact.map_or("?".to_owned(), |p| p.consumer_version_number.clone()),
        pact.map_or("?".to_owned(), |p| p.revision_number.to_string()),
        verification.map_or("?".to_owned(), |v| v.provider_version_number.clone()),
        verification.map_or("?".to_owned(), |v| v.number.to_string()),
    );
    let title = pact_badge_title(pact, params, tags.0, tags.1);
    badge_response(comment + &svg(&title, text, color), "no-cache")
}

async fn latest_pact_badge_for(
    tenant: &TenantContext,
    consumer: &str,
    provider: &str,
    tag: ConsumerTag<'_>,
    params: &BadgeParams,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    let pact = reports::latest_pact(&mut conn, consumer, provider, tag).await?;
    let verification = match &pact {
        Some(_) => reports::latest_verification(&mut conn, consumer, provider, tag).await?,
        None => None,
    };
    Ok(pact_badge(
        consumer,
        provider,
        pact.as_ref(),
        verification.as_ref(),
        params,
        (None, None),
    ))
}

/// `GET /pacts/provider/{provider}/consumer/{consumer}/latest/badge`: the latest pact's
/// verification status.
pub async fn get_latest_pact_badge(
    tenant: TenantContext,
    PathParams((provider, consumer)): PathParams<(String, String)>,
    Query(params): Query<BadgeParams>,
) -> Result<Response> {
    latest_pact_badge_for(&tenant, &consumer, &provider, ConsumerTag::Any, &params).await
}

/// `GET /pacts/provider/{provider}/consumer/{consumer}/latest/{tag}/badge`.
pub async fn get_latest_tagged_pact_badge(
    tenant: TenantContext,
    PathParams((provider, consumer, tag)): PathParams<(String, String, String)>,
    Query(params): Query<BadgeParams>,
) -> Result<Response> {
    latest_pact_badge_for(
        &tenant,
        &consumer,
        &provider,
        ConsumerTag::Tag(&tag),
        &params,
    )
    .await
}

/// `GET /pacts/provider/{provider}/consumer/{consumer}/latest-untagged/badge`.
pub async fn get_latest_untagged_pact_badge(
    tenant: TenantContext,
    PathParams((provider, consumer)): PathParams<(String, String)>,
    Query(params): Query<BadgeParams>,
) -> Result<Response> {
    latest_pact_badge_for(
        &tenant,
        &consumer,
        &provider,
        ConsumerTag::Untagged,
        &params,
    )
    .await
}

/// `GET /matrix/provider/{p}/latest/{provider_tag}/consumer/{c}/latest/{tag}/badge`: the
/// status of the latest consumer-tag pact as verified by provider-tag versions.
pub async fn get_matrix_badge(
    tenant: TenantContext,
    PathParams((provider, provider_tag, consumer, tag)): PathParams<(
        String,
        String,
        String,
        String,
    )>,
    Query(params): Query<BadgeParams>,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    let pact =
        reports::latest_pact(&mut conn, &consumer, &provider, ConsumerTag::Tag(&tag)).await?;
    let verification = match &pact {
        Some(_) => {
            reports::latest_verification_for_tags(
                &mut conn,
                &consumer,
                &provider,
                &tag,
                &provider_tag,
            )
            .await?
        }
        None => None,
    };
    Ok(pact_badge(
        &consumer,
        &provider,
        pact.as_ref(),
        verification.as_ref(),
        &params,
        (Some(&tag), Some(&provider_tag)),
    ))
}

fn can_i_deploy_badge(
    label: Option<&str>,
    from: &str,
    to: &str,
    deployable: Option<bool>,
) -> Response {
    let color = if deployable == Some(true) {
        Color::BrightGreen
    } else {
        Color::Red
    };
    badge_response(
        svg(
            label.unwrap_or("can-i-deploy"),
            &format!("{from} to {to}"),
            color,
        ),
        "no-cache",
    )
}

/// `GET /pacticipants/{p}/latest-version/{tag}/can-i-deploy/to/{to}/badge`.
pub async fn get_can_i_deploy_tag_to_tag_badge(
    tenant: TenantContext,
    PathParams((pacticipant, tag, to)): PathParams<(String, String, String)>,
    Query(params): Query<BadgeParams>,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    if matrix_store::pacticipant_id(&mut conn, &pacticipant)
        .await?
        .is_none()
    {
        return Ok(error_badge("pacticipant", "not found"));
    }
    match tag_to_tag(&mut conn, &pacticipant, &tag, &to).await? {
        Some(results) => {
            let deployable = DeploymentStatusSummary::new(&results).deployable();
            Ok(can_i_deploy_badge(params.label(), &tag, &to, deployable))
        }
        None => Ok(error_badge("version", "not found")),
    }
}

/// `GET /pacticipants/{p}/branches/{b}/latest-version/can-i-deploy/to-environment/{e}/badge`.
pub async fn get_can_i_deploy_branch_to_environment_badge(
    tenant: TenantContext,
    PathParams((pacticipant, branch, environment)): PathParams<(String, String, String)>,
    Query(params): Query<BadgeParams>,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    match branch_to_environment(&mut conn, &pacticipant, &branch, &environment).await? {
        Ok(results) => {
            let deployable = DeploymentStatusSummary::new(&results).deployable();
            Ok(can_i_deploy_badge(
                params.label(),
                &branch,
                &environment,
                deployable,
            ))
        }
        Err(missing) => Ok(error_badge(missing, "not found")),
    }
}

/// `GET /pacticipants/{p}/main-branch/can-i-merge/badge`.
pub async fn get_can_i_merge_badge(
    tenant: TenantContext,
    PathParams(pacticipant): PathParams<String>,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    Ok(match can_i_merge(&mut conn, &pacticipant).await? {
        Ok(deployable) => {
            let (status, color) = match deployable {
                None => ("unknown", Color::LightGrey),
                Some(true) => ("success", Color::BrightGreen),
                Some(false) => ("failed", Color::Red),
            };
            badge_response(svg("can-i-merge", status, color), "max-age=30")
        }
        Err(missing) => error_badge(missing, "not found"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pact_badge_titles_follow_the_broker() {
        let pact = BadgePact {
            consumer_name: "Foo Thing".into(),
            provider_name: "BarService".into(),
            consumer_version_number: "1".into(),
            revision_number: 1,
            sha: "a".into(),
        };
        let params = |label: Option<&str>, initials: bool| BadgeParams {
            label: label.map(str::to_owned),
            initials: initials.then(|| "true".to_owned()),
        };
        assert_eq!(
            pact_badge_title(Some(&pact), &params(None, false), None, None),
            "foo thing/barservice pact"
        );
        assert_eq!(
            pact_badge_title(Some(&pact), &params(None, true), Some("prod"), None),
            "ft (prod)/bs pact"
        );
        assert_eq!(
            pact_badge_title(Some(&pact), &params(Some("consumer"), false), None, None),
            "foo thing pact"
        );
        assert_eq!(
            pact_badge_title(None, &params(None, false), None, None),
            "pact not found"
        );
        assert_eq!(split_camel_case("HTTPServerApp"), ["HTTP", "Server", "App"]);
    }

    #[test]
    fn badges_are_well_formed_svg_with_escaped_text() {
        let badge = svg("a<b", "x & y", Color::Red);
        assert!(badge.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(badge.contains(">a&lt;b</text>"));
        assert!(badge.contains(">x &amp; y</text>"));
        assert!(badge.contains("#e05d44"));
        assert!(badge.ends_with("</svg>"));
    }
}
