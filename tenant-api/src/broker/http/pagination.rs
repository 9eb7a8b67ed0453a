//! Pagination of broker collections, as the Pact Broker does it.
//!
//! A collection is paginated only when the request asks for it: `?page=&size=` (or the legacy
//! `?pageNumber=&pageSize=`, read only when neither `page` nor `size` is present). Each value must
//! be an integer ≥ 1, and a size at most [`MAX_PAGE_SIZE`] (400 with the broker's messages
//! otherwise); a missing number is page 1, a missing size is 100. A paginated response carries `page{number,size,totalElements,totalPages}`
//! and `_links.next` / `_links.previous` (`<resource url>?size=N&page=M`); an unpaginated one has
//! neither. A few resources (branches) always paginate: they use [`PageRequest::or_default`].
//! A collection asked for whole that holds more than [`UNPAGINATED_MAX_ITEMS`] is answered with
//! its first that many elements, `page` and a `next` link to the rest in pages of
//! [`MAX_PAGE_SIZE`] (see [`Page::answer`]).
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

pub use crate::broker::store::UNPAGINATED_MAX_ITEMS;

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

    /// The page an answer of `returned` elements out of `total` is: the one asked for or, when
    /// the whole collection was asked for and the listing stopped at [`UNPAGINATED_MAX_ITEMS`],
    /// its first page of that size; `None` for a whole collection answered whole.
    pub fn answer(asked: Option<PageRequest>, total: i64, returned: usize) -> Option<Self> {
        match asked {
            Some(request) => Some(Self::new(request, total)),
            None if total > returned as i64 => Some(Self::new(
                PageRequest {
                    number: 1,
                    size: UNPAGINATED_MAX_ITEMS,
                },
                total,
            )),
            None => None,
        }
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
            // A page larger than a request may ask for (a whole collection cut short) continues
            // in pages of the largest size a request may ask for.
            let (next_size, next_number) = if size > MAX_PAGE_SIZE {
                (MAX_PAGE_SIZE, number * size / MAX_PAGE_SIZE + 1)
            } else {
                (size, number + 1)
            };
            links.insert(
                "next".into(),
                json!({ "href": format!("{resource_url}?size={next_size}&page={next_number}"), "title": "Next page" }),
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
    fn a_whole_collection_cut_short_links_to_the_rest() {
        assert_eq!(Page::answer(None, 5, 5), None);
        let page = Page::answer(
            None,
            UNPAGINATED_MAX_ITEMS + 1,
            UNPAGINATED_MAX_ITEMS as usize,
        )
        .expect("a cut-short collection is answered as a page");
        let mut doc = json!({});
        page.decorate(&mut doc, "http://x/t");
        assert_eq!(doc["page"]["totalElements"], UNPAGINATED_MAX_ITEMS + 1);
        // the next page starts right after the last element returned
        let next_page = UNPAGINATED_MAX_ITEMS / MAX_PAGE_SIZE + 1;
        assert_eq!(
            doc["_links"]["next"]["href"],
            format!("http://x/t?size={MAX_PAGE_SIZE}&page={next_page}")
        );
        let asked = PageRequest { number: 2, size: 3 };
        assert_eq!(Page::answer(Some(asked), 9, 3), Some(Page::new(asked, 9)));
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
