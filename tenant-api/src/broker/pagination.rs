//! Pagination of broker collections, as the Pact Broker does it.
//!
//! A collection is paginated only when the request asks for it: `?page=&size=` (or the legacy
//! `?pageNumber=&pageSize=`, read only when neither `page` nor `size` is present). Each value must
//! be an integer ≥ 1, and a size at most [`MAX_PAGE_SIZE`] (400 with the broker's messages
//! otherwise); a missing number is page 1, a missing size is 100. A paginated response carries `page{number,size,totalElements,totalPages}`
//! and `_links.next` / `_links.previous` (`<resource url>?size=N&page=M`); an unpaginated one has
//! neither. A few resources (branches) always paginate: they use [`PageRequest::or_default`].
//!
//! Typical use in a handler:
//!
//! ```ignore
//! async fn list_things(tenant: TenantContext, Pagination(page): Pagination, uri: Uri) -> Result<HalBody> {
//!     let (rows, total) = store::things::list(&mut conn, page.map(|p| p.limit_offset())).await?;
//!     let mut body = json!({ "_embedded": { "things": … }, "_links": { "self": … } });
//!     if let Some(page) = page {
//!         Page::new(page, total).decorate(&mut body, &resource_url);
//!     }
//!     Ok(HalBody(body))
//! }
//! ```

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde_json::{json, Value};

use crate::error::{Error, FieldErrors};

/// The page size when the request names a page but no size.
pub const DEFAULT_PAGE_SIZE: i64 = 100;

/// The largest page a request may ask for, so that no paginated request reads without bound.
pub const MAX_PAGE_SIZE: i64 = 1000;

/// One requested page (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub number: i64,
    pub size: i64,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            number: 1,
            size: DEFAULT_PAGE_SIZE,
        }
    }
}

impl PageRequest {
    /// The page a query string asks for; `None` when it asks for none (the whole collection).
    pub fn from_query(query: Option<&str>) -> Result<Option<Self>, Error> {
        let pairs: Vec<(String, String)> = query
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let get = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let mut errors = FieldErrors::new();
        let mut parse = |key: &str| -> Option<Option<i64>> {
            let raw = get(key)?;
            if raw.is_empty() {
                // `?page=` is a given-but-empty value: it selects pagination with the default.
                return Some(None);
            }
            let is_size = key == "size" || key == "pageSize";
            match raw.parse::<i64>() {
                Ok(n) if is_size && n > MAX_PAGE_SIZE => {
                    errors
                        .entry(key.to_owned())
                        .or_default()
                        .push(format!("must be less than or equal to {MAX_PAGE_SIZE}"));
                    Some(None)
                }
                Ok(n) if n >= 1 => Some(Some(n)),
                Ok(_) => {
                    errors
                        .entry(key.to_owned())
                        .or_default()
                        .push("must be greater than or equal to 1".to_owned());
                    Some(None)
                }
                Err(_) => {
                    errors
                        .entry(key.to_owned())
                        .or_default()
                        .push("must be an integer".to_owned());
                    Some(None)
                }
            }
        };
        // Every key is validated, whichever of the two forms is then used.
        let page = parse("page");
        let size = parse("size");
        let page_number = parse("pageNumber");
        let page_size = parse("pageSize");
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        let (number, size) = if page.is_some() || size.is_some() {
            (page, size)
        } else if page_number.is_some() || page_size.is_some() {
            (page_number, page_size)
        } else {
            return Ok(None);
        };
        Ok(Some(Self {
            number: number.flatten().unwrap_or(1),
            size: size.flatten().unwrap_or(DEFAULT_PAGE_SIZE),
        }))
    }

    /// The requested page, or page 1 of 100 for resources that always paginate.
    pub fn or_default(page: Option<Self>) -> Self {
        page.unwrap_or_default()
    }

    /// SQL `limit`.
    pub fn limit(&self) -> i64 {
        self.size
    }

    /// SQL `offset`.
    pub fn offset(&self) -> i64 {
        (self.number - 1).saturating_mul(self.size)
    }
}

/// Extractor: the [`PageRequest`] of the request's query string, or the broker's 400.
pub struct Pagination(pub Option<PageRequest>);

impl<S: Send + Sync> FromRequestParts<S> for Pagination {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        PageRequest::from_query(parts.uri.query()).map(Self)
    }
}

/// A page of a collection of `total` elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub request: PageRequest,
    pub total: i64,
}

impl Page {
    pub fn new(request: PageRequest, total: i64) -> Self {
        Self { request, total }
    }

    /// At least 1, even for an empty collection (as Sequel counts pages).
    pub fn total_pages(&self) -> i64 {
        let size = self.request.size.max(1);
        ((self.total + size - 1) / size).max(1)
    }

    /// The `page` property.
    pub fn properties(&self) -> Value {
        json!({
            "number": self.request.number,
            "size": self.request.size,
            "totalElements": self.total,
            "totalPages": self.total_pages(),
        })
    }

    /// Adds `page` and the `next`/`previous` links to a HAL document whose resource URL (no
    /// query string) is `resource_url`.
    pub fn decorate(&self, document: &mut Value, resource_url: &str) {
        let Some(object) = document.as_object_mut() else {
            return;
        };
        object.insert("page".into(), self.properties());
        let links = object
            .entry("_links")
            .or_insert_with(|| json!({}))
            .as_object_mut();
        let Some(links) = links else {
            return;
        };
        let PageRequest { number, size } = self.request;
        if number < self.total_pages() {
            links.insert(
                "next".into(),
                json!({ "href": format!("{resource_url}?size={size}&page={}", number + 1), "title": "Next page" }),
            );
        }
        if number > 1 {
            links.insert(
                "previous".into(),
                json!({ "href": format!("{resource_url}?size={size}&page={}", number - 1), "title": "Previous page" }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(query: &str) -> FieldErrors {
        match PageRequest::from_query(Some(query)) {
            Err(Error::Validation(errors)) => errors,
            other => panic!("{query}: expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn no_page_parameters_means_the_whole_collection() {
        assert_eq!(PageRequest::from_query(None).unwrap(), None);
        assert_eq!(PageRequest::from_query(Some("q=foo")).unwrap(), None);
    }

    #[test]
    fn page_and_size_default_to_the_first_page_of_one_hundred() {
        let cases = [
            ("page=2", (2, 100)),
            ("size=5", (1, 5)),
            ("page=3&size=7", (3, 7)),
            ("pageNumber=4&pageSize=9", (4, 9)),
            ("pageSize=9", (1, 9)),
            // the modern form wins when both are given
            ("page=2&pageNumber=4&pageSize=9", (2, 100)),
            ("page=", (1, 100)),
        ];
        for (query, (number, size)) in cases {
            assert_eq!(
                PageRequest::from_query(Some(query)).unwrap(),
                Some(PageRequest { number, size }),
                "{query}"
            );
        }
    }

    #[test]
    fn values_must_be_integers_of_at_least_one() {
        assert_eq!(
            errors("page=0")["page"],
            vec!["must be greater than or equal to 1"]
        );
        assert_eq!(errors("size=abc")["size"], vec!["must be an integer"]);
        assert_eq!(errors("pageSize=-1")["pageSize"].len(), 1);
        // legacy keys are validated even when the modern ones are used
        assert!(errors("page=1&pageNumber=x").contains_key("pageNumber"));
        assert_eq!(
            errors("size=1001")["size"],
            vec!["must be less than or equal to 1000"]
        );
        assert_eq!(errors("pageSize=5000")["pageSize"].len(), 1);
        assert!(PageRequest::from_query(Some("size=1000")).is_ok());
    }

    #[test]
    fn offsets_and_page_counts_follow_the_request() {
        let request = PageRequest {
            number: 3,
            size: 10,
        };
        assert_eq!((request.limit(), request.offset()), (10, 20));
        assert_eq!(Page::new(request, 0).total_pages(), 1);
        assert_eq!(Page::new(request, 10).total_pages(), 1);
        assert_eq!(Page::new(request, 11).total_pages(), 2);
    }

    #[test]
    fn decorated_documents_link_to_neighbouring_pages() {
        let mut doc = json!({ "_links": { "self": { "href": "http://x/things" } } });
        Page::new(PageRequest { number: 2, size: 1 }, 3).decorate(&mut doc, "http://x/things");
        assert_eq!(
            doc["page"],
            json!({"number": 2, "size": 1, "totalElements": 3, "totalPages": 3})
        );
        assert_eq!(
            doc["_links"]["next"]["href"],
            "http://x/things?size=1&page=3"
        );
        assert_eq!(
            doc["_links"]["previous"]["href"],
            "http://x/things?size=1&page=1"
        );

        let mut last = json!({});
        Page::new(PageRequest { number: 1, size: 5 }, 2).decorate(&mut last, "http://x/t");
        assert!(last["_links"].get("next").is_none());
        assert!(last["_links"].get("previous").is_none());
    }
}
