//! Names as the broker derives them.

/// The broker's `GenerateDisplayName`: `prod-eu` → `Prod Eu`, `fooBar` → `Foo Bar`.
pub fn generate_display_name(name: &str) -> String {
    // Each pass is one of the broker's global, non-overlapping three-character substitutions:
    // (first, second, third) matches → first, space, second (or third, dropping the second).
    fn pass(input: &str, matches: impl Fn(char, char, char) -> bool, drop_middle: bool) -> String {
        let chars: Vec<char> = input.chars().collect();
        let mut out = String::with_capacity(input.len() + 8);
        let mut i = 0;
        while i < chars.len() {
            if i + 2 < chars.len() && matches(chars[i], chars[i + 1], chars[i + 2]) {
                out.push(chars[i]);
                out.push(' ');
                if !drop_middle {
                    out.push(chars[i + 1]);
                }
                out.push(chars[i + 2]);
                i += 3;
            } else {
                out.push(chars[i]);
                i += 1;
            }
        }
        out
    }
    let space = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n' | '\x0b' | '\x0c');
    let step1 = pass(
        name,
        |a, b, c| a.is_ascii_uppercase() && b.is_ascii_uppercase() && c.is_ascii_lowercase(),
        false,
    );
    let step2 = pass(
        &step1,
        |a, b, c| {
            (a.is_ascii_lowercase() || a.is_ascii_digit()) && b.is_ascii_uppercase() && !space(c)
        },
        false,
    );
    let step3 = pass(
        &step2,
        |a, b, c| !space(a) && (matches!(b, '-' | '_' | '.') || space(b)) && !space(c),
        true,
    );
    step3
        .split(space)
        .filter(|w| !w.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) if first.is_ascii_lowercase() => {
                    first.to_ascii_uppercase().to_string() + chars.as_str()
                }
                _ => word.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_generated_like_the_broker_does() {
        let cases = [
            ("test", "Test"),
            ("prod-eu", "Prod Eu"),
            ("production_us_east", "Production Us East"),
            ("fooBar", "Foo Bar"),
            ("HTTPServer", "HTTP Server"),
            ("uat.2", "Uat 2"),
            ("a", "A"),
        ];
        for (name, display) in cases {
            assert_eq!(generate_display_name(name), display, "{name}");
        }
    }
}
