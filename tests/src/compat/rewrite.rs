//! The compat proxy's two rewrites (see `shared/compat/README.md`): v1 placeholder paths, and the
//! matrix queries the Rust verifier re-sorts — restored to the order the client really sends,
//! because Rack-style `q[]` grouping depends on it.

use percent_encoding::percent_decode_str;

const PLACEHOLDERS: [(&str, &str); 12] = [
    ("/HAL-REL-PLACEHOLDER-INDEX-PB-LATEST-VERSION-Condor", "/pacticipants/Condor/latest-version"),
    ("/HAL-REL-PLACEHOLDER-INDEX-PB-LATEST-TAGGED-VERSION-Condor-production", "/pacticipants/Condor/latest-version/production"),
    ("/HAL-REL-PLACEHOLDER-PB-PACTICIPANT-BRANCH-Foo-main", "/pacticipants/Foo/branches/main"),
    ("/HAL-REL-PLACEHOLDER-PB-PUBLISH-CONTRACTS", "/contracts/publish"),
    ("/HAL-REL-PLACEHOLDER-PB-WEBHOOKS", "/webhooks"),
    ("/HAL-REL-PLACEHOLDER-PB-ENVIRONMENTS", "/environments"),
    ("/HAL-REL-PLACEHOLDER-PB-ENVIRONMENT-16926ef3-590f-4e3f-838e-719717aa88c9", "/environments/16926ef3-590f-4e3f-838e-719717aa88c9"),
    (
        "/PLACEHOLDER-ENVIRONMENT-CURRENTLY-DEPLOYED-16926ef3-590f-4e3f-838e-719717aa88c9",
        "/environments/16926ef3-590f-4e3f-838e-719717aa88c9/deployed-versions/currently-deployed",
    ),
    ("/PLACEHOLDER-DEPLOYED-VERSION-ff3adecf-cfc5-4653-a4e3-f1861092f8e0", "/deployed-versions/ff3adecf-cfc5-4653-a4e3-f1861092f8e0"),
    (
        "/HAL-REL-PLACEHOLDER-PB-PACTICIPANT-VERSION-Foo-5556b8149bf8bac76bc30f50a8a2dd4c22c85f30",
        "/pacticipants/Foo/versions/5556b8149bf8bac76bc30f50a8a2dd4c22c85f30",
    ),
    (
        "/HAL-REL-PLACEHOLDER-PB-RECORD-DEPLOYMENT-FOO-5556B8149BF8BAC76BC30F50A8A2DD4C22C85F30-TEST",
        "/pacticipants/Foo/versions/5556b8149bf8bac76bc30f50a8a2dd4c22c85f30/deployed-versions/environment/cb632df3-0a0d-4227-aac3-60114dd36479",
    ),
    (
        "/HAL-REL-PLACEHOLDER-PB-RECORD-RELEASE-FOO-5556B8149BF8BAC76BC30F50A8A2DD4C22C85F30-TEST",
        "/pacticipants/Foo/versions/5556b8149bf8bac76bc30f50a8a2dd4c22c85f30/released-versions/environment/cb632df3-0a0d-4227-aac3-60114dd36479",
    ),
];

const MATRIX_QUERIES: [(&str, &str); 7] = [
    (
        "latestby=cvpv&q[][pacticipant]=Foo&q[][pacticipant]=Bar&q[][version]=1.2.3&q[][version]=4.5.6",
        "q[][pacticipant]=Foo&q[][version]=1.2.3&q[][pacticipant]=Bar&q[][version]=4.5.6&latestby=cvpv",
    ),
    (
        "latestby=cvpv&q[][pacticipant]=Foo+Thing&q[][pacticipant]=Bar&q[][version]=1.2.3&q[][version]=4.5.6",
        "q[][pacticipant]=Foo+Thing&q[][version]=1.2.3&q[][pacticipant]=Bar&q[][version]=4.5.6&latestby=cvpv",
    ),
    (
        "latestby=cvpv&q[][pacticipant]=Foo&q[][pacticipant]=Bar&q[][version]=1.2.3&q[][version]=9.9.9",
        "q[][pacticipant]=Foo&q[][version]=1.2.3&q[][pacticipant]=Bar&q[][version]=9.9.9&latestby=cvpv",
    ),
    (
        "latestby=cvpv&q[][pacticipant]=Wiffle&q[][pacticipant]=Meep&q[][version]=1.2.3&q[][version]=9.9.9",
        "q[][pacticipant]=Wiffle&q[][version]=1.2.3&q[][pacticipant]=Meep&q[][version]=9.9.9&latestby=cvpv",
    ),
    (
        "latestby=cvpv&q[][latest]=true&q[][pacticipant]=Foo&q[][pacticipant]=Bar&q[][tag]=prod&q[][version]=1.2.3",
        "q[][pacticipant]=Foo&q[][version]=1.2.3&q[][pacticipant]=Bar&q[][latest]=true&q[][tag]=prod&latestby=cvpv",
    ),
    (
        "latestby=cvpv&q[][latest]=true&q[][pacticipant]=Foo&q[][pacticipant]=Bar&q[][version]=1.2.4",
        "q[][pacticipant]=Foo&q[][version]=1.2.4&q[][pacticipant]=Bar&q[][latest]=true&latestby=cvpv",
    ),
    (
        "ignore[][pacticipant]=Foo&ignore[][version]=3.4.5&latestby=cvpv&q[][pacticipant]=Bar&q[][pacticipant]=Foo&q[][tag]=prod&q[][version]=4.5.6",
        "q[][pacticipant]=Bar&q[][version]=4.5.6&q[][pacticipant]=Foo&q[][tag]=prod&latestby=cvpv&ignore[][pacticipant]=Foo&ignore[][version]=3.4.5",
    ),
];

/// The real path for a v1 placeholder path; other paths unchanged.
pub fn path(path: &str) -> String {
    PLACEHOLDERS
        .iter()
        .find(|(from, _)| *from == path)
        .map_or_else(|| path.to_owned(), |(_, to)| (*to).to_owned())
}

/// The client's own order for a re-sorted matrix query; other queries unchanged.
pub fn query(raw: &str) -> String {
    let decoded = percent_decode_str(raw).decode_utf8_lossy();
    match MATRIX_QUERIES
        .iter()
        .find(|(received, _)| *received == decoded)
    {
        Some((_, original)) => original.replace('[', "%5B").replace(']', "%5D"),
        None => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn re_sorted_matrix_queries_get_their_original_order_back() {
        let sorted = "latestby=cvpv&q%5B%5D%5Bpacticipant%5D=Foo&q%5B%5D%5Bpacticipant%5D=Bar&q%5B%5D%5Bversion%5D=1.2.3&q%5B%5D%5Bversion%5D=4.5.6";
        assert_eq!(
            query(sorted),
            "q%5B%5D%5Bpacticipant%5D=Foo&q%5B%5D%5Bversion%5D=1.2.3&q%5B%5D%5Bpacticipant%5D=Bar&q%5B%5D%5Bversion%5D=4.5.6&latestby=cvpv"
        );
        assert_eq!(
            query("latest=true&latestby=cvp"),
            "latest=true&latestby=cvp"
        );
        assert_eq!(path("/HAL-REL-PLACEHOLDER-PB-WEBHOOKS"), "/webhooks");
        assert_eq!(path("/pacticipants"), "/pacticipants");
    }
}
